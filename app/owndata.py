"""The tab 'Your own data': observed figures uploaded as CSV, shown against the page's simulated worlds and fitted.

Uploads are read from memory (:func:`cxsim.calibration.observed.read_upload`: a size bound and every
check a targets file's ``[[observed]]`` gets, one line in the page for a bad file); never written
anywhere. Each figure is charted by :func:`cxsim.plot.observed` from the tables of
:mod:`cxsim.calibration.compare`, with a verdict line. The fit is :func:`cxsim.calibrate` on the
world the data describe, with the counts passed in memory (``counts`` of ``[[observed]]``); its
study lives in a cache folder under the temp dir keyed by the world and the targets (as the budget
tab's), so a stopped fit keeps its trials and 'Fit' continues it. 'Use the fitted parameters'
writes them into the sidebar's *Any other parameter* box, which every world of the page applies.
"""

from __future__ import annotations

import json
from pathlib import Path

import charts
import jobs
import pandas as pd
import sidebar
import streamlit as st

from cxsim import CxError, plot, views
from cxsim.calibration import Calibration, calibrate, calibrate_posterior, compare, observed
from cxsim.calibration.evidence import SIZE_PER_COUNT
from cxsim.calibration.evidence_report import ridges
from cxsim.calibration.figure import AS_WRITTEN
from cxsim.calibration.report import written_values
from cxsim.calibration.targets import declared_parameters, load as load_targets
from cxsim.studies import finished_trials

KINDS = {  # kind → title, what the CSV holds
    "funnel": ("Funnel", "customers reaching each stage: columns milestone, customers (milestones in journey order, any subset)"),
    "scores": ("Survey scores 0–10", "answers to 'would you recommend?': columns score, count — or one row per respondent (a score column)"),
    "reasons": ("Reasons non-users gave", "columns reason, count (reasons: " + ", ".join(observed.REASONS) + ")"),
}
TABLES = {"funnel": compare.funnel_table, "scores": compare.scores_table, "reasons": compare.reasons_table}
NOUNS = {"funnel": "stage rates", "scores": "figures", "reasons": "reason shares"}
TRIALS = {"lo": 2, "hi": 500, "default": 40}
DEFAULT_FREE = ("decision.intercept", "decision.w_cost")
CACHE_ENV = "CXSIM_OWNDATA_CACHE"  # the cache folder's parent (default: <temp dir>/cxsim-owndata)
STOP = "owndata_stop"  # session state: the user asked to stop the running fit
RESULT = "owndata_result"  # session state: ((folder, trials done), Calibration) of the latest fit shown
APPLIED = "owndata_applied"  # session state: the fitted values last applied to the sidebar
LAST = "owndata_last"  # session state: (scenario, Calibration) of the latest fit shown, kept once its world has changed
POSTERIOR = "owndata_posterior"  # session state: (cache folder, Inference) of the latest posterior fitted
METHODS = {"posterior": "a posterior (intervals; from the funnel's counts)", "point": "a best point (any figures; Optuna)"}


def upload_key(kind: str) -> str:
    return f"owndata_upload_{kind}"


# -- uploads -------------------------------------------------------------------------------------
def upload_box(kind: str, run: dict, where: str) -> pd.DataFrame | None:
    """One kind of data: its format, an example made from the simulated world, the uploader; the checked counts or None."""
    title, what = KINDS[kind]
    st.markdown(f"**{title}**")
    st.caption(what)
    st.download_button(f"Example ({kind}.csv)", lambda: compare.template(kind, run, where), f"observed_{kind}.csv", "text/csv",
                       key=f"owndata_example_{kind}", on_click="ignore", icon=":material/download:",
                       help=f"the format, with counts from the simulated {where}: replace them with yours")
    if kind == "scores":
        st.download_button("Example, one row per respondent", lambda: compare.template(kind, run, where, per_respondent=True),
                           "observed_scores_respondents.csv", "text/csv", key="owndata_example_respondents", on_click="ignore",
                           icon=":material/download:")
    up = st.file_uploader(f"Upload {title.lower()} (CSV)", type=["csv"], key=upload_key(kind), max_upload_size=2,
                          help=f"at most {observed.MAX_UPLOAD_BYTES:,} bytes, UTF-8; read in memory, never stored")
    if up is None:
        return None
    try:
        return observed.read_upload(up.getvalue(), kind, up.name)
    except CxError as err:
        st.error(f"**Not read** – {err}")
        return None


