"""Declaring parameters once: defaults, units, ranges; and one-line errors.

Every tunable number in cxsim is declared with :func:`par` on a pydantic model,
which gives it a default, a unit, an allowed range and a description. The
explorer builds its widgets from these declarations, the CLI validates ``--set``
against them, and :func:`explain` turns a validation failure into one line that
names the field and its allowed range.
"""

from __future__ import annotations

import math
import re
import tomllib
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


MAX_LINE = 200
"""Longest error message, in characters (a message is always one line)."""


class CxError(ValueError):
    """Bad input from a user: printed as one line, never as a traceback.

    The message is folded onto one line and cut to :data:`MAX_LINE` characters, so
    no input can make an error dump a whole table; messages are written to fit.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(message))


LONG_PATH = re.compile(r"(?<![\w.])/[^\s'\"]*/([^/\s'\"]+/[^/\s'\"]+)")
"""An absolute path of three or more parts; :func:`one_line` keeps its last two."""


def one_line(message: object, width: int = MAX_LINE) -> str:
    """``message`` as one line of at most ``width`` characters: long absolute paths lose their leading folders first
    (``…/runs/x.parquet``), so what went wrong and how to finish survive; then the tail is cut with …."""
    text = " ".join(str(message).split())
    for path in reversed(list(LONG_PATH.finditer(text))):  # the last paths first: the first usually names the input
        if len(text) <= width:
            break
        text = text[: path.start()] + "…/" + path.group(1) + text[path.end():]
    return text if len(text) <= width else text[: width - 1] + "…"


class Params(BaseModel):
    """Base for parameter groups: unknown keys are errors, values are immutable.

    Values are strict (no coercion: ``true`` or ``"0.5"`` is not a number, ``1.0`` is
    not an integer; an integer is a valid float) and finite (no NaN or infinity).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True, allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        one_line_init(super().__init__, type(self), data)

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        """Text fields (titles, stories, descriptions) hold no control characters: they are printed on terminals
        (an ESC starts a terminal command, BEL rings) and written to files. Line breaks and tabs are text."""
        if isinstance(value, str):
            check_printable(value)
        return value


CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters other than tab, line feed and carriage return (C0, DEL and C1: ESC, BEL, NUL, CSI, …)."""


def check_printable(text: str) -> str:
    """``text`` unchanged, or ValueError naming its first control character (for validators)."""
    found = CONTROL.search(text)
    if found:
        raise ValueError(f"control character {found.group()!r} at position {found.start()}: text may hold no control "
                         "characters (such as ESC, BEL or NUL) other than line breaks and tabs")
    return text


_NESTED: ContextVar[bool] = ContextVar("cxsim_validating", default=False)


def one_line_init(init: Callable[..., None], cls: type[BaseModel], data: dict[str, Any]) -> None:
    """A model constructed directly from Python raises CxError (one line), like one read from a file.

    Inside a validation already under way (nested models, or :func:`validating`), pydantic's
    own error is left to the caller, which reports it with the full field path.
    """
    if _NESTED.get():
        init(**data)
        return
    token = _NESTED.set(True)
    try:
        init(**data)
    except ValidationError as err:
        raise CxError(explain(err, cls, cls.__name__)) from None
    finally:
        _NESTED.reset(token)


@contextmanager
def validating():
    """Validate inside this block to get pydantic's ValidationError (and report it with context)."""
    token = _NESTED.set(True)
    try:
        yield
    finally:
        _NESTED.reset(token)


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
    if isinstance(x, int):
        return f"{x:,}"
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


# -- one-line messages ----------------------------------------------------------------
def shorten(value: Any, width: int = 40) -> str:
    """``repr(value)`` cut to ``width`` characters with an ellipsis (never a whole table)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def choices(names: Any, width: int = 90) -> str:
    """Names joined by commas, as many as fit in ``width`` characters, then how many more."""
    names = [str(n) for n in names]
    if not names:
        return "(none)"
    out: list[str] = []
    for k, name in enumerate(names):
        rest = len(names) - k - 1
        tail = f", … ({rest} more)" if rest else ""
        if out and len(", ".join([*out, name])) + len(tail) > width:
            return ", ".join(out) + f", … ({len(names) - k} more)"
        out.append(shorten(name, 40).strip("'\""))
    return ", ".join(out)


def first_nonfinite(value: Any, path: str = "") -> tuple[str, float] | None:
    """The first NaN or infinity inside nested mappings and lists: its dotted path and value."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = first_nonfinite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def reject_nonfinite(value: Any, where: str = "") -> None:
    """Raise CxError naming the first NaN or infinity anywhere in ``value``."""
    try:
        found = first_nonfinite(value)
    except RecursionError:
        raise CxError(f"{where or 'value'}: nested too deeply") from None
    if found:
        prefix = f"{where}: " if where else ""
        raise CxError(f"{prefix}{found[0] or '(value)'} = {found[1]!r}: must be a finite number")


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


def _inner_model(ann: Any) -> Any:
    """The model a field holds: itself, a dict's value type, a list's item type or an optional's type."""
    for _ in range(3):
        args = [a for a in getattr(ann, "__args__", ()) if a is not type(None)]
        if not args:
            break
        ann = args[-1]
    return ann


