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
    "state": ("kernels", "prefetch", "randomness", "params", "stages", "state", "agenda", "ledger", "agents", "network", "world"),
    # rules: what happens to the state; each takes the state it acts on (a world.World), never the model
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
    front_ends = {"cli", "outputs", "views", "plot", "reference", "workload", "narrative", "experiments", "calibration", "classroom",
                  "optimisation", "formatting", "scenario_file", "report", "studies", "progress",
                  "posterior", "uncertainty", "ensemble", "ema"}
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
    assert "model" not in imports(module), f"cxsim.{module} imports cxsim.model: take a world.World instead"


def test_the_scanner_sees_every_kind_of_import(tmp_path):
    """The reader above finds top-level, function-level and TYPE_CHECKING imports (a check of the checker)."""
    assert {"barriers", "emotions", "staff", "relief", "stages", "kernels"} <= imports("journey")
    assert "world" in imports("journey")  # under TYPE_CHECKING
    assert "measures" in imports("scenario")  # inside a function


# -- everything an intervention does is found in its class -------------------------------------
def _variants(cls):
    """An intervention of class ``cls`` at its defaults, with every fraction 0, and naming a touchpoint."""
    from cxsim.interventions import Intervention

    base = {"kind": "x", "enabled": True}
    numbers = {k: 0 for k, f in cls.model_fields.items() if k not in Intervention.model_fields and f.annotation is float}
    extra = {"touchpoints": ["desk"]} if "touchpoints" in cls.model_fields else {}
    return [cls.model_validate(base), cls.model_validate({**base, **numbers}), cls.model_validate({**base, **extra})]


def _billing_phase_of(e) -> str:
    """Where the record of what an intervention changes says its fee is billed (the rule the engine used to apply)."""
    if e.bill_at:
        return e.bill_at
    if e.follow_up_at_home:
        return "follow_up"
    if e.cost_relief or e.touchpoint_reliability or e.touchpoint_quality:
        return "access"
    if e.fear_relief or e.distrust_relief or e.latent_insight or e.social_reports:
        return "decision"
    return "loyalty" if e.churn_relief else "none"


@pytest.mark.parametrize("key", sorted(__import__("cxsim.interventions", fromlist=["REGISTRY"]).REGISTRY))
def test_an_interventions_methods_say_what_its_effects_record_says(key):
    """The engine asks each intervention (its methods); the pure-Mesa reference reads its ``Effects`` record: they agree."""
    from cxsim.interventions import REGISTRY
    from cxsim.relief import Relief

    for iv in _variants(REGISTRY[key]):
        e = iv.effects()
        assert iv.cost_relief() == e.cost_relief
        assert iv.billing_phase() == _billing_phase_of(e)
        for t in ("desk", "elsewhere"):
            lifted = t in e.touchpoint_reliability or t in e.touchpoint_quality
            expect = (e.touchpoint_reliability.get(t, 0.0), e.touchpoint_quality.get(t, 0.0)) if lifted else None
            assert iv.touchpoint_lift(t) == expect
            assert iv.recovery_floor(t) == e.touchpoint_recovery.get(t)
        assert (iv.outreach_gain(), iv.screening_gain(), iv.staff_lift(), iv.staff_push()) == (
            e.outreach_boost, e.screening_boost, e.morale_lift, e.morale_push)
        assert (iv.renewal_window(), iv.chance_per_use()) == (e.renewal_window, e.use_chance)
        r = Relief(n=1)
        iv.relieve(r, True)
        assert r.fear == pytest.approx(1.0 - e.fear_relief) and r.distrust == pytest.approx(1.0 - e.distrust_relief)
        assert r.distance == pytest.approx(1.0 - e.distance_relief) and r.churn == pytest.approx(1.0 - e.churn_relief)
        assert r.defection == pytest.approx(1.0 - e.defection_relief) and r.pace == pytest.approx(e.pace)
        assert r.insight == pytest.approx(e.latent_insight) and r.reports == pytest.approx(e.social_reports)
        assert bool(r.at_home) == e.follow_up_at_home
        from cxsim.ledger import CASH_COSTS

        assert {CASH_COSTS[col]: 1.0 - float(v) for col, v in r.cost_share.items()} == pytest.approx(e.cost_relief)


def test_the_rules_do_not_read_an_effects_record():
    """What an intervention changes is asked of the intervention, not read from a generic record, in the engine."""
    for module in (m for layer in ("rules", "orchestrator") for m in LAYERS[layer]):
        source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
        if module == "interventions":
            continue
        assert ".effects()" not in source and "Effects" not in source, module


APP = PACKAGE.parent / "app"


def test_the_explorer_holds_no_model_logic():
    """Issue 22 item 7: app/ shows what cxsim computes: no chart definitions (cxsim.plot), no worlds × seeds loop
    (cxsim.views.run_worlds), one cache-folder helper (jobs.cache_folder), no dead tracked_customers."""
    sources = {p.name: p.read_text(encoding="utf-8") for p in APP.glob("*.py")}
    for name, text in sources.items():
        assert "alt.Chart(" not in text and "go.Sankey(" not in text, f"app/{name} defines a chart: move it to cxsim.plot"
        assert "hashlib" not in text or name == "jobs.py", f"app/{name} hashes settings itself: use jobs.cache_folder"
    assert "for s in seeds" not in sources["runs.py"] and "views.run_worlds(" in sources["runs.py"]
    assert "def tracked_customers" not in sources["runs.py"] and "def warm_up" not in sources["runs.py"]
