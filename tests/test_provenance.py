"""Parameters with provenance: every number in a built-in scenario says where it comes from.

Every numeric value in ``cxsim/scenarios/*.toml``, and in the scenarios that
``cxsim/experiments/library/*.toml`` write inline (``[scenario…]`` tables and the ``set`` tables of
their policies), must carry a *mark* in its trailing comment, or in the comment of its
table header when the whole table shares one. In the library scenarios the mark is on the
number's own line (:data:`HEADER_MARKS_ALLOWED` lists the files that may still lean on a table
header), and every citation a source mark makes appears in docs/scenarios.md's reference list.
A mark is recognised by this grammar (:data:`MARKS`), not by the mere presence of a comment:

* ``calibrated`` — set by a calibration command, which the comment names
  (``calibrated by cxsim calibrate …``);
* ``assumption`` — the word, with a few words of why the value is plausible
  (at least :data:`WHY_WORDS` words in the comment);
* a source — ``source:`` (a named report), a seed file ``seed NNN``, or a citation
  ``Name YYYY`` / ``Name & Name YYYY`` / ``Name et al. YYYY``.

Run this file as a script for a count of marks per file:
``python tests/test_provenance.py``.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "cxsim" / "scenarios").glob("*.toml"))
EXPERIMENT_FILES = sorted((ROOT / "cxsim" / "experiments" / "library").glob("*.toml"))
assert EXPERIMENT_FILES, "no built-in experiment files found"

_NAME = r"[A-Z][A-Za-z'’\-]+"
CITATION = re.compile(rf"\b{_NAME}(?:(?:\s*(?:&|and)\s*|,\s*){_NAME})*(?:\s+et al\.?)?,?\s+\(?(?:1[89]|20)\d\d[a-z]?\)?(?![\d\w])")
SEED = re.compile(r"\bseeds? \d{3}\b")
SOURCE = re.compile(r"\bsource:", re.IGNORECASE)
ASSUMPTION = re.compile(r"\bassumption\b", re.IGNORECASE)
CALIBRATED = re.compile(r"\bcalibrated\b.*\bcxsim calibrate\b", re.IGNORECASE)
WHY_WORDS = 4
"""An assumption's comment has at least this many words (``assumption`` and a few words of why)."""

HEADER_MARKS_ALLOWED: dict[str, str] = {}
"""Scenario files whose numbers may still take their mark from a table header, and why."""

REFERENCES = ROOT / "docs" / "scenarios.md"
"""The page whose ``## References`` section every cited source must appear in, as ``**Name YYYY**``."""

MARKS = ("calibrated", "assumption", "source")
"""The kinds of mark, in the order they are recognised (the first that applies names the number)."""


def mark_of(comment: str) -> str | None:
    """The kind of mark a comment carries (see the module docstring), or None."""
    if CALIBRATED.search(comment):
        return "calibrated"
    if ASSUMPTION.search(comment) and len(re.findall(r"[^\W\d_]{2,}", comment)) >= WHY_WORDS:
        return "assumption"
    if SOURCE.search(comment) or SEED.search(comment) or CITATION.search(comment):
        return "source"
    return None


@dataclass
class Number:
    """One numeric value in a file, with the comments that may mark it."""

    file: str
    line: int
    key: str
    text: str
    comment: str  # its own line's comment
    header: str  # its table header's comment

    @property
    def mark(self) -> str | None:
        """Its own comment's mark, else its table header's; a number its own comment calls an
        assumption counts as one even when the header cites the table's source."""
        own = mark_of(self.comment)
        if own:
            return own
        shared = mark_of(self.header)
        if shared == "source" and ASSUMPTION.search(self.comment):
            return "assumption"
        return shared


# -- a small line scanner: TOML values with their comments ------------------------------------------
_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$")
_NUMBER = re.compile(r"(?<![\w.\-+])[+-]?(?:\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?|inf|nan)(?![\w.])")


