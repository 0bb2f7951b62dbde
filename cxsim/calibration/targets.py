"""The targets file: free parameters with their priors, targets with standard errors, seeds, budget, validation.

A TOML file, validated strictly (unknown keys are errors; every problem is one
line, :class:`cxsim.state.params.CxError`)::

    customers = 10000                      # per run
    seeds = [1, 2, 3, 4, 5, 6, 7, 8]       # every trial runs on these (common random numbers)
    trials = 120
    sampler_seed = 7

    [parameters]
    decision.intercept = { low = -2.0, high = 6.0 }
    decision.w_cost = { low = 0.5, high = 6.0, log = true }

    [[targets]]
    measure = "acceptance_rate"            # see cxsim.calibration.quantities
    variant = "baseline"                   # every intervention off; "as written": the scenario as given; or a variant
    steps = 52                             # horizon (default: the scenario's)
    value = 0.05                           # or band = [lo, hi]
    se = 0.01                              # or tolerance = 0.02 (95% half-width: se = tolerance / 1.96)
    source = "seed 002"

    [[observed]]                           # targets derived from counts in a CSV
    file = "funnel.csv"                    # relative to this file (or counts = { aware = 900, offered = 400 })
    kind = "funnel"                        # funnel | scores | reasons

    [validation]                           # predictions checked against facts never used in fitting
    seeds = 20                             # or a list; must not overlap the calibration seeds
    [[validation.predict]]
    variant = "aravind_1980s"
    observed = 0.80
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..engine.scenario import Scenario
from ..state.params import CxError, explain, find_named_file, read_toml
from . import observed as observed_data
from .figure import AS_WRITTEN, Strict, Target
from .quantities import is_rate, problem


class Prior(Strict):
    """A free parameter's range (uniform prior; ``log``: uniform in its logarithm)."""

    low: float
    high: float
    log: bool = False
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "Prior":
        if not self.low < self.high:
            raise ValueError(f"empty or inverted range: low = {self.low:g} must be below high = {self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"log prior needs low > 0 (low = {self.low:g})")
        return self


class Observed(Strict):
    """Observed counts from which targets (with binomial standard errors) are derived: a CSV ``file``,
    or the ``counts`` themselves (``{milestone | score | reason: count}``, in the CSV's row order)."""

    file: str | None = None
    counts: dict[str, float] | None = None
    kind: Literal["funnel", "scores", "reasons"]
    variant: str = "baseline"
    steps: int | None = Field(None, ge=1, le=2000)
    source: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> "Observed":
        if (self.file is None) == (self.counts is None):
            raise ValueError("give exactly one of file (a CSV) or counts = { key = count, … }")
        return self


class Prediction(Strict):
    variant: str
    observed: float | None = None
    source: str = ""
    note: str = ""


class Validation(Strict):
    """What to predict after fitting, on seeds not used in calibration."""

    seeds: list[int] | int = 20
    first_seed: int = 10_001
    measure: str = "acceptance_rate"
    steps: int | None = Field(None, ge=1, le=2000)
    horizons: list[int] = Field(default_factory=list)
    switches: dict[str, list[Any]] = Field(default_factory=dict)
    max_sets: int = Field(12, ge=1, le=200)
    predict: list[Prediction] = Field(default_factory=list)

    @field_validator("horizons")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        for h in v:
            if not 1 <= h <= 2000:
                raise ValueError(f"horizon {h}: must be in 1 to 2000")
        return v

    @property
    def seed_list(self) -> list[int]:
        return _seed_list(self.seeds, self.first_seed)


class TargetsFile(Strict):
    title: str = ""
    description: str = ""
    customers: int | None = Field(None, ge=10, le=10_000_000)
    seeds: list[int] | int = 4
    first_seed: int = 1
    trials: int = Field(60, ge=1, le=100_000)
    startup_trials: int = Field(10, ge=1, le=10_000)
    sampler_seed: int = Field(0, ge=0, le=2**32 - 1)
    parameters: dict[str, Prior]
    targets: list[Target] = Field(default_factory=list)
    observed: list[Observed] = Field(default_factory=list)
    validation: Validation | None = None

    @field_validator("parameters", mode="before")
    @classmethod
    def _flatten(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        if not raw:
            raise ValueError("declare at least one free parameter")
        if len(flat := flatten_priors(raw)) > 8:
            raise ValueError(f"{len(flat)} free parameters: at most 8 can be fitted")
        return flat

    @field_validator("observed", mode="before")
    @classmethod
    def _one_or_many(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, dict) else raw

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int] | int) -> list[int] | int:
        n = v if isinstance(v, int) else len(v)
        if not 1 <= n <= 1000:
            raise ValueError(f"{n} seeds: give 1 to 1000")
        if not isinstance(v, int) and len(set(v)) != len(v):
            raise ValueError("seeds repeat")
        return v

    @property
    def seed_list(self) -> list[int]:
        return _seed_list(self.seeds, self.first_seed)


