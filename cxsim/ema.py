"""cxsim for EMA Workbench users, and which conditions make a plan fail (scenario discovery with PRIM).

    from cxsim import ema
    model = ema.ema_model("aravind", uncertainties=["decision.w_cost", "decision.w_fear"], levers=["free_transport"])
    # EMA's own tools from here: perform_experiments(model, scenarios=200), optimize(...), feature scoring …

    found = ema.where_plan_fails("aravind", {"interventions.free_transport.enabled": True}, "acceptance_rate >= 0.5")
    found.sentence   # 'fails when w_cost > 3.4 and w_fear > 1.9: 84% of failures, in 12% of draws'

Ranges are never typed twice: an uncertainty's range is its declaration in :mod:`cxsim.state.params`
(the range the scenario file is validated against), or the range of the scenario's posterior
(:mod:`cxsim.posterior`), or a narrower range given here and checked against the declaration;
a lever is an intervention switched on or off (an integer 0/1 parameter: EMA's ``PrimBox.inspect``
failed on categorical parameters under pandas 3) and its fields' declared ranges.

Scenario discovery uses EMA Workbench's PRIM (Friedman & Fisher 1999, as EMA implements it) on
the plan's runs over posterior draws (the plausible parameter sets) or over a Latin hypercube of
the declared ranges: the cases of interest are the parameter sets where the plan misses its goal
(the goal measure's mean over the seeds of that set). The box read out is the point on PRIM's
peeling trajectory with the highest coverage among those at least ``density`` dense (and, where most
parameter sets fail, denser than halfway from the share failing to all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .engine.scenario import Scenario, scenario_dict
from .posterior import Posterior
from .readouts.metrics import SCALAR_OUTCOMES
from .state.params import CxError, field_info


def _scenario(scenario: str | Path | Scenario) -> Scenario:
    from .engine.scenario import load_scenario

    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def declared(scenario: Scenario, path: str) -> dict[str, Any]:
    """The declaration (:func:`cxsim.state.params.field_info`) of the parameter at a dotted ``path`` of ``scenario``."""
    *parents, field = path.split(".")
    obj: Any = scenario
    for part in parents:
        obj = obj.get(part) if isinstance(obj, dict) else getattr(obj, part, None)
        if obj is None:
            raise CxError(f"uncertainty {path!r}: the scenario has no {part!r} there")
    cls = type(obj)
    if not hasattr(cls, "model_fields") or field not in cls.model_fields:
        raise CxError(f"uncertainty {path!r}: {cls.__name__} has no parameter {field!r}")
    return field_info(cls, field)


def parameter_ranges(scenario: str | Path | Scenario, paths: Sequence[str] | Mapping[str, tuple[float, float]] = (),
                     posterior: Posterior | None = None) -> dict[str, tuple[float, float]]:
    """Each uncertainty's range: a given (narrower) range, else the posterior's, else the declared one.

    ``paths``: dotted paths (declared ranges) or ``{path: (low, high)}`` (each checked to lie within its declaration).
    """
    sc = _scenario(scenario)
    given = dict(paths) if isinstance(paths, Mapping) else {p: None for p in paths}
    names = list(dict.fromkeys([*given, *(posterior.parameters if posterior is not None and not given else [])]))
    out = {}
    for path in names:
        info = declared(sc, path)
        if info["type"] not in (int, float):
            raise CxError(f"uncertainty {path!r}: a {getattr(info['type'], '__name__', info['type'])} parameter, not a number")
        lo, hi = info["lo"], info["hi"]
        if given.get(path) is not None:
            a, b = (float(x) for x in given[path])
            if not (lo is None or a >= lo) or not (hi is None or b <= hi) or a > b:
                raise CxError(f"uncertainty {path} = [{a:g}, {b:g}]: must lie within its declared range {lo} to {hi}, low ≤ high")
            lo, hi = a, b
        elif posterior is not None and path in posterior.samples:
            lo, hi = float(np.min(posterior.samples[path])), float(np.max(posterior.samples[path]))
        if lo is None or hi is None or not math.isfinite(lo) or not math.isfinite(hi):
            raise CxError(f"uncertainty {path!r}: its declaration has no finite range: give one")
        out[path] = (float(lo), float(hi))
    return out


def short_name(path: str) -> str:
    """A dotted path as people read it in a box: its last part ('decision.w_cost' → 'w_cost')."""
    return path.rsplit(".", 1)[-1]


def ema_name(path: str) -> str:
    """A dotted path as an EMA parameter name (EMA 3 wants Python identifiers): 'decision.w_cost' → 'decision__w_cost'."""
    return path.replace(".", "__")


def path_of(name: str) -> str:
    """The dotted path of an EMA parameter name (:func:`ema_name` undone)."""
    return name.replace("__", ".")


# -- EMA's Model ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Experiment:
    """The function EMA calls: parameters (dotted paths, and ``LEVER`` for a lever's switch) → mean outcomes over ``seeds``.

    Picklable (a scenario's dict, not a closure), so EMA's multiprocessing evaluator can run it.
    """

    scenario: dict
    seeds: tuple[int, ...]
    outcomes: tuple[str, ...]
    switches: tuple[str, ...]

    def __call__(self, **params: Any) -> dict[str, float]:
        from .engine.model import run
        from .engine.scenario import validate_scenario

        overrides = {}
        for name, value in params.items():
            name = path_of(name)
            if name in self.switches:
                overrides[f"interventions.{name}.enabled"] = bool(round(float(value)))
            else:
                overrides[name] = value.item() if hasattr(value, "item") else value
        sc = validate_scenario(self.scenario).with_overrides(overrides)
        rows = [run(sc, s, track=0).summary for s in self.seeds]
        return {o: float(np.nanmean([math.nan if r[o] is None else r[o] for r in rows])) for o in self.outcomes}


def ema_model(scenario: str | Path | Scenario, uncertainties: Sequence[str] | Mapping[str, tuple[float, float]] = (), *,
              posterior: Posterior | None = None, levers: Sequence[str] = (), outcomes: Sequence[str] = SCALAR_OUTCOMES,
              seeds: int = 1, customers: int | None = None, steps: int | None = None, name: str | None = None):
    """An EMA Workbench ``Model`` of ``scenario``: uncertainties with their declared (or posterior, or given) ranges,
    levers (interventions on/off, ``NAME.FIELD`` for a field over its declared range) and scalar outcomes."""
    ema = _ema()
    sc = _scenario(scenario)
    sizes = {k: v for k, v in (("population.customers", customers), ("steps", steps)) if v is not None}
    sc = sc.with_overrides(sizes) if sizes else sc
    ranges = parameter_ranges(sc, uncertainties, posterior)
    switches, lever_params = [], []
    for lever in levers:
        iv_name, _, field = lever.partition(".")
        if iv_name not in sc.interventions:
            raise CxError(f"lever {lever!r}: no intervention {iv_name!r} in {sc.name} (choose from {', '.join(sc.interventions)})")
        if field:
            path = f"interventions.{lever}"
            lo, hi = parameter_ranges(sc, [path])[path]
            lever_params.append(ema.RealParameter(ema_name(path), lo, hi))
        else:
            switches.append(iv_name)
            lever_params.append(ema.IntegerParameter(iv_name, 0, 1))
    from .readouts.measures import check

    check(list(outcomes), sc)
    fn = Experiment(scenario_dict(sc), tuple(sc.seed + r for r in range(seeds)), tuple(outcomes), tuple(switches))
    model = ema.Model(name or sc.name.replace("-", "_"), function=fn)
    model.uncertainties = [ema.RealParameter(ema_name(p), lo, hi) for p, (lo, hi) in ranges.items()]
    model.levers = lever_params
    model.outcomes = [ema.ScalarOutcome(o) for o in outcomes]
    return model


# -- where a plan fails: PRIM ---------------------------------------------------------------------
@dataclass
class Discovery:
    """PRIM's box of where the plan misses its goal, with the runs it was found in."""

    goal: str
    plan: dict[str, Any]
    x: pd.DataFrame          # one row per parameter set
    y: np.ndarray            # True where the plan misses its goal
    values: np.ndarray       # the goal measure per parameter set (mean over seeds)
    limits: dict[str, tuple[float | None, float | None]]  # restricted parameters: (above, below)
    coverage: float
    density: float
    mass: float
    over: str                # "posterior draws" or "sampled parameter sets"
    caption: str = ""

    @property
    def failures(self) -> int:
        return int(self.y.sum())

    @property
    def sentence(self) -> str:
        """'fails when w_cost > 3.4 and w_fear > 1.9: 84% of failures, in 12% of draws (fails in 90% of them)'."""
        n = len(self.y)
        if self.failures == 0:
            return f"meets the goal ({self.goal}) in all {n} {self.over}: no failures to explain"
        if not self.limits:
            where = "almost everywhere" if self.failures / n >= 0.8 else "with no region PRIM could separate"
            return f"fails {where}: in {self.failures} of {n} {self.over} ({self.failures / n:.0%})"
        conds = []
        for path, (lo, hi) in self.limits.items():
            nm = short_name(path)
            if lo is not None and hi is not None:
                conds.append(f"{_g(lo)} < {nm} < {_g(hi)}")
            elif lo is not None:
                conds.append(f"{nm} > {_g(lo)}")
            else:
                conds.append(f"{nm} < {_g(hi)}")
        what = "draws" if self.over == "posterior draws" else "parameter sets"
        return (f"fails when {' and '.join(conds)}: {self.coverage:.0%} of failures, in {self.mass:.0%} of {what} "
                f"(fails in {self.density:.0%} of them; {self.failures} of {n} {what} fail)")


def _g(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _ema():
    """EMA Workbench, imported without its warning about an optional parallel back end cxsim does not use."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import ema_workbench
        from ema_workbench.analysis import prim  # noqa: F401
    return ema_workbench


def _box(x: pd.DataFrame, y: np.ndarray, density: float, mass_min: float) -> tuple[dict, float, float, float]:
    """Run EMA's PRIM; the point with the most coverage at ``density`` or more (else the densest): limits, coverage, density, mass."""
    import logging

    _ema()
    from ema_workbench.analysis import prim

    logging.getLogger("EMA").setLevel(logging.ERROR)
    p = prim.Prim(x.astype(float), y.astype(bool), mass_min=mass_min)
    box = p.find_box()
    traj = box.peeling_trajectory
    need = max(density, (1 + float(np.mean(y))) / 2)  # where failures are common, a box must be clearly denser than the whole
    dense = traj[(traj["density"] >= need) & (traj["res_dim"] > 0)]
    i = int(dense["coverage"].idxmax()) if len(dense) else int(traj["density"].idxmax())
    lims, init = box.box_lims[i], p.box_init
    limits = {}
    for col in x.columns:
        lo, hi = float(lims.loc[0, col]), float(lims.loc[1, col])
        raised, lowered = lo > float(init.loc[0, col]), hi < float(init.loc[1, col])
        if raised or lowered:
            limits[col] = (lo if raised else None, hi if lowered else None)
    row = traj.loc[i]
    return limits, float(row["coverage"]), float(row["density"]), float(row["mass"])


def where_plan_fails(scenario: str | Path | Scenario, plan: Mapping[str, Any], goal: str, *,
                     posterior: Any = "find", uncertainties: Sequence[str] | Mapping[str, tuple[float, float]] = (),
                     n: int = 200, seeds: int = 1, seed: int | None = None, sample_seed: int = 0,
                     density: float = 0.8, mass_min: float = 0.05, customers: int | None = None, steps: int | None = None,
                     workers: int = 1, scheduler: Any = None) -> Discovery:
    """Where ``plan`` (scenario overrides) misses ``goal`` ('MEASURE >= X' or 'MEASURE <= X'): PRIM's box, in words.

    Over ``n`` posterior draws (``posterior``: the scenario's own by default, a :class:`Posterior` or a file),
    or, with ``uncertainties`` given or no posterior, over a Latin hypercube of ``n`` parameter sets in the
    declared (or given) ranges. Each set runs on ``seeds`` seeds (:func:`cxsim.ensemble.run_ensemble`).
    """
    from .ensemble import FIND, POSTERIOR, resolve_posterior, run_ensemble
    from .optimisation.spec import parse_constraint

    sc = _scenario(scenario)
    sized = sc.with_overrides({k: v for k, v in (("population.customers", customers), ("steps", steps)) if v is not None} or {})
    target = parse_constraint(0, goal, None, sized, "goal")
    post, source = resolve_posterior(scenario, posterior if posterior != "find" else FIND)
    if uncertainties or post is None:
        ranges = parameter_ranges(sized, uncertainties or {}, None)
        if not ranges:
            raise CxError(f"{sc.name} has no posterior: name the parameters to explore over their declared ranges "
                          "(uncertainties=[...], or --vary PATH[=LOW:HIGH])")
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(ranges), seed=sample_seed).random(n)
        lo, hi = np.array([r[0] for r in ranges.values()]), np.array([r[1] for r in ranges.values()])
        sets = lo + unit * (hi - lo)
        post = Posterior({p: sets[:, k] for k, p in enumerate(ranges)}, np.ones(n), {"method": "Latin hypercube of declared ranges"})
        over = "sampled parameter sets"
        caption = (f"over {n} parameter sets, a Latin hypercube of the ranges of {', '.join(ranges)} (declared or given), "
                   f"× {seeds} seed(s) each; not a posterior: every set counts alike")
    else:
        over = "posterior draws"
        caption = ""
    names = () if target.name in SCALAR_OUTCOMES or target.name == "cost_per_accepted" else (target.name,)
    ens = run_ensemble(sized, {"plan": dict(plan)}, posterior=post, uncertainty=POSTERIOR, draws=n, seeds=seeds, seed=seed,
                       draw_seed=sample_seed, measures=names, workers=workers, scheduler=scheduler)
    runs = ens.runs
    if target.name == "cost_per_accepted":
        runs = runs.assign(cost_per_accepted=runs["intervention_cost"] / runs["accepted"].replace(0, np.nan))
    values = runs.groupby("draw", sort=True)[target.name].mean().to_numpy(dtype=float)
    y = np.array([target.violation(v) > 0 for v in values])
    x = pd.DataFrame(ens.draws)
    if y.any() and not y.all():
        limits, cov, dens, mass = _box(x, y, density, mass_min)
    else:
        limits, cov, dens, mass = {}, float(y.any()), float(y.mean()), 1.0
    caption = caption or f"over {n} posterior draws × {seeds} seed(s) each (posterior: {source})"
    return Discovery(goal, dict(plan), x, y, values, limits, cov, dens, mass, over, caption)


__all__ = ["ema_model", "where_plan_fails", "parameter_ranges", "Discovery", "Experiment"]
