"""Writing fitted numbers into a scenario file line by line (tomllib reads TOML but cannot write it).

Only the lines of fitted parameters change (their value, and their comment
becomes the calibration mark); a header comment is added at the top; every
other byte of the original file stays as it was.
"""

from __future__ import annotations

import re
from typing import Any

HEADER = re.compile(r"^\s*\[\s*([^\[\]#]+?)\s*\]\s*(#.*)?$")
NUMBER = r"[-+]?(?:inf|nan|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][-+]?[0-9_]+)?)"


def table_name(header: str) -> str:
    return ".".join(part.strip().strip('"').strip("'") for part in header.split("."))


def toml_number(value: Any) -> str:
    """A number as TOML: whole numbers stay integers; floats keep 4 significant digits and a decimal point."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = f"{float(value):.4g}"
    return text if any(c in text for c in ".eEn") else f"{text}.0"


def _key_line(key: str) -> re.Pattern:
    return re.compile(rf"^(\s*)({re.escape(key)}|\"{re.escape(key)}\")(\s*=\s*)({NUMBER})([ \t]*)(#.*)?$")


def set_value(lines: list[str], path: str, value: Any, mark: str) -> list[str]:
    """``lines`` with ``path`` (``table.key``) set to ``value`` and marked; added to its table if absent."""
    table, _, key = path.rpartition(".")
    pattern = _key_line(key)
    current, last_in_table, header_at = "", None, None
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if m and not line.lstrip().startswith("[["):
            current = table_name(m.group(1))
            if current == table:
                header_at = last_in_table = i
            continue
        if current != table:
            continue
        if line.strip() and not line.lstrip().startswith("#"):
            last_in_table = i
        km = pattern.match(line)
        if km:
            head = f"{km.group(1)}{km.group(2)}{km.group(3)}{toml_number(value)}"
            column = len(line) - len(km.group(6)) if km.group(6) else 0  # keep the comment's column
            lines[i] = f"{head.ljust(column - 1)} # {mark}" if len(head) < column - 1 else f"{head}  # {mark}"
            return lines
    new = f"{key} = {toml_number(value)}  # {mark}"
    if header_at is None:
        return lines + ["", f"[{table}]", new] if table else [new] + lines
    lines.insert(last_in_table + 1, new)
    return lines


def rewrite(text: str, values: dict[str, Any], mark: str, header: list[str]) -> str:
    """The scenario file ``text`` with ``values`` (dotted path → number) written in, marked, under ``header`` comments."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    for path, value in values.items():
        lines = set_value(lines, path, value, mark)
    out = [f"# {h}" if h else "#" for h in header] + lines
    return newline.join(out) + (newline if text.endswith(("\n", "\r\n")) else "")