def _seed_list(seeds: list[int] | int, first: int) -> list[int]:
    return list(range(first, first + seeds)) if isinstance(seeds, int) else list(seeds)


def flatten_priors(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{decision: {w_cost: {low, high}}}`` or ``{"decision.w_cost": {low, high}}`` → ``{"decision.w_cost": {...}}``."""
    out: dict[str, Any] = {}
    for key, spec in raw.items():
        path = f"{prefix}{key}"
        if isinstance(spec, dict) and not ({"low", "high", "log", "source"} & set(spec)):
            out.update(flatten_priors(spec, f"{path}."))
        else:
            out[path] = spec
    return out


@dataclass(frozen=True)
class Resolved:
    """A target ready to fit: what to measure, where, and the figure with its standard error."""

    measure: str
    variant: str
    steps: int
    value: float | None
    band: tuple[float, float] | None
    se: float
    label: str
    source: str

    @property
    def key(self) -> str:
        return f"{self.measure}|{self.variant}|{self.steps}"

    def residual(self, mean: float, se_sim: float) -> float:
        """(simulated − target) in units of sqrt(se² + se_sim²); 0 inside a band."""
        if math.isnan(mean):
            return math.inf
        scale = math.hypot(self.se, se_sim)
        if self.band is None:
            return (mean - self.value) / scale
        lo, hi = self.band
        return (mean - hi) / scale if mean > hi else (mean - lo) / scale if mean < lo else 0.0

    @property
    def figure(self) -> str:
        if self.band is None:
            return f"{self.value:.4g} ± {self.se:.2g}"
        return f"{self.band[0]:.4g}–{self.band[1]:.4g} (edges ± {self.se:.2g})"


@dataclass(frozen=True)
class Spec:
    """A checked targets file: the file, its source path and its resolved targets."""

    file: TargetsFile
    path: Path | None
    targets: tuple[Resolved, ...]

    @property
    def parameters(self) -> dict[str, Prior]:
        return self.file.parameters


CALIBRATION_DIR = Path(__file__).resolve().parent / "library"
"""The ready-made targets files, shipped in the package (``cxsim/calibration/library/*.toml``)."""


def find_file(name_or_path: str | Path) -> Path:
    """A path, or the name of a ready-made targets file (``calibration/NAME.toml`` here, else the package's library)."""
    return find_named_file(name_or_path, "targets file", "calibration", CALIBRATION_DIR)


def read(path: str | Path) -> TargetsFile:
    """Parse and validate a targets file, given as a path or a ready-made file's name (one-line CxError on any problem)."""
    p = find_file(path)
    return parse(read_toml(p, "targets file"), p.name)


def parse(raw: dict[str, Any], where: str = "targets") -> TargetsFile:
    try:
        return TargetsFile.model_validate(raw)
    except ValidationError as err:
        raise CxError(explain(err, TargetsFile, where)) from None


def load(path_or_raw: str | Path | dict[str, Any], scenario: Scenario) -> Spec:
    """A targets file (path or mapping) checked against ``scenario``: paths, variants, measures, rates, CSVs."""
    if isinstance(path_or_raw, dict):
        tf, path, where = parse(path_or_raw), None, "targets"
    else:
        path = find_file(path_or_raw)
        tf, where = read(path), path.name
    check_parameters(tf, scenario, where)
    targets = [resolve(t, scenario, where, f"targets[{i}]") for i, t in enumerate(tf.targets)]
    base = path.parent if path else Path.cwd()
    for i, obs in enumerate(tf.observed):
        _check_variant(obs.variant, scenario, f"{where}: observed[{i}].variant")
        csv = base / obs.file if obs.file is not None else None
        for t in observed_data.targets(csv, obs, f"{where}: observed[{i}]"):
            targets.append(resolve(t, scenario, where, f"observed[{i}] ({obs.file or 'counts'})"))
    if not targets:
        raise CxError(f"{where}: no targets: add [[targets]] or an [observed] CSV")
    if tf.validation:
        check_validation(tf, scenario, where)
    return Spec(tf, path, tuple(targets))


def current_value(scenario: Scenario, path: str) -> Any:
    node: Any = scenario.model_dump()
    for key in path.split("."):
        node = node[key]
    return node


def check_parameters(tf: TargetsFile, scenario: Scenario, where: str) -> None:
    for path, prior in tf.parameters.items():
        field = f"{where}: parameters.{path}"
        try:
            value = current_value(scenario, path)
        except (KeyError, TypeError):
            value = None  # an unknown path: with_overrides below names what is known there
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise CxError(f"{field}: is {value!r}, not a number; only numeric parameters can be fitted")
            if isinstance(value, int) and not (float(prior.low).is_integer() and float(prior.high).is_integer()):
                raise CxError(f"{field}: a whole number; give whole-number low and high")
        try:
            for x in (prior.low, prior.high):
                scenario.with_overrides({path: int(x) if isinstance(value, int) else x})
        except CxError as err:
            msg = str(err).removeprefix(f"scenario {scenario.name!r}: ")
            raise CxError(f"{field}: {msg}") from None


def _check_variant(variant: str, scenario: Scenario, field: str) -> None:
    if variant not in ("baseline", AS_WRITTEN) and variant not in scenario.variants:
        raise CxError(f"{field} = {variant!r}: unknown variant; choose from baseline, {AS_WRITTEN}, {', '.join(scenario.variants) or '(none)'}")


def resolve(t: Target, scenario: Scenario, where: str, field: str) -> Resolved:
    _check_variant(t.variant, scenario, f"{where}: {field}.variant")
    why = problem(t.measure, scenario.segment_names)
    if why:
        raise CxError(f"{where}: {field}.measure: {why}")
    if is_rate(t.measure):
        for x in ([t.value] if t.band is None else list(t.band)):
            if not 0.0 <= x <= 1.0:
                raise CxError(f"{where}: {field}: {t.measure} is a rate; target {x:g} is outside [0, 1]")
    label = t.label or f"{t.measure} ({t.variant}, {t.steps or scenario.steps} {scenario.step_unit}s)"
    return Resolved(t.measure, t.variant, t.steps or scenario.steps, t.value, t.band, t.sigma, label, t.source)


def check_validation(tf: TargetsFile, scenario: Scenario, where: str) -> None:
    v = tf.validation
    overlap = sorted(set(v.seed_list) & set(tf.seed_list))
    if overlap:
        raise CxError(f"{where}: validation.seeds: {overlap[0]} is also a calibration seed; predictions must use other seeds")
    why = problem(v.measure, scenario.segment_names)
    if why:
        raise CxError(f"{where}: validation.measure: {why}")
    for i, p in enumerate(v.predict):
        _check_variant(p.variant, scenario, f"{where}: validation.predict[{i}].variant")
    for path, values in v.switches.items():
        for value in values:
            try:
                scenario.with_overrides({path: value})
            except CxError as err:
                raise CxError(f"{where}: validation.switches.{path}: {str(err).removeprefix(f'scenario {scenario.name!r}: ')}") from None


@dataclass(frozen=True)
class Declared:
    """A number of the scenario that can be fitted, with its declared range (the default prior) and unit."""

    path: str
    low: float
    high: float
    unit: str
    value: float
    whole: bool
    doc: str


def declared_parameters(scenario: Scenario) -> list[Declared]:
    """The scenario's numeric parameters with a declared range: every section's, then those of the interventions
    it switches on (the run size and switches left out)."""
    from ..state.params import field_info
    from ..views import parameter_paths

    fields = [(path, cls, field, value) for path, cls, field, value in parameter_paths(scenario)]
    for name in scenario.enabled_interventions:
        iv = scenario.interventions[name]
        fields += [(f"interventions.{name}.{f}", type(iv), f, getattr(iv, f)) for f in type(iv).model_fields if f not in ("kind", "enabled")]
    out = []
    for path, cls, field, value in fields:
        declared = _declared(scenario, path, field_info(cls, field), value)
        if declared is not None:
            out.append(declared)
    return out


def _declared(scenario: Scenario, path: str, info: dict, value: Any) -> Declared | None:
    from ..views import unit_text

    if isinstance(value, bool) or not isinstance(value, (int, float)) or info["lo"] is None or info["hi"] is None:
        return None
    if not info["lo"] < info["hi"]:
        return None
    return Declared(path, float(info["lo"]), float(info["hi"]), unit_text(info["unit"], scenario), value, isinstance(value, int), info["doc"])
