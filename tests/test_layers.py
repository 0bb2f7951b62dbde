"""cxsim's packages depend one way: the layer packages bottom up, then the front ends above them all.

The layers are the sub-packages themselves, read from the directory tree: ``cxsim/state`` (a run's state and
what it is made of), ``cxsim/rules`` (what happens to the state), ``cxsim/readouts`` (what is computed from a
world), ``cxsim/engine`` (the scenario and the model that runs the rules); every other module or package directly
in ``cxsim`` (``cli``, ``views``, ``experiments/``, ``calibration/``, ``checks/``, …) is a front end, above them all.
Only the order of the four layers is written here (:data:`LAYERS`); which module is in which layer is where its
file is. Every module's imports are read with ``ast``: at the top, inside functions and under ``TYPE_CHECKING``
(``from .x import``, ``from . import x``, ``import cxsim.x``). docs/model.md §3.4 and the README describe the layout.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cxsim"

LAYERS = ("state", "rules", "readouts", "engine")
"""The layer packages of cxsim, bottom first. A module may import its own layer or one below; the front ends
(everything else directly in cxsim) may import any layer and each other, without a cycle."""

DISPLAY_HOOKS = {("engine.model", "plot")}
"""Imports up to a front end, inside a function: ``Results._repr_html_``, a notebook's rich display of a run."""

TOP, FUNCTION, TYPE = "top", "function", "type"
"""Where an import is written: at the top of its module (runs on import), inside a function or method (runs when
called), under ``if TYPE_CHECKING:`` (never runs: names types for annotations and the documentation)."""


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module and package below ``root`` by dotted name (``rules.journey``; ``calibration`` for its
    ``__init__``; '' for the root package itself)."""
    return {".".join(p.relative_to(root).with_suffix("").parts[: -1 if p.name == "__init__.py" else None]): p
            for p in sorted(root.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(module: str, root: Path = PACKAGE) -> dict[str, str]:
    """The modules of ``root``'s package that ``module`` imports → where (:data:`TOP`, :data:`FUNCTION` or
    :data:`TYPE`; an import written in two places counts where it runs soonest)."""
    every = modules(root)
    path = every[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    name = root.name
    found: dict[str, str] = {}

    def add(target: str, where: str) -> None:
        if target in every and target != module:
            rank = (TOP, FUNCTION, TYPE)
            found[target] = min(found.get(target, TYPE), where, key=rank.index)

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, TYPE)
            for child in node.orelse:
                visit(child, where)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            where = TYPE if where == TYPE else FUNCTION
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                full = ".".join(x for x in (base, node.module or "") if x)
            elif node.module and (node.module == name or node.module.startswith(name + ".")):
                full = node.module[len(name):].lstrip(".")
            else:
                full = None
            if full is not None:
                for alias in node.names:  # `from .pkg import mod` imports a module; `from .mod import x` the module itself
                    submodule = f"{full}.{alias.name}".lstrip(".")
                    add(submodule if submodule in every else full, where)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(name + "."):
                    add(alias.name[len(name) + 1:], where)
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(ast.parse(path.read_text(encoding="utf-8")), TOP)
    return found


def layer(module: str) -> int:
    """The rank of ``module``'s layer: 0 for cxsim.state … 3 for cxsim.engine, 4 for a front end."""
    head = module.split(".")[0]
    return LAYERS.index(head) if head in LAYERS else len(LAYERS)


def entry(module: str) -> str:
    """What ``module`` is part of directly in cxsim: its layer package, front-end package or its own name."""
    return module.split(".")[0]


def upward(root: Path = PACKAGE, hooks=frozenset()) -> list[str]:
    """Every import (of any kind) from a layer module to a module in a higher layer or a front end."""
    found = []
    for m in modules(root):
        if m and layer(m) < len(LAYERS):
            for n in imports(m, root):
                if n and layer(n) > layer(m) and (m, n) not in hooks:
                    found.append(f"cxsim.{m} ({LAYERS[layer(m)]}) imports cxsim.{n}")
    return sorted(found)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of ``graph`` (node → nodes it imports) by depth-first search, as its path; [] when it has none."""
    path: list[str] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        path.pop()
        state[m] = 2
        return []

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return []


def running_imports(root: Path = PACKAGE, skip=frozenset()) -> dict[str, set[str]]:
    """module → the modules it imports that run (at its top or in its functions; not ``TYPE_CHECKING``), less
    the edges of ``skip`` and imports of the root package itself (``from .. import __version__``)."""
    return {m: {n for n, where in imports(m, root).items() if where != TYPE and n and (m, n) not in skip}
            for m in modules(root)}


def test_the_layers_are_the_packages_of_cxsim():
    """Each layer is a package of cxsim holding modules; a module of the state, the rules or the readouts lives in
    its package, not beside it (no flat module directly in cxsim is imported by a layer: see below)."""
    for name in LAYERS:
        assert (PACKAGE / name / "__init__.py").is_file(), f"cxsim/{name}/ is a layer but not a package"
        assert any(m.startswith(name + ".") for m in modules()), f"cxsim/{name}/ holds no module"
        assert not (PACKAGE / f"{name}.py").exists()


def test_imports_go_down_the_layers():
    """A layer module imports its own layer or one below (any import: top, function or type), never a front end
    or a higher layer; the one exception is a notebook's display hook (:data:`DISPLAY_HOOKS`)."""
    assert upward(hooks=DISPLAY_HOOKS) == []
    used = {(m, n) for m, n in DISPLAY_HOOKS if imports(m).get(n) == FUNCTION}
    assert used == DISPLAY_HOOKS, "a display hook that is no longer an import inside a function: remove it"


