"""Start-up: what each entry point imports, lazy kernels, and compilation once per machine with a message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cxsim

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numba", "llvmlite", "mesa", "pandas", "scipy", "SALib", "dask", "duckdb", "matplotlib", "streamlit", "networkx")


def loaded_after(code: str, env: dict | None = None) -> set[str]:
    """Top-level packages of HEAVY that a fresh interpreter has loaded after running ``code``."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1])) & set(HEAVY)


def test_import_cxsim_and_reading_scenarios_load_no_heavy_package():
    assert loaded_after("import cxsim") == set()
    assert loaded_after("import cxsim; sc = cxsim.load_scenario('aravind'); sc.variant('all_barriers_removed'); cxsim.list_scenarios()") == set()


def test_help_and_list_load_no_heavy_package():
    quiet = "import contextlib, io\nfrom cxsim.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"
    assert loaded_after(quiet + "    main(['list', '-v'])") == set()
    assert loaded_after(quiet + "    try:\n        main(['--help'])\n    except SystemExit:\n        pass") == set()


def test_public_names_resolve_lazily_and_are_listed():
    for name in cxsim.__all__:
        assert getattr(cxsim, name) is not None
        assert name in dir(cxsim)
    from cxsim.engine.model import CxModel, run
    from cxsim.state.params import CxError

    assert cxsim.run is run and cxsim.CxModel is CxModel and cxsim.CxError is CxError
    with pytest.raises(AttributeError, match="no_such_name"):
        cxsim.no_such_name  # noqa: B018


def test_a_pool_worker_imports_no_statistics_it_does_not_use():
    """The local pool's fork server imports the runner: not SciPy's statistics (A/B tests) nor SALib (designs)."""
    probe = "import cxsim.experiments.runner, sys; print(' '.join(m for m in ('scipy.stats', 'SALib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_experiments_names_resolve_lazily_and_are_listed():
    import cxsim.experiments as ex
    from cxsim.experiments.abtest import ab_test

    for name in ex.__all__:
        assert getattr(ex, name) is not None and name in dir(ex)
    assert ex.ab_test is ab_test
    with pytest.raises(AttributeError, match="no_such_name"):
        ex.no_such_name  # noqa: B018


def test_kernels_become_numba_dispatchers_everywhere_they_are_imported():
    from numba.core.registry import CPUDispatcher

    from cxsim.rules import barriers, emotions, relationship
    from cxsim.state import kernels, network

    cxsim.run(cxsim.load_scenario("aravind").with_overrides({"population.customers": 300, "steps": 2}), 1)
    assert kernels.active()
    assert isinstance(network._add_talk, CPUDispatcher) and isinstance(emotions._feel_one, CPUDispatcher)
    assert not isinstance(emotions.clamp, kernels.LazyKernel)  # plain functions stay as they are
    assert barriers.prefetch_ahead is sys.modules["cxsim.state.prefetch"].prefetch_ahead  # `from .prefetch import …` rebound too
    assert not isinstance(barriers.prefetch_ahead, kernels.LazyKernel)
    assert relationship.emotions is emotions


def test_warm_up_reaches_the_kernels_a_run_needs():
    """After compile_all, runs of the shipped cases at other sizes and lengths compile nothing new."""
    from cxsim.state import kernels

    kernels.compile_all(quiet=True)
    before = {id(k): len(k.dispatcher.signatures) for k in kernels._pending if hasattr(k.dispatcher, "signatures")}
    sc = cxsim.load_scenario("aravind")
    for variant in ("baseline", "all_barriers_removed", "aravind_1980s"):
        for customers in (5000, 40_000):
            cxsim.run(sc.variant(variant).with_overrides({"population.customers": customers}), 3)
    after = {id(k): len(k.dispatcher.signatures) for k in kernels._pending if hasattr(k.dispatcher, "signatures")}
    grown = [f"{k.__module__}.{k.__qualname__}" for k in kernels._pending if id(k) in before and after[id(k)] != before[id(k)]]
    assert grown == []


def test_a_cold_kernel_cache_is_compiled_once_with_a_message(tmp_path):
    """With an empty numba cache, the first run says it compiles; the second run is silent."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    cmd = [sys.executable, "-m", "cxsim.cli", "run", "aravind", "--customers", "200", "--steps", "2"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.count("cxsim: compiling kernels, once per machine") == 1
    assert "kernels compiled in" in first.stderr
    assert "compiling kernels" not in second.stderr
    assert first.stdout == second.stdout  # same results whether compiled now or loaded
    assert list((tmp_path / "numba").rglob("cxsim-kernels-*.stamp"))


def test_compile_command_records_the_stamp(capsys):
    from cxsim.cli import main
    from cxsim.state import kernels

    assert main(["compile", "--force"]) == 0
    captured = capsys.readouterr()
    assert "compiling kernels, once per machine" in captured.err and "kernels cached in" in captured.out
    assert kernels.is_compiled()
    assert main(["compile"]) == 0
    assert "already compiled" in capsys.readouterr().out
