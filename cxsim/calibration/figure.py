"""One figure the calibrated model must reproduce (:class:`Target`), shared by the targets file and the targets
derived from observed counts (:mod:`cxsim.calibration.targets`, :mod:`cxsim.calibration.observed`), which both
build them; here so that neither imports the other back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Z95 = 1.959963984540054
"""A tolerance is a 95% half-width: se = tolerance / Z95."""


class Strict(BaseModel):
    """No coercion (``"0.5"`` is not a number, ``1.5`` not an integer; an integer is a valid float) and only finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Target(Strict):
    """One figure the calibrated model must reproduce."""

    measure: str
    variant: str = "baseline"
    steps: int | None = Field(None, ge=1, le=2000)
    value: float | None = None
    band: tuple[float, float] | None = None
    se: float | None = None
    tolerance: float | None = None
    label: str = ""
    source: str = ""

    @field_validator("band", mode="before")
    @classmethod
    def _pair(cls, raw: Any) -> Any:
        return tuple(raw) if isinstance(raw, list) else raw  # TOML's [low, high]

    @model_validator(mode="after")
    def _complete(self) -> "Target":
        if (self.value is None) == (self.band is None):
            raise ValueError("give exactly one of value or band = [low, high]")
        if self.band is not None and not self.band[0] <= self.band[1]:
            raise ValueError(f"band = [{self.band[0]:g}, {self.band[1]:g}] is inverted")
        if (self.se is None) == (self.tolerance is None):
            raise ValueError("give exactly one of se or tolerance")
        spread = self.se if self.se is not None else self.tolerance
        if not spread > 0:
            raise ValueError(f"{'se' if self.se is not None else 'tolerance'} = {spread:g}: must be > 0")
        return self

    @property
    def sigma(self) -> float:
        return self.se if self.se is not None else self.tolerance / Z95

    @property
    def title(self) -> str:
        return self.label or f"{self.measure} ({self.variant})"


AS_WRITTEN = "as written"
"""The variant of a target measured in the scenario exactly as given (its interventions as it sets them);
``baseline`` switches every intervention off."""