def show_figure(kind: str, counts: pd.DataFrame, runs_by_world: dict) -> None:
    """The observed figure against every world: chart, table downloads and a verdict line."""
    table = TABLES[kind](counts, runs_by_world)
    charts.show(plot.observed(table), table, f"observed_{kind}")
    if kind == "scores":
        summary = compare.score_summary_table(counts, runs_by_world)
        line = compare.verdict(summary, "figures (NPS, mean score)", show=lambda x: f"{x:.1f}")
        obs = summary[summary["source"] == compare.OBSERVED].set_index("item")["value"]
        st.caption(f"Observed NPS {obs['NPS']:.1f}, mean score {obs['mean score']:.2f} ({int(counts['count'].sum()):,} answers); "
                   "simulated: customers past the outcome.")
    else:
        line = compare.verdict(table, NOUNS[kind])
    st.markdown(f"**{KINDS[kind][0]}** · {line}")


# -- the fit -------------------------------------------------------------------------------------
def targets_mapping(s: sidebar.Settings, data: dict[str, tuple[pd.DataFrame, str]], priors: dict[str, dict]) -> dict:
    """The targets (as a mapping) of the uploaded counts, measured in the world as the page builds it, on the page's seeds."""
    return {
        "title": f"{s.name}: fitted to your own data (explorer)",
        "seeds": list(s.seeds), "startup_trials": 10, "sampler_seed": 0,
        "parameters": priors,
        "observed": [{"kind": kind, "counts": observed.as_counts(df, kind), "variant": AS_WRITTEN, "source": f"uploaded {name}"}
                     for kind, (df, name) in data.items()],
    }


def cache_folder(world, mapping: dict) -> Path:
    """One folder per (world fitted, settings): a repeated fit continues its study (:func:`jobs.cache_folder`)."""
    return jobs.cache_folder(CACHE_ENV, "cxsim-owndata", world, mapping)


def run_fit(world, mapping: dict, out: Path, trials: int) -> Calibration | None:
    """The calibration with a progress bar; Stop ends it after the running trial (finished ones are kept)."""
    return jobs.run_stoppable(
        lambda on_trial: calibrate(world, mapping, out, trials=trials, resume=True, progress=False, validate=False,
                                   command="cxsim explorer, tab 'Your own data'", on_trial=on_trial), out,
        flag=STOP, button_key="owndata_stop_button", working="fitting…", unit="trials",
        help="stop after the trial being run; the finished trials are kept and 'Fit' continues from them")


def reread(world, mapping: dict, out: Path) -> Calibration | None:
    """The fit of the cache folder's finished trials, without new trials (None if there are none); kept per session."""
    return jobs.reread(out, RESULT, lambda done: calibrate(world, mapping, out, trials=done, resume=True, progress=False,
                                                           validate=False, command="cxsim explorer, tab 'Your own data'"))


def apply_fitted(name: str, values: dict) -> None:
    """The fitted values into the sidebar's overrides box (one ``path = value`` line each; every world applies them)."""
    box = sidebar.key(name, "overrides")
    lines = [ln for ln in st.session_state.get(box, "").splitlines() if ln.split("=")[0].strip() not in values]
    st.session_state[box] = "\n".join(lines + [f"{p} = {json.dumps(v)}" for p, v in values.items()])
    st.session_state[APPLIED] = dict(values)


def _number(x: float) -> str:
    return f"{x:.4g}"


def usable(cal: Calibration) -> bool:
    """A fit worth offering: at least one finished trial whose runs gave a value for every target (no penalty objective)."""
    import math

    from cxsim.calibration.fit import PENALTY

    return len(cal.trials) > 0 and math.isfinite(cal.objective) and cal.objective < PENALTY and all(math.isfinite(f.residual) for f in cal.fits)


