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


def test_whole_process_benchmark_quick_mode_prints_both_tables(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("whole_process")
    code = bench.main(["--quick", "--sizes", "2000", "--no-cold", "--repeats", "1"])
    out = capsys.readouterr().out
    assert code == 0
    for label in ("import cxsim", "cxsim --help", "cxsim list", "cxsim run aravind --customers 2,000 --uncertainty seeds --out",
                  "cxsim run aravind --customers 2,000 --out (posterior, 20 draws)"):
        assert f"measured {label}: " in out and "exit" not in out
    assert "≤ 0.8 s" in out and "peak RSS" in out
    assert "Engine only, in one process" in out and "measured engine baseline 10,000: run" in out
    assert "measured pure-Mesa reference 2,000: run" in out


def test_starsim_benchmark_runs_or_says_starsim_is_missing(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("starsim_bass")
    assert bench.main(["--sizes", "2000", "--repeats", "1", "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert "measured cxsim 2,000: set-up" in out
    if bench.starsim_available():
        assert "measured Starsim 2,000: set-up" in out and "set-up + run" in out
    else:
        assert "Starsim is not installed" in out
    adopted = [float(line.split()[5]) for line in out.splitlines() if line.startswith("cxsim ") and "2,000" in line]
    assert adopted and abs(adopted[0] - bench.bass_share(bench.STEPS / bench.STEPS_PER_PERIOD)) < 0.05  # on the Bass curve


def test_ensemble_benchmark_prints_the_ensemble_beside_seeds_only_runs(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("ensemble")
    assert bench.main(["--quick", "--customers", "300", "--draws", "3", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    for label in ("import cxsim", "run, seeds only, 1 seeds", "run, seeds only, 3 seeds", "run, posterior 3 draws × 1 seed"):
        assert label in out
    assert "exit" not in out and "runs/s in two threads" in out


def test_whole_process_repeats_a_run_into_an_empty_folder_and_never_keeps_a_refusal(monkeypatch, tmp_path):
    """A repeated `run --out D` used to find D full and exit 2 at once; that refusal was then the 'fastest' run."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = importlib.import_module("whole_process")
    out = tmp_path / "out"
    seen = []

    def fake(cmd, env=None):
        seen.append(out.exists())
        out.mkdir(exist_ok=True)
        return bench.Measured("x", 0.1 if len(seen) == 2 else 1.0, 0, 2 if len(seen) == 2 else 0)

    monkeypatch.setattr(bench, "run_child", fake)
    best = bench.best_of(["x"], 3, out)
    assert seen == [False, False, False] and best.code == 0 and best.wall == 1.0