def _split_comment(line: str) -> tuple[str, str, str | None]:
    """``line`` → (code with strings blanked, comment, open multi-line string delimiter or None)."""
    code, i, n = [], 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "#":
            return "".join(code), line[i + 1:].strip(), None
        if line.startswith('"""', i) or line.startswith("'''", i):
            delim = line[i:i + 3]
            end = line.find(delim, i + 3)
            if end < 0:
                return "".join(code) + '""', "", delim
            code.append('""')
            i = end + 3
            continue
        if ch in "\"'":
            j = i + 1
            while j < n and line[j] != ch:
                j += 2 if ch == '"' and line[j] == "\\" else 1
            code.append('""')
            i = j + 1
            continue
        code.append(ch)
        i += 1
    return "".join(code), "", None


def _table_path(header: str) -> list[str]:
    return [part.strip().strip('"') for part in re.findall(r'"[^"]*"|[^.]+', header)]


def scan(path: Path) -> list[Number]:
    """Every numeric value in ``path`` (TOML), with its key, line and comments."""
    numbers: list[Number] = []
    table, header_comment = [], ""
    open_string: str | None = None
    key, key_comment, depth = "", "", 0  # the key whose value continues over lines (arrays)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if open_string:
            end = line.find(open_string)
            if end < 0:
                continue
            line, open_string = " " * (end + 3) + line[end + 3:], None
        code, comment, open_string = _split_comment(line)
        if depth == 0:
            head = _HEADER.match(line) if code.strip().startswith("[") else None
            if head:
                table = _table_path(head.group(1))
                header_comment = (head.group(2) or "").lstrip("#").strip()
                continue
            if "=" not in code:
                continue
            left, value = code.split("=", 1)
            raw_key = line.split("=", 1)[0].strip()
            key, key_comment = ".".join(table + [raw_key.strip('"')]), comment
        else:
            value = code
        depth += value.count("[") + value.count("{") - value.count("]") - value.count("}")
        value = re.sub(r"[A-Za-z_][\w\-]*\s*=", "=", value)  # keys of inline tables are not values
        for m in _NUMBER.finditer(value):
            numbers.append(Number(path.name, lineno, key, m.group(0), comment or key_comment, header_comment))
    return numbers


def _is_scenario_value(path: Path, key: str) -> bool:
    """Which numbers of a file are scenario parameters (all of a scenario file; an experiment's inline scenario)."""
    if path.parent.name == "scenarios":
        return True
    parts = key.split(".")
    return parts[0] == "scenario" or "set" in parts


def scenario_numbers(path: Path) -> list[Number]:
    return [n for n in scan(path) if _is_scenario_value(path, n.key)]


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, prefix + (k,))
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v, prefix)
    else:
        yield ".".join(prefix), node


