"""./cx, the entry point on a fresh machine: which Python it builds the venv with, what it says while
installing, and that commands run in the caller's folder (no venv is built here: a stand-in venv runs
this interpreter)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CX = ROOT / "cx"
BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="./cx is a bash script")


def sourced(script: str, path: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run ``script`` in bash after sourcing ./cx (functions only); PATH is ``path`` alone when given."""
    prefix = f'source "{CX}"; ' + (f'PATH="{path}"; ' if path else "")
    return subprocess.run([BASH, "-c", prefix + script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env, "CXSIM_PYTHON": env.get("CXSIM_PYTHON", "")})


def fake_pythons(tmp_path: Path, **versions: str | None) -> Path:
    """A bin folder of stand-in interpreters: name → the version they report (None: a broken pyenv shim)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, version in versions.items():
        body = f"echo {version}" if version else "echo 'pyenv: python3.12: command not found' >&2; exit 127"
        exe = bin_dir / name.replace("_", ".")
        exe.write_text(f"#!/bin/sh\n{body}\n")
        exe.chmod(0o755)
    return bin_dir


def test_prefers_312_to_newer(tmp_path):
    bin_dir = fake_pythons(tmp_path, python3_13="3.13.1", python3_12="3.12.7", python3="3.13.1")
    out = sourced("find_python", bin_dir)
    assert out.returncode == 0 and out.stdout.split() == [str(bin_dir / "python3.12"), "3.12.7"]


def test_takes_313_when_312_is_missing_or_a_broken_shim_and_says_so(tmp_path):
    bin_dir = fake_pythons(tmp_path, python3_12=None, python3_13="3.13.1", python3="3.11.9")
    out = sourced('found=$(find_python) && echo "$found" && announce "$found"', bin_dir)
    assert out.returncode == 0 and out.stdout.split() == [str(bin_dir / "python3.13"), "3.13.1"]
    assert "Python 3.12 (the tested version) not found; building" in out.stderr and "Python 3.13.1" in out.stderr


def test_no_python_312_or_later_is_one_clear_line(tmp_path):
    bin_dir = fake_pythons(tmp_path, python3="3.11.9")
    out = sourced("find_python", bin_dir)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().splitlines() == ["cx: no Python >= 3.12 found (mesa 3.5 needs it); install one (e.g. pyenv install 3.12) or set CXSIM_PYTHON"]


def test_cxsim_python_chooses_the_interpreter(tmp_path):
    out = sourced("find_python", CXSIM_PYTHON=sys.executable)
    assert out.stdout.split() == [sys.executable, "%d.%d.%d" % sys.version_info[:3]]


def test_install_progress_is_shown_and_logged(tmp_path):
    log = tmp_path / "install.log"
    pip = "Collecting numpy\nCollecting mesa\nRequirement already satisfied: pip\nInstalling collected packages: numpy, mesa\nSuccessfully installed mesa numpy\n"
    out = sourced(f'printf "{pip}" | progress "step 2 of 2, cxsim[test]" "{log}"')
    assert "cx: step 2 of 2, cxsim[test]: installing 2 packages…" in out.stderr and "cx: step 2 of 2, cxsim[test]: done in" in out.stderr
    assert log.read_text() == pip


@pytest.fixture
def stand_in_venv(tmp_path) -> Path:
    """A 'venv' whose python and cxsim are this interpreter on this checkout, already installed."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name, cmd in (("python", f'"{sys.executable}"'), ("cxsim", f'"{sys.executable}" -m cxsim.cli'), ("jupyter", "false")):
        (venv / "bin" / name).write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec {cmd} "$@"\n')
        (venv / "bin" / name).chmod(0o755)
    (venv / ".installed").touch()
    stamp = (ROOT / "pyproject.toml").stat().st_mtime + 1
    os.utime(venv / ".installed", (stamp, stamp))
    return venv


def cx(args: list[str], cwd: Path, venv: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CX), *args], cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, "CXSIM_VENV": str(venv)})


def test_version_and_relative_paths_resolve_in_the_callers_folder(tmp_path, stand_in_venv):
    here = tmp_path / "work"
    here.mkdir()
    version = cx(["--version"], here, stand_in_venv)
    assert version.returncode == 0 and version.stdout.strip().startswith("cxsim ") and version.stderr == ""
    shutil.copy(ROOT / "cxsim" / "scenarios" / "aravind.toml", here / "mine.toml")
    done = cx(["run", "mine.toml", "--customers", "300", "--steps", "4", "--out", "results/mine"], here, stand_in_venv)
    assert done.returncode == 0, done.stderr
    assert json.loads((here / "results" / "mine" / "summary.json").read_text())["customers"] == 300
    assert not (ROOT / "results" / "mine").exists() and not (ROOT / "mine.toml").exists()
    where = cx(["python", "-c", "import os; print(os.getcwd())"], here, stand_in_venv)
    assert where.stdout.strip() == str(here)


def test_test_runs_the_checkouts_suite_from_anywhere(tmp_path, stand_in_venv):
    done = cx(["test", "--collect-only", "-q", "--noconftest", "-p", "no:cacheprovider", "tests/test_cx.py"], tmp_path, stand_in_venv)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("tests/test_cx.py: ")  # collected in the checkout, not in the caller's folder
