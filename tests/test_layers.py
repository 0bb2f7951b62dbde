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


def assert_no_cycle(graph: dict[str, set[str]], allowed=lambda m, n: False) -> None:
    """Depth-first search of ``graph`` (module → modules it imports); fails naming the first cycle found,
    unless ``allowed(m, n)`` excuses the edge that closes it."""
    path: list[str] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1 and not allowed(m, n):
                pytest.fail("import cycle: " + " → ".join(path[path.index(n):] + [n]))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_import_cycle_among_the_engine_modules():
    assert_no_cycle({m: imports(m) & set(RANK) for m in RANK})


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
    assert "model" not in imports(module), f"cxsim.{module} imports cxsim.engine.model: take a world.World instead"


def test_the_scanner_sees_every_kind_of_import(tmp_path):
    """The reader above finds top-level, function-level and TYPE_CHECKING imports (a check of the checker)."""
    assert {"barriers", "emotions", "staff", "relief", "stages", "kernels"} <= imports("journey")
    assert "world" in imports("journey")  # under TYPE_CHECKING
    assert "measures" in imports("scenario")  # inside a function


# -- everything an intervention does is found in its class -------------------------------------
KINDS = sorted(__import__("cxsim.rules.interventions", fromlist=["REGISTRY"]).REGISTRY)


def _rule_sources() -> dict[str, str]:
    return {m: (PACKAGE / f"{m}.py").read_text(encoding="utf-8") for m in LAYERS["rules"] if m != "interventions"}


def test_every_effect_is_declared_by_some_intervention_and_applied_by_the_engine():
    """No field of ``Effects`` is dead: some intervention kind sets it, and the engine applies it, generically
    (``Relief.apply`` reads the fields that declare a ``relief``) or by its name in a rule module."""
    from cxsim.rules.interventions import EFFECT_FIELDS, REGISTRY

    declared = {name for cls in REGISTRY.values() for name in cls.effects_from}
    assert set(EFFECT_FIELDS) - declared == set(), "effects no intervention sets"
    sources = "\n".join(_rule_sources().values())
    unread = [name for name, f in EFFECT_FIELDS.items()
              if not f.metadata["relief"] and f".{name}" not in sources and f'"{name}"' not in sources]
    assert unread == [], "effects no rule applies"


def test_organisation_wide_effects_are_read_at_coverage_and_only_they():
    """The rules read an organisation-wide effect scaled by coverage (``across_organisation``), and read no
    per-customer effect that way."""
    import re

    from cxsim.rules.interventions import EFFECT_FIELDS

    read = set(re.findall(r'across_organisation\("(\w+)"\)', "\n".join(_rule_sources().values())))
    assert read == {name for name, f in EFFECT_FIELDS.items() if f.metadata["organisation_wide"]}


@pytest.mark.parametrize("key", KINDS)
def test_every_declared_effect_names_an_effects_field_and_a_parameter_of_its_class(key):
    from cxsim.rules.interventions import EFFECT_FIELDS, REGISTRY

    cls = REGISTRY[key]
    for name, source in cls.effects_from.items():
        assert name in EFFECT_FIELDS, f"{key}: {name} is not a field of Effects"
        assert isinstance(source, bool) or source in cls.model_fields, f"{key}: {name} from {source!r}, not a parameter"
        per = EFFECT_FIELDS[name].metadata["per"]
        assert not per or per in cls.model_fields or hasattr(cls, per), f"{key}: {name} is given per {per}, which {key} lacks"


@pytest.mark.parametrize("key", KINDS)
def test_every_parameter_of_an_intervention_acts_through_its_class(key):
    """A parameter of its own (beyond start, stop, coverage, costs, segments) sets a declared effect, is the list an
    effect is given for, or is read by the class's own step: what it does is found in its class."""
    import inspect

    from cxsim.rules.interventions import EFFECT_FIELDS, REGISTRY, Intervention

    cls = REGISTRY[key]
    own = [c for c in cls.__mro__ if issubclass(c, Intervention) and c is not Intervention]
    code = "\n".join(inspect.getsource(c) for c in own)
    declared = {source for source in cls.effects_from.values() if isinstance(source, str)}
    lists = {EFFECT_FIELDS[name].metadata["per"] for name in cls.effects_from}
    idle = [p for p in set(cls.model_fields) - set(Intervention.model_fields)
            if p not in declared | lists and f"self.{p}" not in code]
    assert idle == [], f"{key}: parameters that act nowhere in its class"


def test_an_intervention_with_a_step_of_its_own_is_called_by_the_phase_it_names():
    from cxsim.rules.interventions import REGISTRY, Intervention

    sources = "\n".join(_rule_sources().values())
    for key, cls in REGISTRY.items():
        assert (cls.step is not Intervention.step) == bool(cls.acts_in), f"{key}: a step needs a phase (acts_in) and back"
        assert not cls.acts_in or f'take_steps(world, "{cls.acts_in}")' in sources, f"{key}: no phase takes {cls.acts_in} steps"