def test_the_packages_of_cxsim_import_each_other_without_a_cycle():
    """Package level: the layers, the front-end packages (experiments, calibration, …) and the front-end modules
    directly in cxsim import each other as a DAG (running imports, less the display hook)."""
    graph: dict[str, set[str]] = {}
    for m, targets in running_imports(skip=DISPLAY_HOOKS).items():
        if m:
            graph.setdefault(entry(m), set()).update(entry(n) for n in targets if entry(n) != entry(m))
    assert find_cycle(graph) == []
    assert {"state", "rules", "readouts", "engine", "cli", "calibration", "checks"} <= set(graph)


def test_no_import_cycle_among_all_modules_of_cxsim():
    """Module level, across all of cxsim (front ends and sub-packages too): no cycle of the imports that run, at
    a module's top or inside its functions. Not edges: an import under ``TYPE_CHECKING`` (it never runs: a
    package's report naming the package's class in annotations) and the display hook."""
    graph = running_imports(skip=DISPLAY_HOOKS)
    assert find_cycle(graph) == []
    assert len(graph) > 80 and "calibration.observed" in graph["calibration.targets"]  # the scan sees sub-packages


@pytest.mark.parametrize("module", [m for m in modules() if m.split(".")[0] in ("state", "rules")])
def test_no_rule_or_state_module_imports_the_model(module):
    assert "engine.model" not in imports(module), f"cxsim.{module} imports cxsim.engine.model: take a World instead"


def test_the_scanner_sees_every_kind_of_import():
    """The reader above finds top-level, function-level and TYPE_CHECKING imports (a check of the checker)."""
    journey = imports("rules.journey")
    assert {"rules.barriers", "rules.emotions", "rules.staff", "rules.relief", "state.stages", "state.kernels"} <= set(journey)
    assert journey["state.world"] == TYPE  # under TYPE_CHECKING
    assert imports("engine.scenario")["readouts.measures"] == FUNCTION  # inside a function
    assert imports("engine.model")["plot"] == FUNCTION  # the display hook
    assert imports("engine.model")["rules.journey"] == TOP  # `from ..rules import journey`


def test_the_checks_fail_on_an_upward_import_and_a_cycle(tmp_path):
    """A made-up package with a state module importing the engine inside a function, and two front ends importing
    each other: the checks above name both (a check of the checker)."""
    root = tmp_path / "cxsim"
    files = {
        "__init__.py": "",
        "state/__init__.py": "",
        "state/world.py": "from . import tallies\n\ndef f():\n    from ..engine.model import run\n",
        "state/tallies.py": "",
        "engine/__init__.py": "",
        "engine/model.py": "from ..state.world import f\n",
        "cli.py": "import cxsim.views\n",
        "views.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import cli\n\ndef g():\n    from .cli import main\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    assert upward(root) == ["cxsim.state.world (state) imports cxsim.engine.model"]
    assert imports("views", root) == {"cli": FUNCTION}
    assert find_cycle(running_imports(root)) == ["cli", "views", "cli"]  # through a function-level import
    assert find_cycle(running_imports(root, skip={("views", "cli")})) == ["engine.model", "state.world", "engine.model"]
    assert find_cycle(running_imports(root, skip={("views", "cli"), ("state.world", "engine.model")})) == []


# -- everything an intervention does is found in its class -------------------------------------
KINDS = sorted(__import__("cxsim.rules.interventions", fromlist=["REGISTRY"]).REGISTRY)


def _rule_sources() -> dict[str, str]:
    """The rule modules' sources (every module of cxsim/rules but interventions itself)."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted((PACKAGE / "rules").glob("*.py"))
            if p.stem not in ("__init__", "interventions")}


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


def test_the_public_names_and_entry_points_survive_the_layout():
    """What ``cxsim/__init__.py`` offers is reached from its new homes: its public names, the modules a notebook
    reaches as attributes (``cxsim.metrics`` is :mod:`cxsim.readouts.metrics`), and ``python -m cxsim``."""
    import subprocess
    import sys
    from importlib import import_module

    import cxsim

    for name in cxsim.__all__:
        assert getattr(cxsim, name) is not None, name
    for attribute, home in cxsim._SUBMODULES.items():
        assert getattr(cxsim, attribute) is import_module(f"cxsim.{home}"), attribute
    done = subprocess.run([sys.executable, "-m", "cxsim", "list"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "aravind" in done.stdout, done.stderr