def show_fit(s: sidebar.Settings, cal: Calibration, units: dict[str, str]) -> None:
    if not usable(cal):
        st.warning(f"No fit to use yet: none of the {len(cal.trials)} trial(s) run so far gave a value for every uploaded figure. "
                   "Press **Fit** to run more trials.")
        return
    values = written_values(cal.best)
    st.markdown(f"**Best fit** after {len(cal.trials)} trials on seeds {', '.join(map(str, cal.spec.file.seed_list))} "
                f"(objective {cal.objective:.3g}; within noise of the best: {len(cal.region)} trials)")
    rows = []
    for r in cal.ranges.itertuples():
        if len(cal.region) < 3:
            pinned = f"unknown: {len(cal.region)} trial(s) within noise of the best – run more trials"
        else:
            pinned = f"no: reaches the prior's {r.reaches_bound} bound" if r.reaches_bound else "yes"
        rows.append({"parameter": r.parameter, "unit": units.get(r.parameter, ""), "prior": f"{_number(r.prior_low)} – {_number(r.prior_high)}",
                     "was": _number(cal.start[r.parameter]), "best": _number(values[r.parameter]),
                     "range within noise": f"{_number(r.low)} – {_number(r.high)}", "pinned by the data?": pinned})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="owndata_parameters")
    fits = compare.fit_table(cal)
    shown = pd.DataFrame({
        "target": fits["target"],
        "observed (95%)": [f"{_number(v)} [{_number(lo)}, {_number(hi)}]" for v, lo, hi in zip(fits["observed"], fits["observed_low"], fits["observed_high"])],
        "fitted (95% over seeds)": [f"{_number(v)} [{_number(lo)}, {_number(hi)}]" for v, lo, hi in zip(fits["fitted"], fits["fitted_low"], fits["fitted_high"])],
        "residual (se)": fits["residual"].round(2),
    })
    st.dataframe(shown, hide_index=True, key="owndata_targets")
    charts.show(plot.fit_residuals(fits), fits, "fit_residuals")
    worst = max((abs(f.residual) for f in cal.fits), default=0.0)
    st.caption(f"Largest residual {worst:.2f} se: " + ("every figure is reproduced within noise." if worst <= 2 else
               "some figures are not reproduced within noise by these free parameters."))
    left, right, _ = st.columns([1, 1, 2])
    left.button("Use the fitted parameters", key="owndata_apply", type="primary", on_click=apply_fitted, args=(s.name, values),
                icon=":material/input:", help="writes them into the sidebar's 'Any other parameter' box: every world of the page uses them")
    path = cal.files.get("calibrated")
    if path is not None and path.exists():
        right.download_button("calibrated.toml", path.read_text(encoding="utf-8"), f"{s.name}_calibrated.toml", "application/toml",
                              key="owndata_download", icon=":material/download:",
                              help=f'the fitted world as a scenario file: extends = "{s.name}", the page\'s changes and the fitted numbers')


