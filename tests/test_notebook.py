"""examples/aravind.ipynb runs from top to bottom in a kernel of this interpreter and shows what it says."""

import json
import os
import sys
from pathlib import Path

import pytest

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "aravind.ipynb"
KERNEL = "cxsim-test"


@pytest.fixture
def kernel_here(tmp_path, monkeypatch):
    """A kernel spec in a temporary folder that starts this interpreter on this checkout (nothing installed for the user)."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), "MPLBACKEND": "Agg"}
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "cxsim tests", "language": "python", "env": env}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(KERNEL).argv[0] == sys.executable
    return KERNEL


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
        parts.append(out.get("data", {}).get("text/html", ""))
    return "".join(parts)


def _is_chart(cell) -> bool:
    """An Altair chart's output: vega-embed HTML (altair's default renderer) or a Vega-Lite bundle."""
    return any("vegaEmbed" in o.get("data", {}).get("text/html", "") or any(k.startswith("application/vnd.vegalite") for k in o.get("data", {}))
               for o in cell.get("outputs", []))


def test_the_aravind_notebook_runs_and_tells_a_non_users_story(kernel_here, tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, kernel_name=kernel_here, timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(o.get("output_type") != "error" for c in code for o in c.outputs)
    assert not [c.source[:40] for c in code if "TqdmWarning" in _text(c) or "IProgress" in _text(c)]  # first cell: no tqdm warning
    assert "Journey funnel" in _text(code[0]) and "Acceptance" in _text(code[0])  # Results' rich display
    rates = {line.split(":")[0].strip(): float(line.split("acceptance ")[1].split("%")[0]) for line in _text(code[1]).splitlines()}
    assert rates["baseline"] < 10 and rates["aravind_1980s"] > 2 * rates["baseline"]
    charts = [c for c in code if _is_chart(c)]
    assert len(charts) == 5  # funnel, reasons, comparison, journey, curves
    assert not [c.source[:40] for c in charts if "cdn.jsdelivr.net" in _text(c)]  # plot.offline_charts(): drawn offline
    story = next(_text(c) for c in code if "customer(who).story()" in c.source)
    assert "rupees" in story and len(story.splitlines()) >= 3
