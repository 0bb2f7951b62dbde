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

from cxsim import views
from cxsim.metrics import interval

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


def acceptance(s, step: dict) -> tuple[float, float, float]:
    """Simulated acceptance (%) at a story step: mean and 95% interval over the replicates."""
    tables = runs.run_worlds({"world": _world(s, step)}, s.seeds)["world"]
    return tuple(100 * v for v in interval([t["outcomes"]["acceptance_rate"] for t in tables]))


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
    band = f" (95% interval {lo:.1f} to {hi:.1f})" if lo == lo else ""
    st.success(f"Simulated acceptance: **{mean:.1f} %**{band}. You predicted {guess} %: off by {guess - mean:+.1f} points.")


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
        band = f" (95% interval {top[1]:.1f} to {top[2]:.1f})" if top[1] == top[1] else ""
        st.markdown(
            f"**Simulated here** (this model, these settings): acceptance **{base[0]:.1f} %** with no intervention → "
            f"**{top[0]:.1f} %**{band} with {', '.join(steps[-1]['labels'])}."
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
        charts.show(charts.predictions(pd.DataFrame(rows)), pd.DataFrame(rows), "trainer_predictions")
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