def fit_section(s: sidebar.Settings, world_name: str, data: dict[str, tuple[pd.DataFrame, str]]) -> None:
    st.subheader("Fit the scenario to your data")
    world = s.worlds[world_name]
    declared = {d.path: d for d in declared_parameters(world)}
    st.caption(f"cxsim calibrate on the world **{world_name}** as the page builds it ({world.population.customers:,} customers, "
               f"{world.steps} {world.step_unit}s, the page's {len(s.seeds)} seed(s), common random numbers): the free parameters "
               "below are searched within their priors (default: the declared range) to reproduce the uploaded figures.")
    free = st.multiselect(
        "free parameters", list(declared), default=[p for p in DEFAULT_FREE if p in declared], max_selections=8, key="owndata_free",
        format_func=lambda p: f"{p} ({declared[p].unit})" if declared[p].unit else p)
    priors = {}
    for path in free:
        d = declared[path]
        a, b, c = st.columns([2, 1, 1])
        a.caption(f"**{path}** – {d.doc}; now {d.value:g}{' ' + d.unit if d.unit else ''}; declared {d.low:g} to {d.high:g}")
        kind = int if d.whole else float
        lo = b.number_input(f"low ({d.unit})" if d.unit else "low", kind(d.low), kind(d.high), kind(d.low), key=f"owndata_low:{path}")
        hi = c.number_input(f"high ({d.unit})" if d.unit else "high", kind(d.low), kind(d.high), kind(d.high), key=f"owndata_high:{path}")
        priors[path] = {"low": lo, "high": hi}
    trials = st.number_input("trials (parameter sets to try; best point)", TRIALS["lo"], TRIALS["hi"], TRIALS["default"], key="owndata_trials",
                             help="each trial runs the world on every seed; more trials continue the same fit")
    if not free:
        st.info("Pick at least one free parameter.")
        return
    method = st.radio("fit", list(METHODS), format_func=METHODS.get, key="owndata_method", horizontal=True,
                      help="a posterior says how much the data narrowed each parameter; a best point fits any figure but "
                           "reports one point and the range within noise")
    if method == "posterior":
        return posterior_section(s, world, data, priors)
    mapping = targets_mapping(s, data, priors)
    try:
        load_targets(mapping, world)  # checked as you change it: priors within the declared ranges, …
    except CxError as err:
        st.error(f"**Not ready to fit** – {err}")
        return
    out = cache_folder(world, mapping)
    cal = None
    try:
        if st.button("Fit", key="owndata_fit", type="primary", icon=":material/tune:",
                     help="run trials up to the number asked (a fit already made with these settings is continued)"):
            cal = run_fit(world, mapping, out, int(trials))
            if cal is not None:
                st.session_state[RESULT] = ((str(out), finished_trials(out)), cal)
        stopped = st.session_state.pop(STOP, False)
        if cal is None:
            cal = reread(world, mapping, out)
        if stopped:  # counted from the fit shown below, so a trial that finished while stopping is in both
            kept = len(cal.trials) if cal is not None else finished_trials(out)
            st.warning(f"Stopped after {kept} trials: they are kept, and 'Fit' continues from them.")
    except CxError as err:
        st.error(f"**Not fitted** – {err}")
        return
    applied = st.session_state.get(APPLIED)
    if applied:
        st.success("The page uses the fitted parameters " + ", ".join(f"{p} = {v:g}" for p, v in applied.items())
                   + " (sidebar, *Any other parameter*): the comparisons above show the fitted world.")
    units = {p: declared[p].unit for p in declared}
    if cal is not None:
        st.session_state[LAST] = (s.name, cal)
        show_fit(s, cal, units)
        return
    last = st.session_state.get(LAST)
    if last is None or last[0] != s.name:
        st.info("Press **Fit** to fit the free parameters to the uploaded figures.")
        return
    st.info("Press **Fit** to fit the world as it is now; below, the latest fit (made before the world, its data or its "
            "free parameters changed).")
    show_fit(s, last[1], units)


def view(s: sidebar.Settings, runs_by_world: dict) -> None:
    st.subheader("Your own data against the simulated worlds")
    st.caption("Upload observed counts as CSV – the formats a calibration targets file's [[observed]] reads (docs/calibration.md). "
               "Each figure is shown against every world of the page: observed with its binomial 95% interval, simulated with "
               "the 95% interval over the replicates.")
    worlds = list(s.worlds)
    if st.session_state.get("owndata_world") not in worlds:
        st.session_state["owndata_world"] = "baseline"
    world = st.selectbox("the data describe the world", worlds, key="owndata_world",
                         help="the world the examples are made from and the fit is run on")
    where = f"world '{world}' of {s.name}, seed {s.seeds[0]}"
    data: dict[str, tuple[pd.DataFrame, str]] = {}
    for col, kind in zip(st.columns(len(KINDS)), KINDS):
        with col:
            counts = upload_box(kind, runs_by_world[world][0], where)
        if counts is not None:
            data[kind] = (counts, st.session_state[upload_key(kind)].name)
    if not data:
        st.info("Upload at least one CSV (download an example to see the format).")
        return
    for kind, (counts, _) in data.items():
        st.subheader(KINDS[kind][0])
        show_figure(kind, counts, runs_by_world)
    fit_section(s, world, data)


