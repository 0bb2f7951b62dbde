"""Trainer's mode: the scenario's story step by step, predicting each effect before revealing it.

Inside-out first (the provider's view: predict acceptance), then outside-in (a
non-user in their own words), then the interventions switched on one at a time
(predict, then reveal), then what changed. No result shows before it is revealed.
"""

from __future__ import annotations

import charts
import pandas as pd
import runs
import stories
import streamlit as st

from cxsim import plot, views

STEP, REVEALED, PREDICTED, FOR = "trainer_step", "trainer_revealed", "trainer_predicted", "trainer_for"


def _go(delta: int, last: int) -> None:
    st.session_state[STEP] = min(max(st.session_state.get(STEP, 0) + delta, 0), last)


def _reveal(k: int) -> None:
    st.session_state[REVEALED] = st.session_state.get(REVEALED, set()) | {k}
    st.session_state[PREDICTED] = {**st.session_state.get(PREDICTED, {}), k: st.session_state[f"trainer_predict_{k}"]}


def _reset_if_new(s) -> None:
    """A new scenario or intervention set starts the story again."""
    signature = (s.name, tuple(s.alternative.enabled_interventions))
    if st.session_state.get(FOR) != signature:
        st.session_state.update({FOR: signature, STEP: 0, REVEALED: set(), PREDICTED: {}})


def _world(s, step: dict):
    return s.baseline if not step["interventions"] else s.alternative.with_interventions(step["interventions"], only=True)


def uncertainty(s) -> views.PageUncertainty:
    """What the reveals' intervals are computed over (posterior draws × seeds, or seeds only)."""
    return getattr(s, "uncertainty", None) or views.page_uncertainty(s.name, "seeds", 1, len(s.seeds))


def acceptance(s, step: dict) -> tuple[float, float, float]:
    """Simulated acceptance (%) at a story step: mean and 95% interval over the page's ensemble (posterior draws × seeds,
    or seeds only: :func:`uncertainty`)."""
    world, unc = _world(s, step), uncertainty(s)
    tables = runs.run_worlds({"world": world}, s.seeds, unc.draws, getattr(s, "keep", ()))
    level = runs.ensemble(tables, world, unc).level("world", "acceptance_rate")
    return tuple(100 * v for v in level)


def band(lo: float, hi: float, s) -> str:
    """' (95% interval 40.1 to 52.3, parameters + seeds)': a revealed result's interval and the uncertainty it carries."""
    words = uncertainty(s).words[1]
    return f" (95% interval {lo:.1f} to {hi:.1f}, {words})" if lo == lo else f" (no interval, {words})"


def _slider_key(k: int) -> str:
    return f"trainer_predict_{k}"


def predict_and_reveal(s, k: int, step: dict) -> None:
    """This step's own prediction (kept per step; locked once revealed), then the simulated result."""
    revealed = k in st.session_state.get(REVEALED, set())
    if revealed:  # the prediction made for this step, also after Back/Next
        st.session_state[_slider_key(k)] = st.session_state[PREDICTED][k]
    elif _slider_key(k) not in st.session_state:
        st.session_state[_slider_key(k)] = 50
    st.slider("Your prediction: what share of those offered will accept? (%)", 0, 100, key=_slider_key(k), disabled=revealed,
              help="locked once revealed" if revealed else None)
    if not revealed:
        st.button("Reveal", key=f"trainer_reveal_{k}", on_click=_reveal, args=(k,), type="primary")
        return
    if step.get("after"):
        st.markdown(step["after"])
    mean, lo, hi = acceptance(s, step)
    guess = st.session_state[PREDICTED][k]
    st.success(f"Simulated acceptance: **{mean:.1f} %**{band(lo, hi, s)}. You predicted {guess} %: off by {guess - mean:+.1f} points.")
    st.caption(f"Uncertainty: {uncertainty(s).words[0]}.")


def outside_in(s) -> None:
    worlds = {"baseline": s.baseline.model_dump_json(), "intervention": s.alternative.model_dump_json()}
    draw = stories.ask_button("Ask another non-user", "trainer_ask", "trainer_draw")
    stories.nonuser_card(worlds, "baseline", s.seeds[0], "declined", draw)


def summary(s, steps: list[dict]) -> None:
    """What changed: the simulated numbers first (quoted from the runs), then what the source reports."""
    first, last = steps[0], next((st_ for st_ in reversed(steps) if st_["kind"] == "intervention"), None)
    base = acceptance(s, first)
    if last is None:
        st.markdown(f"**Simulated here** (this model, these settings): acceptance **{base[0]:.1f} %** with no intervention.")
    else:
        top = acceptance(s, last)
        st.markdown(
            f"**Simulated here** (this model, these settings): acceptance **{base[0]:.1f} %** with no intervention → "
            f"**{top[0]:.1f} %**{band(top[1], top[2], s)} with {', '.join(steps[-1]['labels'])}."
        )
    reported = " ".join(x for x in (steps[-1]["text"], steps[-1].get("fact", "")) if x)
    if reported:
        st.markdown("**Reported by the source** (what the scenario was calibrated to reproduce; its conditions may differ "
                    "from the interventions switched on here):")
        st.markdown(f"> {reported}")
    if steps[-1].get("source"):
        st.caption(f"Source: {steps[-1]['source']}")
    rows = []
    for k, step in enumerate(steps):
        if step["kind"] in ("inside_out", "intervention") and k in st.session_state.get(REVEALED, set()):
            rows.append({"step": step["short"], "predicted": float(st.session_state[PREDICTED][k]), "simulated": acceptance(s, step)[0]})
    if rows:
        charts.show(plot.predictions(pd.DataFrame(rows)), pd.DataFrame(rows), "trainer_predictions")
    else:
        st.info("Reveal a step to compare your predictions with the simulation.")


def render(s) -> None:
    _reset_if_new(s)
    steps = views.trainer_steps(s.alternative, s.alternative.enabled_interventions)
    k = min(st.session_state.get(STEP, 0), len(steps) - 1)
    step = steps[k]
    st.title(f"Trainer's mode: {s.scenario.title or s.name}")
    st.progress((k + 1) / len(steps), text=f"Step {k + 1} of {len(steps)}")
    st.subheader(step["title"])
    if step["kind"] != "what_changed":
        st.markdown(step["text"].replace("\n", " "))
    if step["kind"] in ("inside_out", "intervention"):
        predict_and_reveal(s, k, step)
    elif step["kind"] == "outside_in":
        outside_in(s)
    else:
        summary(s, steps)
    if len(steps) == 3:
        st.info("Switch interventions on in the sidebar to walk through them one at a time.")
    back, forward, _ = st.columns([1, 1, 4])
    back.button("◀ Back", key="trainer_back", on_click=_go, args=(-1, len(steps) - 1), disabled=k == 0)
    forward.button("Next ▶", key="trainer_next", on_click=_go, args=(1, len(steps) - 1), disabled=k == len(steps) - 1)
