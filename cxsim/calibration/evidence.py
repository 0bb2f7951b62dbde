"""The evidence file: published studies as data, each figure in its own study's world.

A TOML file, validated strictly (one line per problem, naming the file and the field)::

    scenario = "aravind"                 # whose behavioural weights are fitted
    customers = 10000                    # per simulated world

    [parameters]                         # the free parameters, shared by every world: uniform priors
    "decision.w_cost" = { low = 0.0, high = 8.0, source = "why this range" }

    [[studies]]
    name = "zhang2013"
    citation = "Zhang XJ et al. Ophthalmology 2013;120(2):260-265"
    design = "randomised trial"
    world = "worlds/zhang2013.toml"      # a scenario file (relative to this file) or a built-in name
      [[studies.figures]]
      label = "uptake, reminder only"
      quantity = "recalled:served"       # see cxsim.calibration.quantities
      variant = "reminder"               # of the world ("baseline": every intervention off)
      count = 13                         # people with the outcome ...
      n = 90                             # ... of this many: a binomial observation
      fit = true                         # false: held out, predicted beside its observed value

    [[predictions]]                      # what the posterior predicts and nothing fits
    label = "Aravind's package"
    world = "aravind"
    variant = "aravind_1980s"
    observed = 0.80

    [[candidates]]                       # observations one could still make (value of information)
    label = "acceptance with free transport only"
    world = "aravind"
    variant = "free_transport_only"
    n = 200

Every figure is compared with its world through the likelihood that follows from how it
was measured: ``count`` of ``n`` people, a binomial observation of the world's share
(a survey's multi-answer shares are independent binomials, one per reason named).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from ..engine.scenario import Scenario, load_scenario, looks_like_path
from ..state.params import CxError, Params, explain, field_info, read_toml, shorten, validating
from .quantities import is_rate, problem
from .targets import current_value

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Prior(Params):
    """A free parameter's prior: uniform on [low, high], with the reason for its range."""

    low: float
    high: float
    source: str = Field(min_length=1, description="why this range (a citation or 'assumption: …')")

    @model_validator(mode="after")
    def _ordered(self) -> "Prior":
        if not self.low < self.high:
            raise ValueError(f"empty or inverted range: low = {self.low:g} must be below high = {self.high:g}")
        return self

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12.0


class Figure(Params):
    """One published figure: ``count`` of ``n`` people, a binomial observation of ``quantity`` in the study's world."""

    label: str = Field(min_length=1)
    quantity: str = "acceptance_rate"
    variant: str = "baseline"
    steps: int | None = Field(None, ge=1, le=2000, description="horizon in steps (default: the world's)")
    count: int = Field(ge=0, le=100_000_000)
    n: int = Field(ge=1, le=100_000_000, description="sample size: people the figure counts among")
    likelihood: Literal["binomial"] = "binomial"
    fit: bool = True
    note: str = ""

    @model_validator(mode="after")
    def _count_within_n(self) -> "Figure":
        if self.count > self.n:
            raise ValueError(f"count = {self.count} exceeds n = {self.n}: a share must lie in [0, 1]")
        return self

    @property
    def share(self) -> float:
        return self.count / self.n


class Study(Params):
    name: str
    citation: str = Field(min_length=1)
    design: str = ""
    world: str = Field(min_length=1, description="a scenario file relative to the evidence file, or a built-in scenario name")
    setting: str = ""
    figures: list[Figure] = Field(min_length=1)


class Simulated(Params):
    """A share simulated in a world: which world, variant, quantity and horizon."""

    label: str = Field(min_length=1)
    world: str
    variant: str = "baseline"
    quantity: str = "acceptance_rate"
    steps: int | None = Field(None, ge=1, le=2000)


class Prediction(Simulated):
    """A quantity the posterior predicts (never fitted), beside what was observed if anything was."""

    observed: float | None = Field(None, ge=0.0, le=1.0)
    source: str = ""
    goal_width: float | None = Field(None, gt=0.0, le=1.0, description="widest acceptable 90% interval")


class Candidate(Simulated):
    """An observation not yet made: how much would ``n`` more people's answer narrow the predictions?"""

    n: int = Field(200, ge=1, le=100_000_000)


