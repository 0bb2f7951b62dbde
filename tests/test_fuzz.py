"""Fuzzing the input contract with Hypothesis.

Every built-in scenario file and every experiment file is mutated — truncated at every section
boundary and at random points, keys deleted, values replaced by wrong types, out-of-range and
non-finite values, unknown keys inserted at every level, segment shares that no longer add up —
and the scenario API gets random values. Each example must end in success or in one ``CxError``
line of at most ``MAX_LINE`` characters, within ``TIME_BOUND`` seconds; never another exception,
never success on an empty file or on a file that lost a section a scenario needs.

The default Hypothesis profile runs a few hundred examples per target; ``CXSIM_FUZZ=slow`` (see
tests/conftest.py) runs thousands, and so do the ``@pytest.mark.slow`` twins (``pytest -m slow``).
A case Hypothesis finds goes into tests/fuzz_corpus/ (see its README) and is replayed by
:func:`test_the_regression_corpus_replays`.
"""

from __future__ import annotations

import json
import math
import re
import signal
import tomllib
import io
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxsim
from cxsim.engine.scenario import MAY_BE_EMPTY, REQUIRED_SECTIONS, SCENARIO_DIR, SHARE_TOLERANCE
from cxsim.experiments import load_experiment, make_plan
from cxsim.experiments.spec import EXPERIMENT_DIR
from cxsim.optimisation.spec import OPTIMISATION_DIR
from cxsim.state.params import MAX_LINE, CxError, field_info

TIME_BOUND = 20.0
"""Seconds one example may take (validation takes milliseconds; this catches a hang)."""
SLOW = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CORPUS = Path(__file__).parent / "fuzz_corpus"
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.toml"))
EXPERIMENT_FILES = sorted(EXPERIMENT_DIR.glob("*.toml"))
PATHS_CLI = ["decision.w_fear", "journey.reconsider", "network.kind", "costs.medicine", "steps", "story.title", "population.segments"]


class Hang(Exception):
    """An example took longer than TIME_BOUND."""