def parsed_numbers(path: Path) -> list[tuple[str, float]]:
    """The numeric values TOML itself finds in ``path`` (to check that the scanner misses none)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [(k, v) for k, v in _leaves(data)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and _is_scenario_value(path, k)]


FILES = SCENARIO_FILES + EXPERIMENT_FILES


# -- the tests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_scanner_finds_every_number_toml_finds(path):
    scanned = [float(n.text.replace("_", "")) for n in scenario_numbers(path)]
    parsed = [float(v) for _, v in parsed_numbers(path)]
    assert sorted(scanned) == sorted(parsed), path.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_number_carries_a_source_assumption_or_calibration_mark(path):
    bare = [f"{n.file}:{n.line} {n.key} = {n.text}" + (f"  # {n.comment}" if n.comment else "")
            for n in scenario_numbers(path) if n.mark is None]
    assert not bare, f"{len(bare)} numbers without a mark (source, assumption or calibrated):\n" + "\n".join(bare)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_number_claims_a_calibration_without_naming_the_command(path):
    claims = [f"{n.file}:{n.line} {n.key}" for n in scenario_numbers(path)
              for c in (n.comment, n.header) if re.search(r"\bcalibrated\b", c, re.IGNORECASE) and not CALIBRATED.search(c)
              and not ASSUMPTION.search(c)]
    assert not claims, "'calibrated' must name the calibration command (cxsim calibrate …): " + ", ".join(claims)


@pytest.mark.parametrize("comment,kind", [
    ("rupees/day; assumption: rural Tamil Nadu agricultural wage, early 1980s", "assumption"),
    ("assumption: tuned by hand to the seed's 5%/80%; to be replaced by cxsim calibrate (issue 11)", "assumption"),
    ("calibrated by cxsim calibrate aravind --target acceptance", "calibrated"),
    ("fear of surgery (seed 002: 'fear, superstition')", "source"),
    ("Thaler 1980, mental accounting", "source"),
    ("Kahneman et al. 1993", "source"),
    ("Mehta & Shenoy 2011, Infinite Vision", "source"),
    ("source: Ofcom Communications Market Report", "source"),
    ("most patients travel with a relative", None),  # a comment, not a mark
    ("assumption", None),  # no reason given
    ("calibrated: baseline ≈ 5%", None),  # a calibration that names no command
    ("early 1980s", None),  # a decade is not a citation
    ("", None),
])
def test_the_mark_grammar(comment, kind):
    assert mark_of(comment) == kind


def test_a_bare_number_is_found_with_file_line_and_key(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text('[journey]   # just a note\noutreach = 0.06  # per week\nscreening = 0.4  # assumption: camps every few months\n'
                 '[mix]\nweights = [0.5, 0.5]\nsub = { lo = 1, hi = 2 }  # Bass 1969\n', encoding="utf-8")
    found = {(n.line, n.key, n.text): n.mark for n in scan(f)}
    assert found == {(2, "journey.outreach", "0.06"): None, (3, "journey.screening", "0.4"): "assumption",
                     (5, "mix.weights", "0.5"): None, (6, "mix.sub", "1"): "source", (6, "mix.sub", "2"): "source"}


@pytest.mark.parametrize("path", [p for p in SCENARIO_FILES if p.name not in HEADER_MARKS_ALLOWED], ids=lambda p: p.name)
def test_every_scenario_number_is_marked_on_its_own_line(path):
    leaning = [f"{n.file}:{n.line} {n.key} = {n.text}" for n in scenario_numbers(path) if mark_of(n.comment) is None]
    assert not leaning, f"{len(leaning)} numbers whose mark comes from their table header only:\n" + "\n".join(leaning)


def test_the_files_allowed_header_marks_still_need_them():
    """An entry of HEADER_MARKS_ALLOWED is removed once its file marks every number on its own line."""
    for name in HEADER_MARKS_ALLOWED:
        path = ROOT / "cxsim" / "scenarios" / name
        assert any(mark_of(n.comment) is None for n in scenario_numbers(path)), f"{name}: remove it from HEADER_MARKS_ALLOWED"


def _key(citation: str) -> str:
    return " ".join(re.sub(r"[(),]", " ", citation).split())


def cited_sources(path: Path) -> list[tuple[Number, str]]:
    """Every (number, citation) of a source mark in ``path``: ``Name YYYY`` citations and ``seed NNN`` files."""
    out = []
    for n in scenario_numbers(path):
        if n.mark != "source":
            continue
        comment = n.comment if mark_of(n.comment) == "source" else n.header
        out += [(n, m.group(0)) for m in (*CITATION.finditer(comment), *SEED.finditer(comment))]
    return out


def reference_keys() -> set[str]:
    text = REFERENCES.read_text(encoding="utf-8")
    assert "## References" in text, "docs/scenarios.md has no ## References section"
    return {_key(k) for k in re.findall(r"^[-*] \*\*(.+?)\*\*", text.split("## References", 1)[1], flags=re.M)}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_cited_source_is_in_the_reference_list(path):
    known = reference_keys()
    missing = sorted({f"{n.file}:{n.line} {n.key}: {c}" for n, c in cited_sources(path) if _key(c) not in known})
    assert not missing, "citations missing from docs/scenarios.md's reference list:\n" + "\n".join(missing)


def marks_by_file() -> dict[str, Counter]:
    """How many numbers of each file carry each kind of mark (None: bare)."""
    return {f"{p.parent.name}/{p.name}": Counter(n.mark for n in scenario_numbers(p)) for p in FILES}


if __name__ == "__main__":
    total = Counter()
    for name, counts in marks_by_file().items():
        total += counts
        print(f"{name:40s} " + "  ".join(f"{k or 'bare'} {counts[k]}" for k in (*MARKS, None)))
    print(f"{'total':40s} " + "  ".join(f"{k or 'bare'} {total[k]}" for k in (*MARKS, None)))
