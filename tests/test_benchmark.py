"""The engine benchmark runs end to end on small sizes (a smoke test; timings are not judged here)."""

import importlib
import multiprocessing
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_benchmark_reports_every_goal_beside_a_neighbour_it_then_stops(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the neighbour process imports the script by name too
    bench = importlib.import_module("engine")
    code = bench.main(["--sizes", "3000", "--reference-size", "300", "--reference-repeats", "1", "--repeats", "1", "--neighbour"])
    out = capsys.readouterr().out
    assert code == 0
    assert "beside a noisy neighbour" in out
    for variant in bench.VARIANTS:
        assert f"measured engine {variant} 3,000: run" in out
    assert "measured pure-Mesa reference 300: run" in out
    assert "≤ 250 bytes per customer" in out and "error" not in out
    assert not multiprocessing.active_children()
