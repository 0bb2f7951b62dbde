"""The explorer shows the uncertainty it has: over a scenario's posterior draws × seeds, or seeds only, said in words."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import assert_clean, interval_shown
from streamlit.testing.v1 import AppTest

from cxsim import posterior
from cxsim.ensemble import run_ensemble

APP = str(Path(__file__).resolve().parent.parent / "app" / "explorer.py")
SMALL = {"population.customers": "1500", "draws": "4", "replicates": "1"}


def _posterior(n=200, seed=3):
    """A wide synthetic posterior over two decision weights (the real one comes from `cxsim infer`)."""
    rng = np.random.default_rng(seed)
    return posterior.Posterior({"decision.w_cost": rng.uniform(0.5, 4.0, n), "decision.w_fear": rng.uniform(0.3, 2.5, n)},
                               np.ones(n), {"method": "synthetic"})


@pytest.fixture
def with_posterior(monkeypatch):
    post = _posterior()
    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: post)
    return post


@pytest.fixture
def without_posterior(monkeypatch):
    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: None)


def page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"scenario": "aravind", **SMALL, **query})
    return at.run()


def card(at: AppTest):
    """The what-if's Acceptance card."""
    return next(m for m in at.metric if m.label == "Acceptance")


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_cards_over_the_posterior_name_the_kind_and_pair_within_each_draw(with_posterior):
    at = page()
    assert_clean(at)
    m = card(at)
    assert "parameters + seeds" in m.delta, m.delta
    said = captions(at)
    assert "over 4 posterior draws × 1 seed" in said and "uncertainty of the parameters" in said, said
    assert "level" in said and "parameters + seeds" in said
    chart = json.dumps(json.loads(at.get("vega_lite_chart")[0].proto.spec), ensure_ascii=False)  # the intervals chart says it too
    assert "posterior draws × seeds" in chart and "uncertainty of the parameters" in chart
    # the same ensemble computed by the library: the card's difference and interval are its paired ones
    sc_start = at.session_state["aravind:start"]
    ens = run_ensemble("aravind", ["baseline", sc_start], posterior=with_posterior, draws=4, seeds=1, customers=1500)
    row = ens.differences("baseline").set_index("metric").loc["acceptance_rate"]
    assert interval_shown(m.delta) == pytest.approx(tuple(100 * row[c] for c in ("difference", "ci_low", "ci_high")), abs=0.051), (m.delta, row)
    assert at.query_params.get("draws") in (["4"], "4")


def test_without_a_posterior_the_page_says_seeds_only_in_words(without_posterior):
    at = page()
    assert_clean(at)
    assert "seeds only" in card(at).delta or "seeds only" in captions(at)
    said = captions(at)
    assert "has no posterior" in said and "chance only" in said, said
    assert "chance only" in json.dumps(json.loads(at.get("vega_lite_chart")[0].proto.spec), ensure_ascii=False)
    assert "aravind has no posterior, so parameter uncertainty is not included" in said


def test_choosing_seeds_only_keeps_the_posterior_out_and_goes_into_the_link(with_posterior):
    at = page()
    at.radio(key="uncertainty").set_value("seeds").run()
    assert_clean(at)
    said = captions(at)
    assert "posterior not used" in said and "chance only" in said, said
    assert "parameters + seeds" not in card(at).delta
    assert at.query_params.get("uncertainty") in (["seeds"], "seeds")
    again = page(uncertainty="seeds")  # the link rebuilds the choice
    assert again.radio(key="uncertainty").value == "seeds"
    assert "posterior not used" in captions(again)


@pytest.mark.parametrize("query, value, words", [("uncertainty", "maybe", "posterior or seeds"), ("draws", "2", "3–100"),
                                                 ("draws", "many", "3–100")])
def test_a_bad_uncertainty_link_value_is_one_line(without_posterior, query, value, words):
    at = page(**{query: value})
    assert_clean(at)
    assert len(at.warning) == 1, [w.value for w in at.warning]
    text = at.warning[0].value
    assert f"{query}=" in text and words in text and "\n" not in text.strip(), text
    assert at.metric  # the page still computes, on its defaults


def test_trainer_reveal_says_which_uncertainty_it_carries(with_posterior):
    at = page(trainer="true")
    assert_clean(at)
    at.button(key="trainer_reveal_0").click().run()
    assert_clean(at)
    text = at.success[0].value
    assert "95% interval" in text and "parameters + seeds" in text, text
    assert "4 posterior draws" in captions(at)


@pytest.mark.parametrize("posterior_there, words", [(True, "parameters + seeds"), (False, "seeds only")])
def test_the_classrooms_reveal_says_which_uncertainty_on_every_page(monkeypatch, tmp_path, posterior_there, words):
    monkeypatch.setenv("CXSIM_CLASSROOM_DB", str(tmp_path / "classroom.sqlite"))
    monkeypatch.setattr("cxsim.uncertainty.load", lambda name: _posterior() if posterior_there else None)
    at = page(replicates="3")
    at.toggle(key="classroom").set_value(True).run()
    at.button(key="classroom_open").click().run()
    code = re.search(r">([A-Z0-9]+)<", next(m.value for m in at.markdown if "font-size:4.5rem" in m.value)).group(1)
    at.button(key="classroom_reveal").click().run()
    assert_clean(at)
    assert words in at.success[0].value and "95% interval" in at.success[0].value, at.success[0].value
    trainee = AppTest.from_file(APP, default_timeout=60)
    trainee.query_params["join"] = code
    trainee.run()
    trainee.text_input(key="classroom_join_name").input("Asha")
    trainee.button[0].click().run()
    assert_clean(trainee)
    assert words in trainee.success[0].value, trainee.success[0].value


def test_the_workload_guard_counts_every_posterior_draw(with_posterior):
    """2 worlds × 20 draws × 3 seeds = 120 runs of 700k customers × 52 weeks: above the gate that 6 seeds-only runs pass."""
    at = page(**{"population.customers": "700000", "draws": "20", "replicates": "3"})
    assert_clean(at)
    assert not at.metric  # nothing computed before 'Compute it anyway'
    said = "\n".join(i.value for i in at.info)
    assert "Not computed" in said and "120 runs" in said, said


def test_the_budget_search_follows_the_page_over_the_posterior(with_posterior, monkeypatch, tmp_path):
    """Best plan for a budget searches over the same kind the page shows: plans judged over posterior draws, said in the caption."""
    monkeypatch.setenv("CXSIM_BUDGET_CACHE", str(tmp_path))
    at = page(**{"population.customers": "300", "steps": "10", "replicates": "2", "view": "Best plan for a budget"})
    at.number_input(key="budget_trials").set_value(3).run()
    at.button(key="budget_search").click().run()
    assert_clean(at)
    caption = next(c.value for c in at.caption if "plans evaluated" in c.value)
    assert caption.startswith("3 plans evaluated") and "posterior" in caption and "seeds only" not in caption, caption
