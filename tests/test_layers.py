"""The engine's modules depend one way: orchestrator on top, rules below, state at the bottom.

Every cxsim module's imports are read with ``ast`` (top level, inside functions and under
``TYPE_CHECKING``: ``from .x import``, ``from . import x``, ``import cxsim.x``). The layers
are declared once, here (docs/model.md §3.4 and the README's layout table show them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cxsim"

LAYERS: dict[str, tuple[str, ...]] = {
    # bottom: state and the primitives it is made of (no rules)
    "state": ("kernels", "prefetch", "randomness", "params", "stages", "state", "agenda", "ledger", "agents", "network"),
    # rules: what happens to the state; each takes the state it acts on (a state.World), never the model
    "rules": ("barriers", "emotions", "interventions", "scenario", "coverage", "relief", "staff", "journey",
              "relationship", "feedback", "metrics", "measures", "story"),
    # top: the orchestrator, which owns the state and runs the rules' phases in order
    "orchestrator": ("model", "customer"),
}
"""Engine modules by layer, bottom first. An import may go to the same layer (without a cycle) or below."""

RANK = {m: i for i, mods in enumerate(LAYERS.values()) for m in mods}
DISPLAY_HOOKS = {("model", "plot")}
"""Imports from the orchestrator to a front end inside a function (a notebook's rich display of results)."""


def imports(module: str) -> set[str]:
    """cxsim modules ``module`` imports anywhere in its source (first path component below cxsim)."""
    path = PACKAGE / f"{module.replace('.', '/')}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module.rsplit(".", 1)[0] if "." in module else ""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: max(0, len(package.split(".")) - (node.level - 1))] if package else []
                target = ".".join([*base, node.module] if node.module else base)
            elif node.module and (node.module == "cxsim" or node.module.startswith("cxsim.")):
                target = node.module[len("cxsim"):].lstrip(".")
            else:
                continue
            if target:
                found.add(target.split(".")[0])
            else:  # from . import a, b
                found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("cxsim.")}
    return {m for m in found if m != module.split(".")[0] and ((PACKAGE / f"{m}.py").exists() or (PACKAGE / m).is_dir())}


def all_modules() -> list[str]:
    return sorted(str(p.relative_to(PACKAGE).with_suffix("")).replace("/", ".") for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def test_every_engine_module_is_declared_in_a_layer():
    for module in RANK:
        assert (PACKAGE / f"{module}.py").exists(), f"{module} is declared but does not exist"
    front_ends = {"cli", "outputs", "views", "plot", "reference", "workload", "narrative", "experiments"}
    undeclared = {m.split(".")[0] for m in all_modules()} - set(RANK) - front_ends
    assert undeclared == set(), f"declare these modules in LAYERS (or as front ends): {sorted(undeclared)}"


def test_no_import_cycle_among_the_engine_modules():
    graph = {m: imports(m) & set(RANK) for m in RANK}
    path: list[str] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                pytest.fail("import cycle: " + " → ".join(path[path.index(n):] + [n]))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_imports_go_down_the_layers():
    upward = []
    for m in RANK:
        for n in imports(m):
            if (m, n) in DISPLAY_HOOKS:
                continue
            if n not in RANK or RANK[n] > RANK[m]:
                upward.append(f"{m} ({next(k for k, v in LAYERS.items() if m in v)}) imports {n}")
    assert upward == []


@pytest.mark.parametrize("module", [m for layer in ("state", "rules") for m in LAYERS[layer]])
def test_no_rule_or_state_module_imports_the_model(module):
    assert "model" not in imports(module), f"cxsim.{module} imports cxsim.model: take a state.World instead"


def test_the_scanner_sees_every_kind_of_import(tmp_path):
    """The reader above finds top-level, function-level and TYPE_CHECKING imports (a check of the checker)."""
    assert {"barriers", "emotions", "staff", "relief", "stages", "kernels"} <= imports("journey")
    assert "state" in imports("journey")  # under TYPE_CHECKING
    assert "measures" in imports("scenario")  # inside a function
