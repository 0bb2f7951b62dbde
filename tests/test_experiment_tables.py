"""experiments/README.md's measured tables are generated (scripts/experiment_tables.py), and --check catches a stale one."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("experiment_tables", ROOT / "scripts" / "experiment_tables.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


def test_check_names_a_stale_block_and_writing_makes_it_current(tmp_path, capsys):
    page = tmp_path / "README.md"
    page.write_text((ROOT / "experiments" / "README.md").read_text())
    makers = {"aravind_waterfall": lambda workers: "| policy | acceptance |\n"}
    assert tables.main(["--check"], page, makers) == 1
    assert "'aravind_waterfall' is stale" in capsys.readouterr().err
    assert tables.main([], page, makers) == 0
    assert "| policy | acceptance |\n<!-- end generated: aravind_waterfall -->" in page.read_text()
    assert tables.main(["--check"], page, makers) == 0


def test_the_page_holds_what_the_script_writes_in_its_shape(tmp_path):
    """A small sweep rendered by the script has the page's rows, in the page's order (the numbers need the full sweep)."""
    from cxsim.experiments import run_experiment

    r = run_experiment("aravind_waterfall", tmp_path / "w", customers=300, replicates=2, progress=False)
    block = tables.waterfall_block(r.tables["summary"], r.tables["differences"], list(r.plan.experiment.levers.interventions))
    page = (ROOT / "experiments" / "README.md").read_text()
    current = tables.pattern("aravind_waterfall").search(page).group(2)
    labels = lambda text: [line.split(" | ")[0] for line in text.splitlines() if line.startswith("| ")]  # noqa: E731
    assert labels(block) == labels(current) and len(labels(current)) == 11
    assert re.search(r"One after another: \d+\.\d% → \+transport", current)


@pytest.mark.slow
def test_the_waterfall_figures_are_current():
    """The full sweep (240 runs × 4,000 customers, ~40 s on 2 cores) reproduces the page's figures exactly."""
    assert tables.main(["--check"]) == 0