def _owner_of(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that declares the last field of ``loc``."""
    cls: Any = root
    for part in loc[:-1]:
        fields = getattr(cls, "model_fields", None)
        if fields is None:
            return None
        if part in fields:
            cls = _inner_model(fields[part].annotation)
        # dict keys (segment or touchpoint names) keep the value type
    return cls if hasattr(cls, "model_fields") else None


_TAG = re.compile(r"^[\w-]+\[.*\]$")


def explain(err: ValidationError, root: type[BaseModel], where: str = "", at: str = "") -> str:
    """One line naming the first bad field, its value (shortened) and its allowed range or choices.

    ``where`` names the input (a file); ``at`` is the path of ``root`` inside it.
    """
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and _TAG.match(p)))
    path = ".".join([at] * bool(at) + [shorten(p, 30).strip("'") if not isinstance(p, int) else str(p) for p in loc]) or "(top level)"
    prefix = f"{where}: " if where else ""
    kind = first["type"]
    if kind == "extra_forbidden":
        owner = _owner_of(root, loc)
        known = f"; fields here: {choices(owner.model_fields, 110)}" if owner is not None else ""
        return f"{prefix}{path}: unknown field{known}"
    if kind == "missing":
        return f"{prefix}{path}: required field is missing"
    if kind in ("value_error", "assertion_error"):
        cause = (first.get("ctx") or {}).get("error")
        msg = str(cause) if cause is not None else str(first["msg"]).removeprefix("Value error, ")
        if isinstance(cause, CxError) or path == "(top level)":
            return f"{prefix}{msg}"
        return f"{prefix}{path}: {msg}"
    rng = _range_text(_owner_of(root, loc), str(loc[-1])) if loc else ""
    msg = first["msg"].rstrip(".")
    return f"{prefix}{path} = {shorten(first.get('input'))}: {msg}{rng}"


# -- reading files ----------------------------------------------------------------------
MAX_FILE_BYTES = 10_000_000
"""Largest input file read (scenario and experiment files are a few kilobytes)."""


def path_text(ref: Any, where: str) -> str:
    """A file name as given in a file or an argument, refused in one line if the OS cannot take it
    (a NUL byte) or it holds other control characters (a terminal would act on them)."""
    text = str(ref)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise CxError(f"{where} = {shorten(text)}: a file name may not contain control characters (such as NUL)")
    return text


def find_named_file(name_or_path: str | Path, what: str, folder: str, library: Path) -> Path:
    """A path as given, or a bare name (no suffix) looked up as ``FOLDER/NAME.toml`` in the current folder,
    then among the ready-made files shipped in the package (``library``), so a name works from a wheel too."""
    path = Path(path_text(name_or_path, what))
    if path.suffix or len(path.parts) > 1:
        if not path.exists():
            raise CxError(f"{what} {shorten(str(path))!r} not found")
        return path
    for candidate in (Path(folder) / f"{path}.toml", library / f"{path}.toml"):
        if candidate.exists():
            return candidate
    known = ", ".join(sorted(p.stem for p in library.glob("*.toml"))) or "(none)"
    raise CxError(f"unknown {what} {shorten(str(name_or_path))!r}: give a .toml path or one of {known}")


def decode_toml(data: bytes, where: str) -> str:
    """The bytes of a TOML file as text, or CxError with one line (a binary file, not UTF-8)."""
    if b"\0" in data:
        raise CxError(f"{where} is a binary file, not TOML text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CxError(f"{where} is not UTF-8 text (byte {data[err.start]:#04x} at offset {err.start})") from None


def read_toml(path: Path, what: str = "file") -> dict[str, Any]:
    """A TOML file as a mapping, or CxError with one line (missing, a folder, binary, not UTF-8, bad TOML)."""
    shown = shorten(str(path), 80)
    try:
        if not path.exists():
            raise CxError(f"{what} {shown} not found")
        if path.is_dir():
            raise CxError(f"{what} {shown} is a folder, not a .toml file")
        if not path.is_file():
            raise CxError(f"{what} {shown} is not a regular file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CxError(f"{what} {shown} is larger than {MAX_FILE_BYTES:,} bytes: not a {what}")
        data = path.read_bytes()
    except OSError as err:
        raise CxError(f"{what} {shown}: cannot be read ({err.strerror or type(err).__name__})") from None
    return loads_toml(decode_toml(data, f"{what} {shown}"), path.name)


def loads_toml(text: str, where: str) -> dict[str, Any]:
    """TOML text as a mapping, or CxError with one line: bad TOML, nested too deeply, or a number
    too long for Python (more than 4,300 digits: tomllib raises a plain ValueError)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CxError(f"{where}: not valid TOML: {err}") from None
    except RecursionError:
        raise CxError(f"{where}: not valid TOML: nested too deeply") from None
    except ValueError as err:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise CxError(f"{where}: not a usable TOML file: {str(err).split(';')[0]}") from None


def flatten(raw: dict[str, Any], leaf=lambda v: not isinstance(v, dict), prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables → dotted paths (``a.b = 1`` and ``"a.b" = 1`` mean the same)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if leaf(value):
            out[path] = value
        else:
            out.update(flatten(value, leaf, f"{path}."))
    return out
