"""The documentation site builds with `mkdocs build --strict`, its API reference comes from the docstrings,
and every shell command in README.md and the docs goes through ./cx (so it runs as typed on a fresh machine)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "experiments" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # mkdocs 1.6 logs a link to a folder outside the docs (e.g. ../cxsim/experiments/library/) at INFO whatever
    # mkdocs.yml says: a broken link is fatal here instead (issue 25)
    broken = [line for line in done.stderr.splitlines() if re.search(r"unrecognized relative link|is not found among documentation files|anchor", line)]
    assert not broken, broken
    return out


def test_every_page_is_built(site):
    for page in ("index", "getting-started/index", "explorer/index", "scenarios/index", "experiments/index",
                 "calibration/index", "model/index", "reference/plot/index", "command-line/index", "performance/index"):
        assert (site / f"{page}.html").exists(), page
    experiments = (site / "experiments" / "index.html").read_text()
    assert "What a results folder holds" in experiments  # experiments/README.md, included


def test_api_reference_is_generated_from_docstrings(site):
    pages = {p.parent.name: p.read_text() for p in (site / "reference").glob("*/index.html")}
    assert {"cxsim", "model", "scenario", "experiments", "plot", "measures", "metrics"} <= set(pages)
    for page, name in [("model", "cxsim.engine.model.run"), ("model", "cxsim.engine.model.Results"), ("scenario", "cxsim.engine.scenario.load_scenario"),
                       ("plot", "cxsim.plot.funnel"), ("plot", "cxsim.plot.journey"), ("metrics", "cxsim.readouts.metrics.paired_differences")]:
        assert f'id="{name}"' in pages[page], name
    assert "paired difference (alternative − baseline)" in pages["plot"]  # the docstring's words
    assert 'href="../experiments/#cxsim.experiments.compare"' in pages["plot"]  # a :func: role, made a link (docs/hooks.py)
    assert not [p for p, html in pages.items() if re.search(r":(func|class|mod|data):", html)]
    leftovers = [p for p, html in pages.items() if re.search(r"\]\[cxsim\.", html)]
    assert not leftovers, f"unresolved cross-references on {leftovers}"


def shell_lines(text: str) -> list[str]:
    """Command lines of the ```bash blocks of a Markdown page (comments and blank lines dropped)."""
    lines = []
    for block in re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", text, flags=re.S):
        block = block.replace("\\\n", " ")  # a command continued on the next line is one command
        lines += [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    return lines


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_command_goes_through_cx(page):
    lines = shell_lines(page.read_text())
    bad = [line for line in lines if not line.startswith("./cx ")]
    assert not bad, f"{page.name}: commands that fail as typed on a fresh machine (use ./cx …): {bad}"


@pytest.mark.parametrize("page", ["README.md", "docs/getting-started.md", "docs/index.md"])
def test_python_examples_run_as_written(page, monkeypatch, tmp_path):
    """The pages' ```python blocks, run in order in one namespace, as a reader pastes them."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), flags=re.S)
    assert blocks
    namespace: dict = {}
    for k, block in enumerate(blocks):
        exec(compile(block, f"{page} python block {k + 1}", "exec"), namespace)
        for line in block.splitlines():
            check_claimed_values(line, namespace)
    if "base" in namespace and "acceptance_rate" in namespace["base"].summary:
        assert namespace["base"].summary["acceptance_rate"] < 0.1


def check_claimed_values(line: str, namespace: dict) -> None:
    """A line ``expr   # ≈ 0.06, ≈ 0.36`` shows what ``expr`` gives: each value within 0.02 (or 15%) of the claim;
    ``expr   # {'key': ...}`` names the largest entry of the dict first."""
    code, _, comment = line.partition("#")
    comment = comment.strip()
    if comment.startswith("≈"):
        got = eval(code, namespace)  # noqa: S307 (the documentation's own line)
        got = got if isinstance(got, tuple) else (got,)
        claims = [float(c.strip().lstrip("≈").strip()) for c in comment.split(",")]
        assert len(claims) == len(got), (line, got)
        for claim, value in zip(claims, got):
            assert abs(value - claim) <= max(0.02, 0.15 * abs(claim)), f"{line.strip()}: gives {value:.3f}"
    elif comment.startswith("{'"):
        got = eval(code, namespace)  # noqa: S307
        first = re.match(r"\{'(\w+)'", comment).group(1)
        assert first == max(got, key=got.get), f"{line.strip()}: the largest entry is {max(got, key=got.get)!r} ({got})"


