"""A scenario as a file to share, and a shared file read back (no Streamlit, no paths on a server).

* :func:`to_toml` writes a scenario as ``extends = "<built-in>"`` plus only what differs from
  that built-in scenario: a file ``cxsim run FILE`` accepts unchanged (see docs/command-line.md, "The input
  contract"). The text is read back before it is returned, so a file that would not reproduce
  the scenario is never handed out.
* :func:`read_shared` reads an uploaded file from memory with the rules of any scenario file,
  a size bound, and ``extends`` limited to a built-in name (never a path).
* :func:`override_paths` turns the difference between two scenarios into dotted-path
  overrides (what :meth:`cxsim.Scenario.with_overrides` takes).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from .engine.scenario import SCENARIO_DIR, Scenario, list_scenarios, load_scenario, scenario_table, validate_file_table
from .state.params import CxError, choices, shorten, decode_toml, loads_toml

MAX_SHARED_BYTES = 1_000_000
"""Largest scenario file read from an upload (bytes)."""

NOT_WRITTEN = ("name",)
"""Keys a shared file leaves out: the file's own name (its stem) names the scenario."""


# -- the difference between two scenarios -------------------------------------------------------
def _changes_kind(path: tuple[str, ...], old: dict, new: dict) -> bool:
    return len(path) == 2 and path[0] == "interventions" and new.get("kind", path[1]) != old.get("kind", path[1])


def changes(base: dict[str, Any], target: dict[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The tables ``target`` needs laid over ``base`` (by :func:`cxsim.engine.scenario.merge_tables`) to become it.

    Tables merge key by key, so only changed values are kept; a new entry (segment, touchpoint,
    intervention) and an intervention of another kind are kept whole. An entry ``base`` has and
    ``target`` lacks cannot be written (a file cannot remove what it extends): CxError.
    """
    missing = [k for k in base if k not in target and k not in NOT_WRITTEN]
    if missing:
        where = ".".join((*path, str(missing[0])))
        raise CxError(f"{shorten(where, 80).strip(chr(39))}: a scenario file cannot remove what it extends (give a segment share = 0, switch an intervention off)")
    out: dict[str, Any] = {}
    for key, value in target.items():
        if not path and key in NOT_WRITTEN:
            continue
        here = (*path, key)
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _changes_kind(here, old, value):
            sub = changes(old, value, here)
            if sub:
                out[key] = sub
        elif key not in base or value != old:
            out[key] = value
    return out


def override_paths(base: Scenario, target: Scenario) -> dict[str, Any]:
    """Dotted-path overrides that turn ``base`` into ``target`` (``base.with_overrides(...) == target``, the name aside).

    Changed values get their own path; a table that gained or lost entries, or whose keys
    contain dots (a variant's ``set``), is set whole.
    """
    return _paths(base.model_dump(mode="json"), target.model_dump(mode="json"), ())


def _paths(base: dict, target: dict, path: tuple[str, ...]) -> dict[str, Any]:
    if path and (set(base) != set(target) or any("." in str(k) for k in target)):
        return {".".join(path): target}
    out: dict[str, Any] = {}
    for key, value in target.items():
        here = (*path, key)
        if not path and key in NOT_WRITTEN:
            continue
        old = base[key]
        if isinstance(old, dict) and isinstance(value, dict) and not _changes_kind(here, old, value):
            out.update(_paths(old, value, here))
        elif value != old:
            out[".".join(here)] = value
    return out


# -- TOML text -----------------------------------------------------------------------------------
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: Any) -> str:
    text = str(key)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CxError(f"{where} = {value}: not a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v, where) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v, where)}" for k, v in value.items() if v is not None) + "}"
    raise CxError(f"{where} = {shorten(value)}: cannot be written to a scenario file")


def toml_text(table: dict[str, Any], header: str = "") -> str:
    """A table as TOML: values first, then one ``[section]`` per sub-table (empty tables inline)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    _emit(table, (), lines)
    return "\n".join(lines).strip() + "\n"


def _emit(table: dict[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if v is not None and not (isinstance(v, dict) and v)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict) and v}
    if path and scalars:
        lines.append("")
        lines.append("[" + ".".join(_key(k) for k in path) + "]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v, '.'.join((*path, str(k))))}")
    for k, v in tables.items():
        _emit(v, (*path, k), lines)


def to_toml(scenario: Scenario, extends: str, title: str = "") -> str:
    """``scenario`` as a file: ``extends = "<built-in>"`` and what differs from it.

    ``title`` goes into the file's opening comment. Raises CxError when the text would not
    read back as the same scenario (checked here, not hoped for).
    """
    if extends not in list_scenarios():
        raise CxError(f"extends = {shorten(extends)}: a shared scenario extends a built-in one ({choices(list_scenarios(), 80)})")
    diff = changes(load_scenario(extends).model_dump(mode="json"), scenario.model_dump(mode="json"))
    header = "\n".join(x for x in (title, f"Made by the cxsim explorer: built-in scenario {extends!r} and what changes.",
                                       "Run it with: cxsim run THIS_FILE.toml") if x)
    text = toml_text({"extends": extends, **diff}, header)
    _check_round_trip(text, scenario)
    return text


def _check_round_trip(text: str, scenario: Scenario) -> None:
    back = from_text(text, "written file")
    want, got = scenario.model_dump(mode="json"), back.model_dump(mode="json")
    want.pop("name"), got.pop("name")
    if want != got:
        raise CxError("this scenario cannot be written as a file that reproduces it (please report it)")


# -- reading a shared file -----------------------------------------------------------------------
def from_text(text: str, name: str, where: str | None = None) -> Scenario:
    """A scenario file's text (complete, or ``extends`` a built-in name) validated like any scenario file."""
    where = where or name
    raw = loads_toml(text, where)
    ref = raw.get("extends")
    if ref is not None and (not isinstance(ref, str) or ref not in list_scenarios()):
        raise CxError(f"{where}: extends = {shorten(ref)}: a shared file may extend only a built-in scenario "
                      f"({choices(list_scenarios(), 80)}), never a path")
    raw.setdefault("name", name)
    table = scenario_table(raw, SCENARIO_DIR, where)
    return validate_file_table(table, where)


def shared_name(filename: str) -> str:
    """A scenario name from an uploaded file's name: its stem, letters, digits, '_' and '-' only."""
    stem = Path(str(filename)).name.rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "shared"


def read_shared(data: bytes, filename: str) -> Scenario:
    """An uploaded scenario file, read from memory: at most :data:`MAX_SHARED_BYTES`, UTF-8 TOML,
    ``extends`` naming a built-in scenario only, then every rule of a scenario file. CxError: one line."""
    where = shorten(Path(str(filename)).name or "uploaded file", 60).strip("'")
    if len(data) > MAX_SHARED_BYTES:
        raise CxError(f"{where}: {len(data):,} bytes: a shared scenario file is at most {MAX_SHARED_BYTES:,} bytes")
    return from_text(decode_toml(data, where), shared_name(filename), where)


def extends_of(data: bytes) -> str | None:
    """The built-in scenario an uploaded file extends (None: a complete file, or unreadable)."""
    try:
        ref = tomllib.loads(data.decode("utf-8")).get("extends")
    except (ValueError, RecursionError):  # not UTF-8, not TOML, a number too long
        return None
    return ref if isinstance(ref, str) and ref in list_scenarios() else None


__all__ = ["to_toml", "from_text", "read_shared", "override_paths", "changes", "toml_text", "shared_name", "extends_of", "MAX_SHARED_BYTES"]
