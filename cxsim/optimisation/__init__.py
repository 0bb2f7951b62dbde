"""Best plan for a budget: search the intervention mix with Optuna, report the frontier and the plan in the customers' terms.

    from cxsim.optimisation import optimise
    res = optimise("aravind", "aravind", out="results/opt-aravind", budget=500_000)  # a ready-made file by name
    res.best.text, res.frontier_table, res.recommend(300_000).best

Modules: :mod:`.spec` (the optimisation file), :mod:`.evaluate` (a plan's runs on common
seeds), :mod:`.search` (the Optuna study in SQLite), :mod:`.analysis` (frontier, best plan,
ties, reasons removed), :mod:`.report` (the files written).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .. import studies
from ..engine.scenario import Scenario, load_scenario
from ..state.params import CxError
from . import analysis
from .analysis import Plan, Recommendation
from .evaluate import Evaluation, Executor, base_world, nothing, variant_plan
from .search import Search, open_study
from .spec import Spec, load


@dataclass
class Optimisation:
    """What :func:`optimise` found (and wrote to ``out``)."""

    scenario: Scenario
    spec: Spec
    out: Path
    command: str
    plans: list[Plan]
    frontier: list[Plan]
    baseline: Evaluation
    recommendation: Recommendation
    top: list[Plan] = field(default_factory=list)
    fresh: list[Evaluation] = field(default_factory=list)
    fresh_baseline: Evaluation | None = None
    compared: dict[str, Evaluation] = field(default_factory=dict)
    runs: int = 0
    seconds: float = 0.0
    date: str = ""
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def best(self) -> Plan | None:
        return self.recommendation.best

    @property
    def robust(self) -> Plan | None:
        """The plan best in the worst 10% of posterior draws, within the budget (None when plans ran on seeds only)."""
        return analysis.robust(self.spec, self.recommendation)

    def recommend(self, budget: float | None) -> Recommendation:
        """The best plan and its statistical ties at another budget, from the plans already evaluated (no runs)."""
        return analysis.recommend(self.spec, self.plans, budget)

    def explain(self, plan: Plan) -> str:
        return analysis.explain(self.spec, plan, self.baseline, self.scenario.currency)

    @property
    def fresh_table(self) -> pd.DataFrame:
        return analysis.fresh_table(self.spec, self.top, self.fresh, self.recommendation) if self.fresh else pd.DataFrame()

    @property
    def advantage(self) -> tuple[float, float, float] | None:
        """Recommended − runner-up on the fresh seeds (primary objective): mean and 95% interval."""
        if len(self.fresh) < 2:
            return None
        return analysis.paired(self.fresh[0], self.fresh[1], self.spec.primary.name)

    @property
    def plans_table(self) -> pd.DataFrame:
        from .report import plans_table

        return plans_table(self)

    @property
    def frontier_table(self) -> pd.DataFrame:
        from .report import frontier_table

        return frontier_table(self)


def optimise(scenario: str | Path | Scenario, file: str | Path | dict | None = None, out: str | Path | None = None, *,
             trials: int | None = None, workers: int = 1, scheduler: Any = None, resume: bool = False,
             budget: float | None = None, progress: bool | None = None, report: bool = True, command: str | None = None,
             on_trial: Callable[[int, int], None] | None = None, posterior: Any = "find", uncertainty: str | None = None,
             draws: int = 10, **overrides: Any) -> Optimisation:
    """Search the levers of ``file`` (a path, a ready-made name in ``optimisation/``, or its mapping) for ``scenario``.

    ``trials`` and ``budget`` override the file's; other ``overrides`` replace top-level keys
    of the file (``levers=…``, ``objectives=…``, ``customers=…``). ``resume`` continues (or,
    with no more trials to run, re-reports) the study in ``out/study.db``. Results do not
    depend on ``workers`` or ``scheduler``. ``on_trial(done, total)`` is called after each
    trial (a progress bar; raising in it stops the search, which ``resume`` continues).

    Where the scenario has a posterior (or ``posterior`` is given, and ``uncertainty`` is not ``"seeds"``), every plan
    runs on ``draws`` posterior draws × the search seeds: a plan's numbers are expected values over the posterior, its
    worst case the mean over its worst 10% of draws (:attr:`Optimisation.robust` is the plan best in the worst case),
    and the fresh check runs on fresh seeds and fresh draws.
    """
    import time

    t0 = time.perf_counter()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    changes = {**overrides, "budget": budget, "trials": trials}
    spec = _with_draws(load(file, sc, changes), scenario, posterior, uncertainty, draws)
    if workers < 1:
        raise CxError(f"--workers = {workers}: must be at least 1")
    base = base_world(sc, spec)
    name = spec.source.stem if spec.source else sc.name
    out = Path(out) if out is not None else Path("results") / f"optimise-{name}"
    with studies.folder_lock(out, "an optimisation"):  # one writer at a time: two resumes would share one study
        study = open_study(out, spec, base, resume)
        with Executor(workers, scheduler) as ex:
            search = Search(study, spec, base, ex)
            search.run(spec.file.trials, progress=progress, on_trial=on_trial)
            baseline, *others = ex.evaluate(base, spec, [nothing(spec)] + [variant_plan(sc, v) for v in spec.file.compare], spec.search_seeds)
            compared = dict(zip(spec.file.compare, others))
            plans = analysis.plans_from_study(study)
            rec = analysis.recommend(spec, plans, spec.budget)
            top = analysis.top_plans(rec, spec.file.top)
            sturdy = analysis.robust(spec, rec)
            if sturdy is not None and sturdy not in top:
                top.append(sturdy)  # the plan best in the worst case is checked on fresh draws too
            fresh: list[Evaluation] = []
            fresh_base = None
            if top:
                evs = ex.evaluate(base, spec, [p.overrides for p in top] + [nothing(spec)], spec.fresh_seed_list,
                                  draws=list(spec.fresh_draws))
                fresh, fresh_base = evs[:-1], evs[-1]
        per = max(1, len(spec.draws))
        runs = search.runs + per * (len(spec.search_seeds) * (1 + len(compared)) + (len(top) + 1) * len(spec.fresh_seed_list) * bool(top))
        res = Optimisation(sc, spec, out, command or _command(scenario, file, out), plans, analysis.frontier(spec, plans),
                           baseline, rec, top, fresh, fresh_base, compared, runs, time.perf_counter() - t0, _dt.date.today().isoformat())
        if report:
            from .report import write_all

            res.files = write_all(res)
    return res


def _with_draws(spec: Spec, scenario: Any, posterior: Any, uncertainty: str | None, draws: int) -> Spec:
    """The spec with the posterior draws plans are evaluated on (search and fresh), or seeds only, and the words for it."""
    import dataclasses

    from ..uncertainty import POSTERIOR, SEEDS, choose_kind, resolve_posterior, uncertainty_caption

    post, source = resolve_posterior(scenario, posterior)
    kind = choose_kind(uncertainty, post, source)
    if kind == SEEDS:
        return dataclasses.replace(spec, uncertainty=uncertainty_caption(SEEDS, 0, len(spec.search_seeds), source))
    if draws < 1:
        raise CxError(f"draws = {draws}: must be ≥ 1")
    return dataclasses.replace(spec, draws=tuple(post.draws(draws, 0)), fresh_draws=tuple(post.draws(draws, 1)),
                               uncertainty=uncertainty_caption(POSTERIOR, draws, len(spec.search_seeds), source))


def _command(scenario, file, out) -> str:
    parts = ["cxsim optimise", str(getattr(scenario, "name", scenario))]
    if isinstance(file, (str, Path)):
        parts.append(str(file))
    return " ".join(parts + ["--out", str(out)])


__all__ = ["optimise", "Optimisation", "Plan", "Recommendation", "Spec", "load"]