def posterior_section(s: sidebar.Settings, world, data: dict[str, tuple[pd.DataFrame, str]], priors: dict[str, dict]) -> None:
    """The posterior of the free parameters given the uploaded funnel (:func:`cxsim.calibration.calibrate_posterior`)."""
    if "funnel" not in data:
        st.info("A posterior is fitted to the funnel's counts: upload a funnel, or fit a best point to the other figures.")
        return
    if len(data) > 1:
        st.caption("Only the funnel enters the posterior: a reason's share or a score is not a count of people among n "
                   "(docs/calibration.md); they stay charted above.")
    counts = data["funnel"][0]["customers"]
    size = max(world.population.customers, SIZE_PER_COUNT * int(counts.max()))
    mapping = {**targets_mapping(s, {"funnel": data["funnel"]}, priors), "customers": size}
    sized = world.with_overrides({"population.customers": size})
    out = cache_folder(sized, {**mapping, "method": "posterior"})
    st.caption(f"Each funnel step is a binomial count among those at the step before; the world runs at {size:,} customers "
               f"({SIZE_PER_COUNT}× the largest count, so its own chance stays small beside the data's); 240 design runs, "
               "a Gaussian-process emulator and emcee.")
    try:
        if st.button("Fit the posterior", key="owndata_fit_posterior", type="primary", icon=":material/tune:"):
            with st.spinner("design runs, emulator and sampler…"):
                result = calibrate_posterior(sized, mapping, out, command="cxsim explorer, tab 'Your own data'", say=lambda _: None)
            st.session_state[POSTERIOR] = (str(out), result)
    except CxError as err:
        st.error(f"**Not fitted** – {err}")
        return
    shown = st.session_state.get(POSTERIOR)
    if shown is None or shown[0] != str(out):
        st.info("Press **Fit the posterior** to see how much these counts narrow the free parameters.")
        return
    show_posterior(s, shown[1])


def show_posterior(s: sidebar.Settings, r) -> None:
    """Each parameter's interval and contraction, warnings in words, each figure beside its posterior predictive."""
    table = r.parameters
    st.markdown(f"**Posterior** from {len(r.evidence.fitted)} funnel step(s) ({r.chain.effective_size:,.0f} effective samples)")
    st.dataframe(pd.DataFrame({
        "parameter": table.parameter, "prior": [f"{_number(a)} – {_number(b)}" for a, b in zip(table.prior_low, table.prior_high)],
        "median": table["median"].map(_number), "90% interval": [f"{_number(a)} – {_number(b)}" for a, b in zip(table.q05, table.q95)],
        "narrowed (contraction)": table.contraction.round(2), "what the data say": table.verdict,
    }), hide_index=True, key="owndata_posterior_parameters")
    loose = [p.parameter for p in table.itertuples() if p.contraction < 0.5 or "bound" in p.verdict]
    pairs = ridges(r.posterior)
    if loose:
        st.warning("Not pinned by these data: " + ", ".join(loose) + ". Their medians are not fitted values.")
    for a, b, c in pairs:
        st.warning(f"{a} and {b} trade off (posterior correlation {c:+.2f}): the data pin a combination of them, not each one.")
    f = r.figures
    st.dataframe(pd.DataFrame({
        "funnel step": f.figure, "observed": [f"{c:,} of {n:,} = {c / n:.1%}" for c, n in zip(f["count"], f.n)],
        "predicted (90%)": [f"{m:.1%} [{a:.1%}, {b:.1%}]" for m, a, b in zip(f["median"], f.q05, f.q95)],
        "inside": ["yes" if x else "no" for x in f.inside_90],
    }), hide_index=True, key="owndata_posterior_figures")
    path = r.files.get("posterior")
    if path is not None and Path(path).exists():
        st.download_button("posterior.parquet", Path(path).read_bytes(), f"{s.name}.posterior.parquet", "application/octet-stream",
                           key="owndata_posterior_download", icon=":material/download:",
                           help=f"put it beside your scenario file as {s.name}.posterior.parquet: its runs then carry this uncertainty")
    if not loose and not pairs:
        st.button("Use the posterior medians", key="owndata_apply_posterior", on_click=apply_fitted,
                  args=(s.name, {p.parameter: float(p.median) for p in table.itertuples()}), icon=":material/input:",
                  help="every parameter is narrowed by the data: write the medians into the sidebar's 'Any other parameter' box")
