"""Declaring parameters once: defaults, units, ranges; and one-line errors.

Every tunable number in cxsim is declared with :func:`par` on a pydantic model,
which gives it a default, a unit, an allowed range and a description. The
explorer builds its widgets from these declarations, the CLI validates ``--set``
against them, and :func:`explain` turns a validation failure into one line that
names the field and its allowed range.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class CxError(ValueError):
    """Bad input from a user: printed as one line, never as a traceback."""


class Params(BaseModel):
    """Base for parameter groups: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def par(default: Any, lo: float | None = None, hi: float | None = None, unit: str = "", doc: str = "", source: str = ""):
    """A parameter with a default, an allowed range [lo, hi], a unit and a description."""
    extra = {"unit": unit}
    if source:
        extra["source"] = source
    return Field(default, ge=lo, le=hi, description=doc, json_schema_extra=extra)


def field_info(model_cls: type[BaseModel], name: str) -> dict[str, Any]:
    """Default, range, unit and description of one declared parameter."""
    info = model_cls.model_fields[name]
    lo = hi = None
    for meta in info.metadata:
        lo = getattr(meta, "ge", lo)
        hi = getattr(meta, "le", hi)
    extra = info.json_schema_extra or {}
    return {
        "name": name,
        "default": info.default,
        "lo": lo,
        "hi": hi,
        "unit": extra.get("unit", ""),
        "source": extra.get("source", ""),
        "doc": info.description or "",
        "type": info.annotation,
    }


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _range_text(model_cls: type[BaseModel] | None, name: str) -> str:
    if model_cls is None or name not in getattr(model_cls, "model_fields", {}):
        return ""
    info = field_info(model_cls, name)
    if info["lo"] is None and info["hi"] is None:
        return ""
    lo = "-inf" if info["lo"] is None else _num(info["lo"])
    hi = "inf" if info["hi"] is None else _num(info["hi"])
    unit = f" {info['unit']}" if info["unit"] else ""
    return f" (allowed {lo} to {hi}{unit})"


def _owner_of(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that declares the last field of ``loc``."""
    cls: Any = root
    for part in loc[:-1]:
        fields = getattr(cls, "model_fields", None)
        if fields is None:
            return None
        if part in fields:
            ann = fields[part].annotation
            args = getattr(ann, "__args__", ())
            cls = args[-1] if args else ann
        # dict keys (segment or touchpoint names) keep the value type
    return cls if hasattr(cls, "model_fields") else None


def explain(err: ValidationError, root: type[BaseModel], where: str = "") -> str:
    """One line naming the first bad field, its value and its allowed range."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    path = ".".join(str(p) for p in loc) or "(top level)"
    prefix = f"{where}: " if where else ""
    if first["type"] == "extra_forbidden":
        return f"{prefix}{path}: unknown field"
    if first["type"] == "missing":
        return f"{prefix}{path}: required field is missing"
    value = first.get("input")
    rng = _range_text(_owner_of(root, loc), str(loc[-1])) if loc else ""
    msg = first["msg"].rstrip(".")
    return f"{prefix}{path} = {value!r}: {msg}{rng}"