def _distinct(cls, param: str):
    """A valid value of ``cls``'s parameter ``param``, unlike its default and unlike the value given any other parameter."""
    order = sorted(cls.model_fields).index(param)
    return 3 + order if cls.model_fields[param].annotation is int else 0.3 + order / 100


@pytest.mark.parametrize("key", KINDS)
def test_an_interventions_parameters_reach_the_effects_they_declare(key):
    from cxsim.rules.interventions import EFFECT_FIELDS, REGISTRY

    cls = REGISTRY[key]
    spec = {"enabled": True, **({"touchpoints": ["desk", "ward"]} if "touchpoints" in cls.model_fields else {})}
    params = {source for source in cls.effects_from.values() if isinstance(source, str)}
    iv = cls.model_validate({**spec, **{p: _distinct(cls, p) for p in params}})
    e = iv.effects()
    for name, source in cls.effects_from.items():
        value = source if isinstance(source, bool) else _distinct(cls, source)
        per = EFFECT_FIELDS[name].metadata["per"]
        assert getattr(e, name) == ({k: value for k in getattr(iv, per)} if per else value), name
    untouched = set(EFFECT_FIELDS) - set(cls.effects_from)
    assert all(getattr(e, name) == EFFECT_FIELDS[name].default or getattr(e, name) == {} for name in untouched)


def test_relief_applies_each_effect_to_the_attribute_it_declares():
    """``Relief.apply`` changes, for one effect, exactly the Relief attribute that effect names, the declared way."""
    from dataclasses import fields

    from cxsim.rules.interventions import EFFECT_FIELDS, Effects
    from cxsim.rules.relief import Relief

    untouched = {f.name: getattr(Relief(n=1), f.name) for f in fields(Relief)}
    for name, attr, how in Effects.relieving():
        value = {"transport": 0.25} if how == "cost" else (True if how == "include" else 0.25)
        r = Relief(n=1)
        r.apply(Effects(**{name: value}), True)
        changed = {k for k, v in untouched.items() if getattr(r, k) != v}
        assert changed == {attr}, name
        expected = {"reduce": 0.75, "increase": 0.25, "include": True}.get(how)
        if expected is not None:
            assert getattr(r, attr) == pytest.approx(expected), name
    assert {name for name, *_ in Effects.relieving()} == {n for n, f in EFFECT_FIELDS.items() if f.metadata["relief"]}
    written = [attr for _, attr, _ in Effects.relieving()]
    assert sorted(written) == sorted(set(written)), "two effects write one Relief attribute"
    assert set(untouched) - set(written) == {"n", "covered"}, "a Relief attribute no effect writes"


@pytest.mark.parametrize(("key", "spec", "phase"), [
    ("free_transport", {}, "access"),
    ("free_follow_up", {}, "follow_up"),  # it takes over a cost, but acts at follow-up
    ("counselling", {}, "decision"),
    ("counselling", {"fear_relief": 0.0, "distrust_relief": 0.0, "latent_insight": 0.0}, "none"),
    ("fix_touchpoint", {}, "none"),
    ("fix_touchpoint", {"touchpoints": ["desk"]}, "access"),
    ("retention_program", {}, "loyalty"),
    ("renewal_delight", {"touchpoints": ["desk"]}, "relationship"),
    ("service_recovery", {"touchpoints": ["desk"]}, "none"),
    ("staff_care", {}, "none"),
])
def test_an_intervention_is_billed_where_its_effects_act(key, spec, phase):
    from cxsim.rules.interventions import REGISTRY

    assert REGISTRY[key].model_validate({"enabled": True, **spec}).billing_phase() == phase


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


def _module_level_imports(module: str, path: Path) -> set[str]:
    """The cxsim modules ``module`` imports when it is itself imported (its top-level imports, dotted names)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            parts = package.split(".") if package else []
            base = ".".join(parts[: len(parts) - (node.level - 1)])
            full = ".".join(x for x in (base, node.module or "") if x)
        elif node.module and (node.module == "cxsim" or node.module.startswith("cxsim.")):
            full = node.module[len("cxsim"):].lstrip(".")
        else:
            continue
        for alias in node.names:  # `from .pkg import mod` imports a module; `from .mod import name` the module itself
            submodule = f"{full}.{alias.name}".lstrip(".")
            found.add(submodule if submodule in ALL else full)
    return {m for m in found if m in ALL and m != module}


ALL = {".".join(p.relative_to(PACKAGE).with_suffix("").parts[: -1 if p.name == "__init__.py" else None]): p
       for p in PACKAGE.rglob("*.py")}
"""Every module and package of cxsim (front ends and sub-packages too) by dotted name ('' is cxsim itself)."""


def test_no_module_imports_itself_back_at_import_time_anywhere_in_cxsim():
    """Across all of cxsim, not only the engine: no cycle of top-level imports (a cycle through a function-level import
    is resolved when the function runs and is not one)."""
    graph = {m: _module_level_imports(m, p) for m, p in ALL.items()}
    assert_no_cycle(graph, allowed=lambda m, n: n == "" or m.startswith(n + "."))  # a package's module reading its package
    assert len(graph) > 60 and graph["calibration.targets"] >= {"calibration.observed"}  # the scan sees sub-packages