@contextmanager
def time_bound(seconds: float = TIME_BOUND):
    def fire(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def outcome(fn: Callable[..., Any], *args: Any) -> str | None:
    """None if ``fn(*args)`` succeeds, else its one-line CxError message; any other exception fails the test."""
    with time_bound():
        try:
            fn(*args)
        except CxError as err:
            msg = str(err)
            assert msg and "\n" not in msg and len(msg) <= MAX_LINE, repr(msg)
            return msg
    return None


# -- a file as lines, and mutations of it -------------------------------------------------------------
NUMBER = re.compile(r"^(\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\")\s*=\s*)(-?[0-9][0-9_.eE+-]*)(\s*(?:#.*)?)$")
HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
KEY = re.compile(r"^\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
WRONG_TYPES = ['true', '"0.5"', '"yes"', "[1]", "{ a = 1 }", "1979-05-27", '""']
OUT_OF_RANGE = ["-1e12", "1e13"]
NON_FINITE = ["nan", "inf", "-inf", "+inf", "-nan"]


@dataclass(frozen=True)
class Doc:
    """A TOML file's lines, with the lines outside multi-line strings classified."""

    lines: tuple[str, ...]
    headers: tuple[int, ...]
    numbers: tuple[int, ...]
    keys: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> "Doc":
        lines = tuple(text.splitlines(keepends=True))
        headers, numbers, keys, in_string = [], [], [], False
        for i, line in enumerate(lines):
            if not in_string:
                if HEADER.match(line):
                    headers.append(i)
                elif NUMBER.match(line.rstrip("\n")):
                    numbers.append(i)
                    keys.append(i)
                elif KEY.match(line) and '"""' not in line:
                    keys.append(i)
            if line.count('"""') % 2:
                in_string = not in_string
        return cls(lines, tuple(headers), tuple(numbers), tuple(keys))

    def text(self) -> str:
        return "".join(self.lines)

    def replace_value(self, i: int, value: str) -> str:
        m = NUMBER.match(self.lines[i].rstrip("\n"))
        return self._with(i, f"{m.group(1)}{value}{m.group(3)}\n")

    def _with(self, i: int, line: str) -> str:
        return "".join(self.lines[:i]) + line + "".join(self.lines[i + 1:])

    def without(self, i: int) -> str:
        return self._with(i, "")

    def insert_after(self, i: int, line: str) -> str:
        return "".join(self.lines[: i + 1]) + line + "".join(self.lines[i + 1:])


@dataclass(frozen=True)
class Mutation:
    kind: str
    text: str
    must_fail: bool  # the mutated file is wrong whatever else it says


def mutations(text: str) -> st.SearchStrategy[Mutation]:
    """Every kind of damage to one file, each with whether it must be refused."""
    doc = Doc.of(text)
    n = len(doc.lines)
    boundary = st.sampled_from([*doc.headers, n]).flatmap(
        lambda i: st.sampled_from([Mutation("cut before a header", "".join(doc.lines[:i]), False),
                                   Mutation("cut after a header", "".join(doc.lines[: i + 1]), False)]))
    anywhere = st.integers(0, len(text)).map(lambda k: Mutation("cut anywhere", text[:k], False))
    options = [boundary, anywhere, st.just(Mutation("empty", "", True)), st.just(Mutation("blank", "\n  \n# nothing\n", True))]
    if doc.keys:
        options.append(st.sampled_from(doc.keys).map(lambda i: Mutation("delete a key", doc.without(i), False)))
    if doc.numbers:
        pick = st.sampled_from(doc.numbers)
        options += [
            st.tuples(pick, st.sampled_from(WRONG_TYPES)).map(lambda a: Mutation("wrong type", doc.replace_value(*a), True)),
            st.tuples(pick, st.sampled_from(OUT_OF_RANGE)).map(lambda a: Mutation("out of range", doc.replace_value(*a), True)),
            st.tuples(pick, st.sampled_from(NON_FINITE)).map(lambda a: Mutation("not finite", doc.replace_value(*a), True)),
            st.tuples(pick, st.floats(-1e6, 1e6, allow_nan=False)).map(lambda a: Mutation("another number", doc.replace_value(a[0], repr(a[1])), False)),
        ]
    shares = [i for i in doc.numbers if re.match(r"\s*share\s*=", doc.lines[i])]
    if shares:
        delta = st.floats(1e-5, 0.5) | st.floats(-0.5, -1e-5)
        options.append(st.tuples(st.sampled_from(shares), delta).map(lambda a: shares_off(doc, *a)))
    unknown = st.sampled_from([-1, *doc.headers]).map(lambda i: Mutation("unknown key", doc.insert_after(i, "zz_unknown_key = 1\n") if i >= 0 else "zz_unknown_key = 1\n" + text, True))
    options.append(unknown)
    return st.one_of(options)


def shares_off(doc: Doc, i: int, delta: float) -> Mutation:
    """Line ``i``'s share moved by ``delta``: must fail only if the shares no longer add up to 1.

    Two such moves in a row can cancel (issue 25: auto_lease's single share 1.0 moved by +d and
    then by −d is 1.0 again, and rightly accepted), so the rule is read off the result, not the kind."""
    text = doc.replace_value(i, repr(float(NUMBER.match(doc.lines[i].rstrip("\n")).group(2)) + delta))
    return Mutation("shares off", text, shares_do_not_add_up(text))


def shares_do_not_add_up(text: str) -> bool:
    try:
        segments = tomllib.loads(text).get("population", {}).get("segments", {})
        total = math.fsum(seg["share"] for seg in segments.values() if isinstance(seg, dict) and "share" in seg)
    except (tomllib.TOMLDecodeError, AttributeError, TypeError):
        return True
    return abs(total - 1.0) > 10 * SHARE_TOLERANCE  # clearly off (at the tolerance itself, either answer is right)


def twice(text: str) -> st.SearchStrategy[Mutation]:
    """One mutation, or two in a row (the second on the first's result)."""
    one = mutations(text)
    # the second may undo the first (cut or delete the damaged line): only its own damage must be refused
    return one | one.flatmap(lambda m: mutations(m.text).map(lambda m2: Mutation(f"{m.kind}, then {m2.kind}", m2.text, m2.must_fail)))


def incomplete(text: str) -> bool:
    """A scenario file that lost what every scenario must declare (or cannot be read at all)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return True
    return incomplete_table(raw)


def incomplete_table(raw: dict[str, Any]) -> bool:
    if "extends" not in raw:
        for section in REQUIRED_SECTIONS:
            node: Any = raw
            for key in section.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                return True
    return _has_empty_table(raw)


def _has_empty_table(raw: dict[str, Any], path: str = "") -> bool:
    for key, value in raw.items():
        here = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            if (not value and here not in MAY_BE_EMPTY and not here.endswith(".set")) or _has_empty_table(value, here):
                return True
    return False


# -- targets ------------------------------------------------------------------------------------------
def check_scenario_text(tmp: Path, source: Path, m: Mutation) -> None:
    path = tmp / source.name
    path.write_text(m.text, encoding="utf-8")
    msg = outcome(cxsim.load_scenario, path)
    if m.must_fail or incomplete(m.text):
        assert msg is not None, f"{source.name}: {m.kind}: accepted"


def validate_experiment(path: Path) -> None:
    make_plan(*load_experiment(path))


def check_experiment_text(tmp: Path, source: Path, m: Mutation) -> None:
    path = tmp / source.name
    path.write_text(m.text, encoding="utf-8")
    msg = outcome(validate_experiment, path)
    if m.kind in ("unknown key", "wrong type", "out of range", "not finite", "empty", "blank"):
        assert msg is not None, f"{source.name}: {m.kind}: accepted"
    try:
        inline = tomllib.loads(m.text).get("scenario")
    except tomllib.TOMLDecodeError:
        inline = None
    if isinstance(inline, dict) and incomplete_table(inline):
        assert msg is not None, f"{source.name}: {m.kind}: an incomplete inline scenario was accepted"


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


scenario_cases = st.sampled_from(SCENARIO_FILES).flatmap(lambda p: st.tuples(st.just(p), twice(p.read_text(encoding="utf-8"))))
experiment_cases = st.sampled_from(EXPERIMENT_FILES).flatmap(lambda p: st.tuples(st.just(p), twice(p.read_text(encoding="utf-8"))))


@given(scenario_cases)
def test_mutated_scenario_files_give_success_or_one_line(fuzz_dir, case):
    check_scenario_text(fuzz_dir, *case)


@pytest.mark.slow
@SLOW
@given(scenario_cases)
def test_mutated_scenario_files_many(fuzz_dir, case):
    check_scenario_text(fuzz_dir, *case)


@pytest.mark.parametrize("source", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_section_boundary_cut_of_every_scenario_file(fuzz_dir, source):
    """Exhaustive, not sampled: a cut before each header, and right after it."""
    doc = Doc.of(source.read_text(encoding="utf-8"))
    refused = 0
    for i in [*doc.headers, len(doc.lines)]:
        for k in (i, i + 1):
            text = "".join(doc.lines[:k])
            check_scenario_text(fuzz_dir, source, Mutation("cut", text, False))  # refused if incomplete(text)
            refused += incomplete(text)
    assert refused >= len(doc.headers)  # most cuts lose a section or leave an empty table


@given(experiment_cases)
@settings(max_examples=200)
def test_mutated_experiment_files_give_success_or_one_line(fuzz_dir, case):
    check_experiment_text(fuzz_dir, *case)


@pytest.mark.slow
@SLOW
@given(experiment_cases)
def test_mutated_experiment_files_many(fuzz_dir, case):
    check_experiment_text(fuzz_dir, *case)


# -- calibration targets and optimisation files (issue 25: the newer surfaces join the fuzzing) ---------
TARGET_FILES = sorted((Path(__file__).parent.parent / "calibration").glob("*.toml"))
SEARCH_FILES = sorted(OPTIMISATION_DIR.glob("*.toml"))


@cache
def list_valued_fields() -> frozenset[str]:
    """Fields of a targets file declared to take a list as well as a number (``seeds``: a count or the seeds
    themselves): a list is a valid value there, not a wrong type."""
    from cxsim.calibration.targets import TargetsFile

    return frozenset(name for name, f in TargetsFile.model_fields.items() if "list[int]" in str(f.annotation))


def gives_a_list_where_one_is_valid(before: str, after: str) -> bool:
    """The first line a mutation changed sets a list-valued field (:func:`list_valued_fields`) to a list."""
    line = next((b for a, b in zip(before.splitlines(), after.splitlines()) if a != b), "")
    key, _, value = line.partition("=")
    return key.strip() in list_valued_fields() and value.split("#")[0].strip().startswith("[")


def check_spec_text(tmp: Path, source: Path, m: Mutation, load: Callable[[Path], Any]) -> None:
    path = tmp / source.name
    path.write_text(m.text, encoding="utf-8")
    msg = outcome(load, path)
    a_valid_list = m.kind == "wrong type" and gives_a_list_where_one_is_valid(source.read_text(encoding="utf-8"), m.text)
    if m.kind in ("unknown key", "wrong type", "not finite", "empty", "blank") and not a_valid_list:
        assert msg is not None, f"{source.name}: {m.kind}: accepted"


def load_targets(path: Path) -> None:
    from cxsim.calibration.targets import load

    load(path, ARAVIND_SC)


def load_search(path: Path) -> None:
    from cxsim.optimisation.spec import load

    load(path, cxsim.load_scenario(path.stem))  # each ready-made file is named after its scenario


ARAVIND_SC = cxsim.load_scenario("aravind")
target_cases = st.sampled_from(TARGET_FILES).flatmap(lambda p: st.tuples(st.just(p), twice(p.read_text(encoding="utf-8"))))
search_cases = st.sampled_from(SEARCH_FILES).flatmap(lambda p: st.tuples(st.just(p), twice(p.read_text(encoding="utf-8"))))


@given(target_cases)
@settings(max_examples=100)
def test_mutated_targets_files_give_success_or_one_line(fuzz_dir, case):
    check_spec_text(fuzz_dir, *case, load_targets)


@given(search_cases)
@settings(max_examples=100)
def test_mutated_optimisation_files_give_success_or_one_line(fuzz_dir, case):
    check_spec_text(fuzz_dir, *case, load_search)


@pytest.mark.slow
@SLOW
@given(target_cases)
def test_mutated_targets_files_many(fuzz_dir, case):
    check_spec_text(fuzz_dir, *case, load_targets)


@pytest.mark.slow
@SLOW
@given(search_cases)
def test_mutated_optimisation_files_many(fuzz_dir, case):
    check_spec_text(fuzz_dir, *case, load_search)


@given(st.sampled_from(SCENARIO_FILES), st.sampled_from(["population.customers", "steps"]), set_texts_early := (
    st.sampled_from(["0", "-1", "1e400", '"10"', "nan", "2", "2.0", "9" * 5000]) | st.text(max_size=8)),
    st.booleans(), st.booleans())
@settings(max_examples=40)
def test_set_and_size_flags_together(fuzz_dir, source, path, text, customers_flag, steps_flag):
    """`--set` of a size with or without `--customers`/`--steps`: exit 0 only when what was set is valid and given once."""
    from cxsim.cli import main

    argv = ["run", str(source), "--set", f"{path}={text}"]
    argv += ["--customers", "100"] if customers_flag else ([] if path == "population.customers" else ["--set", "population.customers=100"])
    argv += ["--steps", "2"] if steps_flag else ([] if path == "steps" else ["--set", "steps=2"])
    out, err = io.StringIO(), io.StringIO()
    with time_bound(), redirect_stdout(out), redirect_stderr(err):
        rc = main(argv)
    err = err.getvalue()
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith("cxsim: error: "), err
    twice_given = (path == "population.customers" and customers_flag) or (path == "steps" and steps_flag)
    if twice_given:
        assert rc == 2, f"{path} given twice: exit 0"
    if rc == 0:
        value = json.loads(text)
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 1, f"{path}={text!r}: exit 0"


# -- the command line, end to end ---------------------------------------------------------------------
def check_cli(tmp: Path, source: Path, m: Mutation, set_path: str, set_text: str) -> None:
    from cxsim.cli import main

    path = tmp / source.name
    path.write_text(m.text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with time_bound(), redirect_stdout(out), redirect_stderr(err):
        rc = main(["run", str(path), "--customers", "100", "--steps", "2", "--set", f"{set_path}={set_text}"])
    err = err.getvalue()
    assert rc in (0, 2), rc
    if rc == 2:
        assert err.count("\n") == 1 and err.startswith("cxsim: error: ") and len(err) <= MAX_LINE + 16, err
    else:
        assert "error" not in err and "Traceback" not in err, err  # progress lines only
        assert not (m.must_fail or incomplete(m.text)), f"{source.name}: {m.kind}: exit 0"


set_texts = st.sampled_from(["0.5", "2", "true", '"yes"', "nan", "1e400", "[1]", "{}", "villages", "-1", "5000.0"]) | st.text(max_size=12)


@given(st.sampled_from(SCENARIO_FILES).flatmap(lambda p: st.tuples(st.just(p), mutations(p.read_text(encoding="utf-8")))),
       st.sampled_from(PATHS_CLI), set_texts)
@settings(max_examples=25)
def test_the_cli_exits_0_or_2_with_one_line(fuzz_dir, case, set_path, set_text):
    """`cxsim run FILE --set PATH=TEXT` on damaged files: exit 0 (a tiny run) or 2 with one line, never a traceback."""
    check_cli(fuzz_dir, *case, set_path, set_text)


# -- the API ----------------------------------------------------------------------------------------------
ARAVIND = cxsim.load_scenario("aravind")


def _paths(data: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}{key}"
            out.append(path)
            out += _paths(value, f"{path}.")
    return out


PATHS = _paths(ARAVIND.model_dump())
scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=30)
           | st.sampled_from(["villages", "fully_mixed", "service", "worst", "0.5", "yes", ""])
           | st.floats(width=32).map(np.float32) | st.integers(-1000, 10**6).map(np.int64))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner) | st.dictionaries(st.text(max_size=8) | st.sampled_from(PATHS), inner, max_size=3), max_leaves=8)
paths = st.sampled_from(PATHS) | st.text(max_size=30) | st.sampled_from(PATHS).map(lambda p: p + ".x") | st.integers()
overrides = st.dictionaries(paths, values, max_size=3)


def _get(data: Any, path: str) -> Any:
    for key in path.split("."):
        data = data[key]
    return data


def check_overrides(changes: dict) -> None:
    msg = outcome(ARAVIND.with_overrides, changes)
    nonfinite = [v for v in changes.values() if isinstance(v, (float, np.floating)) and not math.isfinite(v)]
    if nonfinite:
        assert msg is not None, f"accepted {nonfinite}"
    if msg is None:
        result = ARAVIND.with_overrides(changes).model_dump()
        for path, value in changes.items():
            got = _get(result, path)
            if isinstance(value, (bool, int, float, str, np.generic)) and not isinstance(got, dict):
                plain = value.item() if isinstance(value, np.generic) else value
                assert got == plain and isinstance(got, bool) == isinstance(plain, bool), (path, value, got)  # no coercion


@given(overrides)
def test_random_api_values_give_success_or_one_line(changes):
    check_overrides(changes)


@pytest.mark.slow
@SLOW
@given(overrides)
def test_random_api_values_many(changes):
    check_overrides(changes)


def _numeric_fields() -> list[tuple[str, float, float, bool]]:
    """Every bounded number of the Aravind scenario: path, lower and upper bound, integer or not."""
    from cxsim.engine.scenario import Scenario
    from cxsim.state.params import _owner_of

    out = []
    for path in PATHS:
        value = _get(ARAVIND.model_dump(), path)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            owner = _owner_of(Scenario, tuple(path.split(".")))
            if path.startswith("interventions."):
                owner = type(ARAVIND.interventions[path.split(".")[1]])
            info = field_info(owner, path.split(".")[-1]) if owner is not None and path.split(".")[-1] in owner.model_fields else None
            if info and info["lo"] is not None and info["hi"] is not None:
                out.append((path, float(info["lo"]), float(info["hi"]), isinstance(value, int)))
    return out


NUMBERS = _numeric_fields()


@st.composite
def valid_change(draw) -> dict:
    path, lo, hi, integer = draw(st.sampled_from([f for f in NUMBERS if not f[0].endswith("share") and "customers" not in f[0]]))
    value = draw(st.integers(int(lo), int(min(hi, lo + 1000)))) if integer else draw(st.floats(lo, hi))
    return {path: value}


@given(valid_change())
@settings(max_examples=12)
def test_a_few_tiny_runs_with_random_valid_values(change):
    """Any value inside its declared range runs (a tiny population, a few steps)."""
    msg = outcome(ARAVIND.with_overrides, change)
    if msg is None:
        sc = ARAVIND.with_overrides({**change, "population.customers": 200, "steps": min(ARAVIND.steps, 4)})
        with time_bound():
            res = cxsim.run(sc, seed=1)
        rate = res.summary["acceptance_rate"]  # None when nobody was offered (e.g. journey.outreach = 0)
        assert rate is None if res.summary["offered"] == 0 else 0 <= rate <= 1, (rate, res.summary["offered"])


# -- regression corpus -----------------------------------------------------------------------------------------
def corpus_cases() -> list[Path]:
    return sorted(CORPUS.glob("*.toml"))


def expectation(path: Path) -> str:
    """The first line of a corpus file: ``# expect: ok`` or ``# expect: <text in the error>``."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ok' or '# expect: <error text>'"
    return first.removeprefix("# expect: ").strip()


@pytest.mark.parametrize("path", corpus_cases(), ids=lambda p: p.name)
def test_the_regression_corpus_replays(path):
    load = validate_experiment if path.name.startswith("experiment") else cxsim.load_scenario
    msg = outcome(load, path)
    want = expectation(path)
    if want == "ok":
        assert msg is None, msg
    else:
        assert msg is not None and want in msg, msg


@pytest.mark.parametrize("case", json.loads((CORPUS / "overrides.json").read_text()), ids=lambda c: c["why"][:40])
def test_the_override_corpus_replays(case):
    msg = outcome(ARAVIND.with_overrides, {case["path"]: case["value"]})
    assert (msg is None) if case["expect"] == "ok" else (msg is not None and case["expect"] in msg), msg


def test_a_list_of_seeds_is_not_a_wrong_type_but_a_list_elsewhere_is(fuzz_dir):
    """Found by the slow profile: ``seeds = [1]`` in a targets file names the seeds (valid), so the
    wrong-type mutation must not expect an error there; ``customers = [1]`` still gives one line."""
    source = Path(__file__).parent.parent / "calibration" / "aravind_baseline.toml"
    doc = Doc.of(source.read_text(encoding="utf-8"))
    seeds_line = next(i for i, line in enumerate(doc.lines) if line.startswith("seeds ="))
    customers_line = next(i for i, line in enumerate(doc.lines) if line.startswith("customers ="))
    check_spec_text(fuzz_dir, source, Mutation("wrong type", doc.replace_value(seeds_line, "[1]"), True), load_targets)
    with pytest.raises(AssertionError, match="wrong type: accepted"):
        check_spec_text(fuzz_dir, source, Mutation("wrong type", doc.replace_value(seeds_line, "[1]").replace("= [1]", "= 8"), True), load_targets)
    path = fuzz_dir / source.name
    path.write_text(doc.replace_value(customers_line, "[1]"), encoding="utf-8")
    assert "customers = [1]" in outcome(load_targets, path)
