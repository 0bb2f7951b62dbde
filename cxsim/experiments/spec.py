"""Experiment files: a declarative, validated description of a batch of runs.

An experiment (TOML, in ``experiments/``) names a base **scenario**, fixed
overrides (``set``), **uncertainties** (population characteristics and other
parameters with ranges), **levers** (interventions and their combinations),
the **outcomes** to analyse, a sampling **design**, the number of
**replicates** and a meta-**seed**::

    name = "demo"
    scenario = "aravind"          # built-in name, a .toml path, or an inline [scenario] table
    customers = 2000
    outcomes = ["acceptance_rate", "referrals"]
    replicates = 5
    seed = 1

    [uncertainties]
    "decision.w_cost" = [1.5, 3.0]                                      # a range
    "population.segments.*.fear" = { lo = 0.5, hi = 1.5, relative = true }  # × base, every segment
    "network.kind" = { values = ["villages", "fully_mixed"] }           # levels (factorial only)

    [levers]
    interventions = ["free_transport", "free_medicine"]
    combine = ["each", "all"]     # each | all | cumulative | factorial

    [design]
    kind = "sobol"                # factorial | lhs | sobol | morris
    samples = 64

Unknown keys are errors, values are strict (no coercion) and finite, ``name`` is an
identifier, and an inline ``[scenario]`` follows the rules of a scenario file
(complete, or ``extends`` another). Every error is one line naming the field.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ..engine.scenario import load_table, looks_like_path
from ..readouts.metrics import SCALAR_OUTCOMES
from ..state.params import CxError, choices, explain, flatten, one_line_init, par, path_text, read_toml, reject_nonfinite, shorten, validating

EXPERIMENT_DIR = Path(__file__).resolve().parent / "library"
"""The built-in experiments, shipped in the package (``cxsim/experiments/library/*.toml``)."""
DesignKind = Literal["factorial", "lhs", "sobol", "morris"]
CombineRule = Literal["each", "all", "cumulative", "factorial"]
ReportKind = Literal["summary", "waterfall", "bass", "sensitivity", "ab"]
DESIGNS, COMBINE, REPORTS = get_args(DesignKind), get_args(CombineRule), get_args(ReportKind)
"""The designs, ways to combine levers and reports an experiment may name (declared once, as the types above)."""
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
"""An experiment name: letters, digits, ``_`` and ``-`` (it names the results folder)."""
_BASE: ContextVar[Path | None] = ContextVar("cxsim_experiment_folder", default=None)
"""The folder of the experiment file being read (an inline scenario's ``extends`` starts there)."""
OPTIONS = {"periods": "bass"}
"""Report settings (``[options]``), each a positive number, and the report that reads it."""


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        one_line_init(super().__init__, type(self), data)


class Uncertainty(Spec):
    """A range ``[lo, hi]`` (or discrete ``values``); ``relative`` = a multiplier of the base value."""

    lo: float | None = None
    hi: float | None = None
    values: list[Any] | None = None
    relative: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, raw: Any) -> Any:
        if isinstance(raw, (list, tuple)):
            if len(raw) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
                return {"lo": raw[0], "hi": raw[1]}
            raise ValueError("give a range as [lo, hi] (two numbers) or levels as { values = [...] }")
        return raw

    @model_validator(mode="after")
    def _check(self) -> "Uncertainty":
        if self.values is not None:
            if self.lo is not None or self.hi is not None:
                raise ValueError("give either lo/hi or values, not both")
            if not self.values:
                raise ValueError("values must not be empty")
        elif self.lo is None or self.hi is None:
            raise ValueError("needs lo and hi (or values)")
        elif not self.lo < self.hi:
            raise ValueError(f"lo = {self.lo:g} must be below hi = {self.hi:g}")
        return self

    @property
    def is_range(self) -> bool:
        return self.values is None


class Policy(Spec):
    """A named set of interventions switched on (all others off) plus overrides."""

    description: str = ""
    interventions: list[str] = Field(default_factory=list)
    set: dict[str, Any] = Field(default_factory=dict)


class Levers(Spec):
    interventions: list[str] = Field(default_factory=list, description="interventions to combine")
    combine: list[CombineRule] = Field(default_factory=lambda: ["each", "all"])
    variants: list[str] = Field(default_factory=list, description="named variants of the scenario, as policies")
    policies: dict[str, Policy] = Field(default_factory=dict)
    baseline: bool = Field(True, description="include the baseline (every intervention off)")


class Design(Spec):
    kind: DesignKind = "factorial"
    samples: int = par(64, 1, 1_000_000, "samples", "base samples (Sobol: a power of 2), LHS points or Morris trajectories")
    levels: int = par(3, 2, 1000, "levels", "levels per range (factorial) or grid levels (Morris)")
    second_order: bool = False


class ABTest(Spec):
    """Randomise customers of one population to control and treatment (the listed interventions)."""

    treatment: list[str] = Field(min_length=1)
    share: float = par(0.5, 0.01, 0.99, "fraction", "share of customers assigned to treatment")
    metrics: list[str] = Field(default_factory=lambda: ["accepted"])
    alpha: float = par(0.05, 1e-6, 0.5, "probability", "significance level")
    power: float = par(0.8, 0.01, 0.999, "probability", "power used for the sample-size helper")
    global_effect: bool = Field(True, description="also run everyone treated vs no one (the effect without spillover)")


class Experiment(Spec):
    name: str = ""
    title: str = ""
    description: str = ""
    scenario: str | dict[str, Any] = "aravind"
    customers: int | None = par(None, 10, 5_000_000, "customers", "customers per run (overrides the scenario)")
    steps: int | None = par(None, 1, 2000, "steps", "steps per run (overrides the scenario)")
    set: dict[str, Any] = Field(default_factory=dict)
    uncertainties: dict[str, Uncertainty] = Field(default_factory=dict)
    levers: Levers = Field(default_factory=Levers)
    outcomes: list[str] = Field(default_factory=lambda: ["acceptance_rate"])
    design: Design = Field(default_factory=Design)
    replicates: int = par(5, 1, 100_000, "replicates", "runs per design point and policy (seeds seed, seed+1, …)")
    seed: int = par(1, 0, 2**62, "", "meta-seed: first replicate seed and the sampling seed")
    timeseries: bool = True
    report: ReportKind = "summary"
    options: dict[str, Any] = Field(default_factory=dict, description="settings of the report (see experiments/README.md)")
    ab: ABTest | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if name and not NAME.fullmatch(name):
            raise ValueError(f"{shorten(name)} is not a name: use letters, digits, _ and - (at most 100; no paths)")
        return name

    @field_validator("scenario", mode="before")
    @classmethod
    def _complete_scenario(cls, raw: Any, info: ValidationInfo) -> Any:
        """A scenario name or path as given; an inline table made complete (``extends`` merged) and checked."""
        if isinstance(raw, str):
            if not raw:
                raise ValueError("give a built-in scenario name, a .toml path or a [scenario] table")
            return raw
        if not isinstance(raw, dict):
            raise ValueError(f"give a built-in scenario name, a .toml path or a [scenario] table, not {shorten(raw)}")
        return load_table(raw, _BASE.get() or Path.cwd(), info.data.get("name") or "inline", "scenario")

    @field_validator("options")
    @classmethod
    def _known_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        for key, value in options.items():
            if key not in OPTIONS:
                raise ValueError(f"{shorten(key)}: unknown option; options are {choices(f'{k} ({r} report)' for k, r in OPTIONS.items())}")
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1e9:
                raise ValueError(f"{key} = {shorten(value)}: must be a positive number")
        return options

    @field_validator("set", mode="before")
    @classmethod
    def _flatten_set(cls, raw: Any) -> Any:
        return flatten(raw) if isinstance(raw, dict) else raw

    @field_validator("uncertainties", mode="before")
    @classmethod
    def _flatten_uncertainties(cls, raw: Any) -> Any:
        return flatten(raw, leaf=_is_uncertainty) if isinstance(raw, dict) else raw

    @field_validator("outcomes")
    @classmethod
    def _known_outcomes(cls, names: list[str]) -> list[str]:
        for n in names:
            if n not in SCALAR_OUTCOMES:
                raise ValueError(f"unknown outcome {shorten(n)}: choose from {choices(SCALAR_OUTCOMES, 120)}")
        if not names:
            raise ValueError("name at least one outcome")
        return names

    @model_validator(mode="after")
    def _consistent(self) -> "Experiment":
        kind, ranges = self.design.kind, [k for k, u in self.uncertainties.items() if u.is_range]
        if kind != "factorial":
            if not ranges:
                raise ValueError(f"design.kind = {kind!r} needs at least one uncertainty with a range")
            levels = [k for k, u in self.uncertainties.items() if not u.is_range]
            if levels:
                raise ValueError(f"uncertainties.{levels[0]}: values (levels) only work with design.kind = 'factorial'")
        if kind == "sobol" and self.design.samples & (self.design.samples - 1):
            raise ValueError(f"design.samples = {self.design.samples}: Sobol sampling needs a power of 2 (e.g. 64, 128, 256)")
        if self.ab is not None and (self.levers.interventions or self.levers.policies or self.levers.variants):
            raise ValueError("levers: an [ab] experiment has no levers (its treatment is ab.treatment)")
        needs = {
            "sensitivity": (kind in ("sobol", "morris"), "design.kind = 'sobol' or 'morris'"),
            "bass": (self.timeseries, "timeseries = true"),
            "ab": (self.ab is not None, "an [ab] section"),
            "waterfall": (bool(self.levers.interventions), "levers.interventions"),
        }
        ok, what = needs.get(self.report, (True, ""))
        if not ok:
            raise ValueError(f"report = {self.report!r} needs {what}")
        return self


def _is_uncertainty(v: Any) -> bool:
    return not isinstance(v, dict) or bool({"lo", "hi", "values", "relative"} & set(v))


def find_experiment(name_or_path: str | Path) -> Path:
    """A path as given, or ``NAME`` looked up as ``experiments/NAME.toml`` in the current folder, then among the built-in ones."""
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path):
        raise CxError(f"experiment {shorten(name_or_path)}: give a .toml path or a name from experiments/")
    path = Path(path_text(name_or_path, "experiment"))
    if looks_like_path(name_or_path):
        return path
    for folder in (Path.cwd() / "experiments", EXPERIMENT_DIR):
        if (folder / f"{path}.toml").is_file():
            return folder / f"{path}.toml"
    raise CxError(f"unknown experiment {shorten(str(name_or_path))}: give a .toml path or one of {choices(list_experiments(), 100)}")


def list_experiments() -> list[str]:
    return sorted(p.stem for p in EXPERIMENT_DIR.glob("*.toml"))


def parse_experiment(raw: dict[str, Any], where: str = "experiment", base: Path | None = None) -> Experiment:
    """Validate a mapping into an Experiment, or raise CxError with one line.

    ``base`` is the folder an inline scenario's relative ``extends`` starts from (default: the working folder).
    """
    if not isinstance(raw, dict):
        raise CxError(f"{where}: an experiment is a table of settings, not {shorten(raw)}")
    reject_nonfinite(raw, where)
    token = _BASE.set(base)
    try:
        with validating():
            return Experiment.model_validate(raw)
    except ValidationError as err:
        raise CxError(explain(err, Experiment, where)) from None
    finally:
        _BASE.reset(token)


def one_line(err: ValidationError, root: type[BaseModel], where: str) -> str:
    """The one-line message of a validation error (see :func:`cxsim.state.params.explain`)."""
    return explain(err, root, where)


def load_experiment(name_or_path: str | Path) -> tuple[Experiment, Path]:
    """The validated experiment and its file (relative scenario paths resolve against it)."""
    path = find_experiment(name_or_path)
    raw = read_toml(path, "experiment file")
    if not raw:  # an empty file would run the defaults (Aravind, five replicates) without having asked for anything
        raise CxError(f"experiment file {shorten(str(path), 80)} declares nothing: give at least scenario = \"NAME\" and what to vary")
    raw.setdefault("name", path.stem)
    return parse_experiment(raw, where=path.name, base=path.parent), path