class EvidenceFile(Params):
    scenario: str
    title: str = ""
    description: str = ""
    registered: str = Field("", description="when the evidence, priors and likelihoods were fixed, before any prediction was computed")
    changes: list[str] = Field(default_factory=list, description="what changed after registration, and why")
    customers: int = Field(10_000, ge=100, le=1_000_000, description="customers per simulated world")
    design_points: int = Field(600, ge=20, le=20_000, description="parameter sets simulated to train the emulator")
    design_seed: int = Field(2026, ge=0, le=2**32 - 1)
    walkers: int = Field(48, ge=8, le=1000)
    mcmc_steps: int = Field(4000, ge=100, le=1_000_000)
    parameters: dict[str, Prior] = Field(min_length=1)
    discrepancy: Prior | None = Field(None, description="prior of the sd (logit scale) of each study world's discrepancy; none: worlds taken as exact")
    studies: list[Study] = Field(min_length=1)
    predictions: list[Prediction] = Field(default_factory=list)
    candidates: list[Candidate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _discrepancy_sd_nonnegative(self) -> "EvidenceFile":
        if self.discrepancy is not None and self.discrepancy.low < 0:
            raise ValueError(f"discrepancy.low = {self.discrepancy.low:g}: an sd, allowed range 0 to 10")
        if self.discrepancy is not None and self.discrepancy.high > 10:
            raise ValueError(f"discrepancy.high = {self.discrepancy.high:g}: an sd on the logit scale, allowed range 0 to 10")
        return self


@dataclass(frozen=True)
class Output:
    """One simulated quantity: a world, a variant, a horizon, a quantity."""

    world: str
    variant: str
    steps: int
    quantity: str

    @property
    def key(self) -> str:
        return f"{self.world}|{self.variant}|{self.steps}|{self.quantity}"


@dataclass(frozen=True)
class Observation:
    """A figure ready for the likelihood: which output it observes, and the data."""

    study: Study
    figure: Figure
    output: Output


@dataclass(frozen=True)
class Evidence:
    """A checked evidence file: its worlds loaded, every figure tied to an output."""

    file: EvidenceFile
    path: Path | None
    worlds: dict[str, Scenario]
    observations: tuple[Observation, ...]
    predictions: tuple[tuple[Prediction, Output], ...]
    candidates: tuple[tuple[Candidate, Output], ...]

    @property
    def parameters(self) -> dict[str, Prior]:
        return self.file.parameters

    @property
    def fitted(self) -> tuple[Observation, ...]:
        return tuple(o for o in self.observations if o.figure.fit)

    @property
    def held_out(self) -> tuple[Observation, ...]:
        return tuple(o for o in self.observations if not o.figure.fit)

    @property
    def outputs(self) -> list[Output]:
        """Every simulated quantity the inference needs, once each, in file order."""
        seen: dict[str, Output] = {}
        for out in [o.output for o in self.observations] + [p[1] for p in self.predictions] + [c[1] for c in self.candidates]:
            seen.setdefault(out.key, out)
        return list(seen.values())


def read(path: str | Path) -> Evidence:
    """Read, validate and resolve an evidence file (one-line CxError naming the file and field)."""
    path = Path(path)
    raw = read_toml(path, "evidence file")
    return resolve(parse(raw, path.name), path)


def parse(raw: dict[str, Any], where: str = "evidence") -> EvidenceFile:
    try:
        with validating():
            return EvidenceFile.model_validate(_flat_parameters(raw))
    except ValidationError as err:
        raise CxError(explain(err, EvidenceFile, where)) from None


def _flat_parameters(raw: dict[str, Any]) -> dict[str, Any]:
    from .targets import flatten_priors

    params = raw.get("parameters") if isinstance(raw, dict) else None
    return {**raw, "parameters": flatten_priors(params)} if isinstance(params, dict) else raw


def resolve(ef: EvidenceFile, path: Path | None) -> Evidence:
    where = path.name if path else "evidence"
    base = path.parent if path else Path.cwd()
    scenario = _world(ef.scenario, base, f"{where}: scenario")
    _check_priors(ef, scenario, where)
    worlds: dict[str, Scenario] = {ef.scenario: scenario}
    observations = []
    names = set()
    for i, study in enumerate(ef.studies):
        at = f"{where}: studies[{i}]"
        if not NAME.match(study.name) or study.name in names:
            raise CxError(f"{at}.name = {shorten(study.name)}: a new lower-case identifier (a-z, 0-9, _), unique in the file")
        names.add(study.name)
        world = worlds.setdefault(study.world, _world(study.world, base, f"{at}.world"))
        for j, fig in enumerate(study.figures):
            out = _output(study.world, world, fig.variant, fig.steps, fig.quantity, f"{at}.figures[{j}]")
            observations.append(Observation(study, fig, out))
    predictions = []
    for i, pred in enumerate(ef.predictions):
        world = worlds.setdefault(pred.world, _world(pred.world, base, f"{where}: predictions[{i}].world"))
        predictions.append((pred, _output(pred.world, world, pred.variant, pred.steps, pred.quantity, f"{where}: predictions[{i}]")))
    candidates = []
    for i, cand in enumerate(ef.candidates):
        world = worlds.setdefault(cand.world, _world(cand.world, base, f"{where}: candidates[{i}].world"))
        candidates.append((cand, _output(cand.world, world, cand.variant, cand.steps, cand.quantity, f"{where}: candidates[{i}]")))
    if not any(o.figure.fit for o in observations):
        raise CxError(f"{where}: no figure has fit = true: nothing to fit")
    return Evidence(ef, path, worlds, tuple(observations), tuple(predictions), tuple(candidates))


def _world(ref: str, base: Path, field: str) -> Scenario:
    """A study's world: a scenario file relative to the evidence file, or a built-in scenario."""
    try:
        return load_scenario(base / ref if looks_like_path(ref) else ref)
    except CxError as err:
        raise CxError(f"{field} = {shorten(ref)}: {err}") from None


def _output(world_ref: str, world: Scenario, variant: str, steps: int | None, quantity: str, field: str) -> Output:
    if variant != "baseline" and variant not in world.variants:
        raise CxError(f"{field}.variant = {shorten(variant)}: unknown variant of {world_ref}; choose from baseline, {', '.join(world.variants) or '(none)'}")
    why = problem(quantity, world.segment_names)
    if why:
        raise CxError(f"{field}.quantity: {why}")
    if not is_rate(quantity):
        raise CxError(f"{field}.quantity = {quantity!r}: a binomial figure observes a share; choose a rate (acceptance_rate, funnel:…, reason:…, recalled:…, barrier:…)")
    return Output(world_ref, variant, steps or world.steps, quantity)


def _check_priors(ef: EvidenceFile, scenario: Scenario, where: str) -> None:
    """Each prior's range lies inside its parameter's declared range, and the parameter is a number."""
    for path, prior in ef.parameters.items():
        field = f"{where}: parameters.{path}"
        try:
            value = current_value(scenario, path)
        except (KeyError, TypeError):
            raise CxError(f"{field}: unknown setting of {scenario.name}") from None
        if isinstance(value, bool) or not isinstance(value, float | int):
            raise CxError(f"{field}: is {value!r}, not a number; only numeric parameters can be fitted")
        lo, hi = declared_range(scenario, path)
        if (lo is not None and prior.low < lo) or (hi is not None and prior.high > hi):
            raise CxError(f"{field}: prior [{prior.low:g}, {prior.high:g}] outside the declared range [{lo:g}, {hi:g}]")


def declared_range(scenario: Scenario, path: str) -> tuple[float | None, float | None]:
    """The allowed range a scenario's model declares for a dotted path (None where unbounded)."""
    *owners, name = path.split(".")
    node: Any = scenario
    for key in owners:
        node = node[key] if isinstance(node, dict) else getattr(node, key)
    info = field_info(type(node), name)
    return info["lo"], info["hi"]


def world_overrides(world: Scenario, variant: str, steps: int) -> dict[str, Any]:
    """The overrides that turn a world into one variant at one horizon (every intervention named)."""
    from .fit import variant_overrides

    return {**variant_overrides(world, variant), "steps": steps}


DISCREPANCY = "discrepancy_sd"
"""Name of the discrepancy's sd among the sampled parameters (not a scenario path: no dot)."""


def priors(ev: Evidence) -> dict[str, Prior]:
    """Every sampled parameter's prior: the scenario's, then the discrepancy's sd if the file declares one."""
    return {**ev.parameters, **({DISCREPANCY: ev.file.discrepancy} if ev.file.discrepancy is not None else {})}


def prior_box(ev: Evidence) -> tuple[list[str], list[float], list[float]]:
    """The scenario parameters the emulator takes, with their prior bounds."""
    names = list(ev.parameters)
    return names, [ev.parameters[p].low for p in names], [ev.parameters[p].high for p in names]


def binomial_share_interval(count: int, n: int, level: float = 0.9) -> tuple[float, float]:
    """Jeffreys interval of an observed share (Brown, Cai & DasGupta 2001): stays inside [0, 1]."""
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if count == 0 else float(beta.ppf(a, count + 0.5, n - count + 0.5))
    hi = 1.0 if count == n else float(beta.ppf(1 - a, count + 0.5, n - count + 0.5))
    return lo, hi


# -- a user's own counts as evidence -------------------------------------------------------------------
OWN_STUDY = "observed"
OWN_DESIGN = {"design_points": 240, "walkers": 32, "mcmc_steps": 2000}
"""A user's data describe one world with a few figures: a smaller design and chain than a multi-study file."""
SIZE_PER_COUNT = 10
"""The simulated world holds at least this many times the people a figure counts: the likelihood is the data's
binomial alone, so the simulator's own chance must stay small beside it (≈ a tenth of its variance)."""


def from_targets(spec, scenario: Scenario, where: str) -> Evidence:
    """A targets file's ``[[observed]]`` counts as evidence about ``scenario`` itself, for a posterior.

    Each funnel step (people who reached it among those who reached the step before) is a binomial figure;
    the file's free parameters, uniform priors. Reasons and scores are refused: the reasons' shares are one
    multinomial among a number of non-users that itself moves with the parameters, and taken as binomials
    the intervals held their truths in only 45-65% of 20 simulated truths (tests/test_evidence.py measures
    the funnel's coverage). A target given as a value without counts has no sample size, so no likelihood: refused.
    """
    from . import observed as observed_data

    for i, t in enumerate(spec.file.targets):
        raise CxError(f"{where}: targets[{i}] ({t.label or t.measure}): a value without a sample size cannot enter a likelihood; "
                      "give the counts behind it as [[observed]] (funnel or reasons), or use --method point")
    priors = {}
    for path, prior in spec.parameters.items():
        if prior.log:
            raise CxError(f"{where}: parameters.{path}: log = true: the posterior takes uniform priors; give low and high on the linear scale")
        priors[path] = Prior(low=prior.low, high=prior.high, source=prior.source or "assumption: the targets file's range")
    base = spec.path.parent if spec.path else Path.cwd()
    figures = []
    for i, obs in enumerate(spec.file.observed):
        at = f"{where}: observed[{i}]"
        if obs.counts is not None:
            df, file = observed_data.counts_frame(obs.counts, obs.kind, f"{at}.counts"), "counts"
        else:
            df, file = observed_data.read_counts(base / obs.file, obs.kind, at, obs.file), obs.file
        if obs.kind != "funnel":
            raise CxError(f"{at}: kind = {obs.kind!r}: the posterior takes funnel counts (people reaching each step among those "
                          "at the step before); fit reasons or scores with --method point")
        for c in observed_data.binomial_counts(df, obs.kind, at, file):
            if c.count != int(c.count) or c.n != int(c.n):
                raise CxError(f"{at}: {file}: {c.label}: {c.count:g} of {c.n:g}: counts of people must be whole numbers")
            figures.append((Figure(label=c.label, quantity=c.quantity, variant=obs.variant, steps=obs.steps, count=int(c.count),
                                   n=int(c.n), note=obs.source), obs))
    if not figures:
        raise CxError(f"{where}: no [[observed]] counts: a posterior needs counts of people among n (funnel or reasons)")
    name = scenario.name
    study = Study(name=OWN_STUDY, citation=f"observed counts ({spec.path.name if spec.path else 'the page'})", world=name,
                  figures=[f for f, _ in figures])
    customers = spec.file.customers or scenario.population.customers
    largest = max(f.n for f, _ in figures)
    if customers < SIZE_PER_COUNT * largest:
        raise CxError(f"{where}: customers = {customers:,}: at least {SIZE_PER_COUNT * largest:,} for counts among {largest:,} people "
                      f"({SIZE_PER_COUNT}× the largest n, so the simulator's own chance stays small beside the data's); set customers")
    ef = EvidenceFile(scenario=name, title=spec.file.title or f"{scenario.title or name}: posterior from observed counts",
                      description=spec.file.description, customers=customers,
                      parameters=priors, studies=[study], **OWN_DESIGN)
    observations = tuple(Observation(study, fig, Output(name, fig.variant, fig.steps or scenario.steps, fig.quantity))
                         for fig, _ in figures)
    return Evidence(ef, spec.path, {name: scenario}, observations, (), ())