def documented_commands() -> list[tuple[str, list[str]]]:
    """Every ``./cx …`` line of every page, as the argument list cxsim gets (comments and redirections dropped)."""
    commands = []
    for page in PAGES:
        for line in shell_lines(page.read_text()):
            words = shlex.split(line, comments=True)
            for stop in (">", ">>", "|", "&&", ";"):
                if stop in words:
                    words = words[:words.index(stop)]
            commands.append((f"{page.relative_to(ROOT)}: {line.split('#')[0].strip()}", words[1:]))
    return commands


COMMANDS = documented_commands()
NOT_CXSIM = {"test", "python", "jupyter"}  # ./cx runs these itself (pytest, the venv's Python, Jupyter)
OUTPUT_OPTIONS = {"--out", "--write"}


@pytest.mark.parametrize("where, argv", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_documented_command_parses_and_names_files_that_exist(where, argv):
    """The real argparse parser takes every documented command (its subcommand and flags exist), and every
    file it names (.toml, .py, .ipynb, .csv; not an output) is in the checkout, so it runs as typed from here."""
    from cxsim.cli import make_parser

    assert argv, where
    if argv[0] in NOT_CXSIM:
        files = [w for w in argv[1:] if re.search(r"\.(py|ipynb|toml|csv)$", w)]
    else:
        try:
            make_parser().parse_args(argv)
        except SystemExit as stop:  # --help and --version exit 0; a wrong flag exits 2
            assert stop.code == 0, f"{where}: the parser refuses it"
        files = [w for k, w in enumerate(argv) if re.search(r"\.(toml|csv|parquet)$", w) and argv[k - 1] not in OUTPUT_OPTIONS]
    missing = [f for f in files if not (ROOT / f).exists()]
    assert not missing, f"{where}: names files the checkout lacks: {missing}"


def quick(argv: list[str]) -> bool:
    """Commands that take a second or two: listings, help, version, one small run without an output folder."""
    if not argv or argv[0] in NOT_CXSIM or argv[0] in ("app", "completion"):
        return False
    if argv[0] in ("list", "--version", "--help") or "--help" in argv or argv[:2] == ["sweep", "--list"]:
        return True
    return argv[0] == "run" and not OUTPUT_OPTIONS & set(argv) and "--replicates" not in argv


QUICK = [c for c in COMMANDS if quick(c[1])]


@pytest.mark.parametrize("where, argv", QUICK, ids=[c[0] for c in QUICK])
def test_quick_documented_commands_run_as_typed(where, argv, monkeypatch, capsys):
    from cxsim.cli import main

    monkeypatch.chdir(ROOT)
    try:
        rc = main(argv)
    except SystemExit as stop:
        rc = stop.code
    assert rc == 0, f"{where}: exit {rc}: {capsys.readouterr().err[-500:]}"


def test_documented_commands_are_found():
    """The extraction itself: the README's and the docs' commands are all seen, the quick ones among them."""
    assert len(COMMANDS) >= 40 and {"list", "run", "sweep", "optimise", "calibrate", "story"} <= {a[0] for _, a in COMMANDS}
    assert len(QUICK) >= 8


def test_documented_searches_typed_in_order_never_collide():
    """Two different optimise, calibrate or sweep commands writing one --out folder: the second fails as typed
    (the folder holds the first's study or runs), unless it says --resume. The same command on two pages is one."""
    seen: dict[str, tuple[str, list[str]]] = {}
    clashes = []
    for where, argv in COMMANDS:
        if not argv or argv[0] not in ("optimise", "calibrate", "sweep") or "--out" not in argv or "--resume" in argv:
            continue
        out = argv[argv.index("--out") + 1]
        if out in seen and seen[out][1] != argv:
            clashes.append(f"{seen[out][0]}  and  {where}")
        seen.setdefault(out, (where, argv))
    assert not clashes, clashes
