"""The input contract: complete (or explicitly derived) files, strict values, one-line errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cxsim
from cxsim.engine.scenario import MAX_SEGMENTS, REQUIRED_SECTIONS, SCENARIO_DIR, merge_tables
from cxsim.experiments import load_experiment, make_plan
from cxsim.experiments.spec import parse_experiment
from cxsim.state.params import MAX_LINE, CxError

ARAVIND = (SCENARIO_DIR / "aravind.toml").read_text(encoding="utf-8")


def error_of(fn, *args) -> str:
    """The one-line message of the CxError ``fn(*args)`` raises."""
    with pytest.raises(CxError) as info:
        fn(*args)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) <= MAX_LINE, msg
    return msg


def scenario_file(tmp_path: Path, text: str, name: str = "sc.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def derived(tmp_path: Path, body: str, name: str = "sc.toml") -> Path:
    return scenario_file(tmp_path, f'extends = "aravind"\n{body}', name)


# -- complete or explicitly derived files ----------------------------------------------------
def test_a_truncated_file_names_the_first_missing_section(tmp_path):
    cut = ARAVIND[: ARAVIND.index("daily_wage = 9") + len("daily_wage = 9")]
    msg = error_of(cxsim.load_scenario, scenario_file(tmp_path, cut))
    assert msg.startswith("sc.toml: missing section [costs]"), msg


def test_an_empty_file_names_the_first_missing_section(tmp_path):
    msg = error_of(cxsim.load_scenario, scenario_file(tmp_path, ""))
    assert "missing section [population]" in msg and "extends" in msg


@pytest.mark.parametrize("section", [s for s in REQUIRED_SECTIONS if "." not in s])
def test_each_required_section_is_required(tmp_path, section):
    lines = ARAVIND.splitlines()
    kept, skipping = [], False
    for line in lines:
        if line.startswith("["):
            head = line.strip("[] ").split("]")[0]
            skipping = head == section or head.startswith(section + ".")
        if not skipping:
            kept.append(line)
    msg = error_of(cxsim.load_scenario, scenario_file(tmp_path, "\n".join(kept)))
    assert f"missing section [{section}]" in msg


def test_a_file_cut_after_a_header_is_refused(tmp_path):
    head = ARAVIND.index("[population.segments.farmers]")
    cut = ARAVIND[: ARAVIND.index("\n", head) + 1]
    msg = error_of(cxsim.load_scenario, scenario_file(tmp_path, cut + ARAVIND[ARAVIND.index("[population.segments.destitute]"):]))
    assert "[population.segments.farmers] is empty" in msg


def test_every_built_in_scenario_is_complete_on_its_own():
    for name in cxsim.list_scenarios():
        cxsim.load_scenario(name)  # no extends: every required section is in the file


def test_extends_a_built_in_scenario_and_changes_only_what_it_lists(tmp_path):
    sc = cxsim.load_scenario(derived(tmp_path, "[costs]\nmedicine = 0.0\n[population.segments.farmers]\ndaily_wage = 12.0\n"))
    base = cxsim.load_scenario("aravind")
    assert sc.name == "sc" and sc.costs.medicine == 0.0 and base.costs.medicine == 25.0
    assert sc.population.segments["farmers"].daily_wage == 12.0
    assert sc.population.segments["farmers"].share == base.population.segments["farmers"].share  # deep merge
    assert sc.costs.fare_per_km == base.costs.fare_per_km and list(sc.variants) == list(base.variants)


def test_extends_a_relative_path_in_a_chain(tmp_path):
    derived(tmp_path, "[costs]\nmedicine = 1.0\n", "shared/base.toml")
    child = scenario_file(tmp_path, 'extends = "../shared/base.toml"\n[decision]\nw_fear = 0.5\n', "mine/child.toml")
    sc = cxsim.load_scenario(child)
    assert (sc.costs.medicine, sc.decision.w_fear, sc.decision.w_cost) == (1.0, 0.5, cxsim.load_scenario("aravind").decision.w_cost)


def test_extends_refuses_a_cycle(tmp_path):
    scenario_file(tmp_path, 'extends = "b.toml"\n', "a.toml")
    scenario_file(tmp_path, 'extends = "a.toml"\n', "b.toml")
    assert "a cycle" in error_of(cxsim.load_scenario, tmp_path / "a.toml")
    assert "a cycle" in error_of(cxsim.load_scenario, scenario_file(tmp_path, 'extends = "self.toml"\n', "self.toml"))


def test_extends_names_an_unknown_parent(tmp_path):
    assert "unknown built-in scenario" in error_of(cxsim.load_scenario, scenario_file(tmp_path, 'extends = "atlantis"\n'))
    assert "not found" in error_of(cxsim.load_scenario, scenario_file(tmp_path, 'extends = "nowhere.toml"\n'))
    assert "extends = 3" in error_of(cxsim.load_scenario, scenario_file(tmp_path, "extends = 3\n"))


def test_merge_replaces_lists_and_an_intervention_whose_kind_changes():
    parent = {"story": {"measures": ["a", "b"]}, "interventions": {"x": {"kind": "counselling", "fear_relief": 0.3}, "y": {"subsidy": 1.0}}}
    child = {"story": {"measures": ["c"]}, "interventions": {"x": {"kind": "free_medicine"}, "y": {"coverage": 0.5}}}
    merged = merge_tables(parent, child)
    assert merged["story"]["measures"] == ["c"]
    assert merged["interventions"]["x"] == {"kind": "free_medicine"}
    assert merged["interventions"]["y"] == {"subsidy": 1.0, "coverage": 0.5}


def test_an_inline_experiment_scenario_follows_the_same_rules(tmp_path):
    scenario_file(tmp_path, 'name = "e"\n[scenario.population]\ncustomers = 100\n', "e.toml")
    assert "scenario: missing section [population.segments]" in error_of(load_experiment, tmp_path / "e.toml")
    derived(tmp_path, "[costs]\nmedicine = 2.0\n", "base/b.toml")
    scenario_file(tmp_path, 'name = "f"\ncustomers = 100\n[scenario]\nextends = "base/b.toml"\n[scenario.decision]\nw_fear = 0.1\n', "f.toml")
    plan = make_plan(*load_experiment(tmp_path / "f.toml"))
    assert (plan.base.costs.medicine, plan.base.decision.w_fear, plan.base.name) == (2.0, 0.1, "f")


# -- strict values ------------------------------------------------------------------------------
@pytest.mark.parametrize("body, needle", [
    ("[costs]\nmedicine = true\n", "costs.medicine = True: Input should be a valid number"),
    ('[population.segments.farmers]\nshare = "0.35"\n', "share = '0.35': Input should be a valid number (allowed 0 to 1"),
    ('[journey]\nreconsider = "yes"\n', "journey.reconsider = 'yes': Input should be a valid boolean"),
    ("[journey]\nreconsider = 1\n", "journey.reconsider = 1: Input should be a valid boolean"),
    ("[population]\ncustomers = 1000.0\n", "population.customers = 1000.0: Input should be a valid integer"),
    ("[interventions.free_transport]\nstart = 2.0\n", "start = 2.0: Input should be a valid integer"),
    ('[network]\nkind = "mesh"\n', "network.kind = 'mesh': Input should be 'villages' or 'fully_mixed'"),
    ("costs = [1, 2]\n", "costs = [1, 2]: Input should be a valid dictionary"),
    ("[costs.medicine]\nx = 1\n", "costs.medicine = {'x': 1}: Input should be a valid number"),
    ('[touchpoints.bus_journey]\nsegments = "farmers"\n', "segments = 'farmers': Input should be a valid list"),
])
def test_no_coercion(tmp_path, body, needle):
    assert needle in error_of(cxsim.load_scenario, derived(tmp_path, body))


def test_an_integer_is_a_valid_float_and_set_values_from_the_command_line_work(tmp_path, capsys):
    sc = cxsim.load_scenario(derived(tmp_path, "[costs]\nmedicine = 3\n"))
    assert sc.costs.medicine == 3.0 and isinstance(sc.costs.medicine, float)
    assert cxsim.load_scenario("aravind").with_overrides({"decision.w_fear": 2, "population.customers": np.int64(500)}).population.customers == 500
    from cxsim.cli import build_scenario, make_parser

    args = make_parser().parse_args(["run", "aravind", "--set", "decision.w_fear=1", "--set", "network.kind=fully_mixed", "--set", "journey.reconsider=false"])
    sc = build_scenario(args)
    assert (sc.decision.w_fear, sc.network.kind, sc.journey.reconsider) == (1.0, "fully_mixed", False)
    args = make_parser().parse_args(["run", "aravind", "--set", "journey.reconsider=yes"])
    assert "journey.reconsider = 'yes'" in error_of(build_scenario, args)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_values_are_refused_everywhere(tmp_path, value):
    assert "must be a finite number" in error_of(cxsim.load_scenario, derived(tmp_path, f"[costs]\nmedicine = {value}\n"))
    assert "must be a finite number" in error_of(cxsim.load_scenario, derived(tmp_path, f'[variants.x]\nset = {{ "costs.medicine" = {value} }}\n'))
    assert "must be a finite number" in error_of(cxsim.load_scenario("aravind").with_overrides, {"decision.w_fear": float(value)})
    assert "must be a finite number" in error_of(parse_experiment, {"uncertainties": {"decision.w_cost": [1.0, float(value)]}})
    assert "must be a finite number" in error_of(parse_experiment, {"options": {"periods": float(value)}})


# -- cross-field rules ---------------------------------------------------------------------
def test_segment_shares_must_add_up_to_one(tmp_path):
    msg = error_of(cxsim.load_scenario, derived(tmp_path, "[population.segments.farmers]\nshare = 0.5\n"))
    assert "population.segments: shares add up to 1.15, not 1" in msg
    sc = cxsim.load_scenario(derived(tmp_path, "[population.segments.farmers]\nshare = 0.3500000001\n"))  # within 1e-6
    assert sc.population.segments["farmers"].share == pytest.approx(0.35)


def test_the_segment_count_is_bounded(tmp_path):
    body = "".join(f"[population.segments.s{i}]\nshare = 0.0\n" for i in range(MAX_SEGMENTS))
    assert f"at most {MAX_SEGMENTS:,} are allowed" in error_of(cxsim.load_scenario, derived(tmp_path, body))


def test_an_intervention_starts_before_it_stops(tmp_path):
    for start, stop in ((5, 5), (9, 3)):
        msg = error_of(cxsim.load_scenario, derived(tmp_path, f"[interventions.free_transport]\nstart = {start}\nstop = {stop}\n"))
        assert f"interventions.free_transport: start = {start} must be below stop = {stop}" in msg


def test_ties_are_fewer_than_the_village_and_the_population(tmp_path):
    assert "network.ties = 50 must be below network.village_size = 50" in error_of(cxsim.load_scenario, derived(tmp_path, "[network]\nties = 50\nvillage_size = 50\n"))
    assert "must be below population.customers = 10" in error_of(cxsim.load_scenario("aravind").with_overrides, {"population.customers": 10, "network.ties": 10, "network.village_size": 500})


@pytest.mark.parametrize("body, needle", [
    ('[touchpoints.bus_journey]\nsegments = ["nobody"]\n', "touchpoints.bus_journey.segments: unknown segment 'nobody'"),
    ('[interventions.free_transport]\nsegments = ["nobody"]\n', "interventions.free_transport.segments: unknown segment 'nobody'"),
    ('[interventions.fix]\nkind = "fix_touchpoint"\ntouchpoints = ["lift"]\n', "interventions.fix.touchpoints: unknown touchpoint 'lift'"),
    ('[variants.x]\ninterventions = ["magic"]\n', "variants.x.interventions: unknown intervention 'magic'"),
    ('[story]\nmeasures = ["happiness"]\n', "story.measures: unknown measure 'happiness'"),
    ('[story]\nmeasures = ["satisfaction@nobody"]\n', "story.measures: unknown group 'nobody'"),
    ("[variants.baseline]\ninterventions = []\n", "variants.baseline: the name 'baseline' is reserved"),
])
def test_every_name_referred_to_exists(tmp_path, body, needle):
    assert needle in error_of(cxsim.load_scenario, derived(tmp_path, body))


@pytest.mark.parametrize("set_line, needle", [
    ('{ "costs.medicine" = -3 }', "variants.x: costs.medicine = -3"),
    ('{ "costs.medicne" = 3 }', "variants.x: unknown setting 'costs.medicne'"),
    ('{ "population.segments.farmers.share" = 0.9 }', "variants.x: population.segments: shares add up to"),
])
def test_a_bad_variant_fails_at_load_naming_the_variant(tmp_path, set_line, needle):
    assert needle in error_of(cxsim.load_scenario, derived(tmp_path, f'[variants.x]\ndescription = "bad"\nset = {set_line}\n'))


def test_a_variant_set_as_nested_tables_changes_only_what_it_names(tmp_path):
    sc = cxsim.load_scenario(derived(tmp_path, "[variants.x]\ninterventions = []\n[variants.x.set.journey]\noutreach = 0.5\n"))
    v = sc.variant("x")
    assert v.journey.outreach == 0.5 and v.journey.screening == sc.journey.screening


# -- one line, always -----------------------------------------------------------------------------
def test_unreadable_paths_give_one_line(tmp_path):
    (tmp_path / "bin.toml").write_bytes(b"\x00\x01binary")
    (tmp_path / "latin.toml").write_bytes("title = 'caf\xe9'".encode("latin-1"))
    (tmp_path / "folder.toml").mkdir()
    assert "is a binary file" in error_of(cxsim.load_scenario, tmp_path / "bin.toml")
    assert "is not UTF-8 text" in error_of(cxsim.load_scenario, tmp_path / "latin.toml")
    assert "is a folder" in error_of(cxsim.load_scenario, tmp_path / "folder.toml")
    assert "is a folder" in error_of(cxsim.load_scenario, tmp_path)
    assert "not found" in error_of(cxsim.load_scenario, tmp_path / "missing.toml")
    assert "not valid TOML" in error_of(cxsim.load_scenario, scenario_file(tmp_path, "[costs\n"))
    assert "not a regular file" in error_of(cxsim.load_scenario, "/dev/zero")
    assert "is a binary file" in error_of(load_experiment, tmp_path / "bin.toml")
    assert "is a folder" in error_of(load_experiment, tmp_path / "folder.toml")


def test_long_values_and_keys_are_shortened(tmp_path):
    msg = error_of(cxsim.load_scenario, derived(tmp_path, f'[costs]\nmedicine = "{"x" * 5000}"\n'))
    assert "…" in msg and msg.count("x") < 60
    msg = error_of(cxsim.load_scenario, derived(tmp_path, f"[costs]\n{'k' * 5000} = 1\n"))
    assert "unknown field" in msg and "fields here: price" in msg
    msg = error_of(cxsim.load_scenario("aravind").with_overrides, {"costs.medicine": list(range(10_000))})
    assert "…" in msg
    many = "".join(f"[touchpoints.t{i}]\nstage = \"service\"\n" for i in range(500))
    assert "unknown touchpoint 'nope'" in error_of(cxsim.load_scenario, derived(tmp_path, many + '[interventions.f]\nkind = "fix_touchpoint"\ntouchpoints = ["nope"]\n'))


@pytest.mark.parametrize("overrides", [
    {"population": 3}, {"": 1}, {5: 1}, {"costs.medicine.x": 1}, {"interventions.free_transport": "x"},
    {"interventions": [1, 2]}, {"interventions.x": {"kind": 3}}, {"population.segments": []}, {"steps": 10**30},
    {"touchpoints.bus_journey.segments": ("farmers",)}, {"variants.aravind_1980s.set": {"costs.medicine": -1}},
])
def test_the_api_raises_only_cxerror(aravind, overrides):
    error_of(aravind.with_overrides, overrides)


def test_api_entry_points_refuse_wrong_types(aravind):
    error_of(aravind.with_overrides, [1])
    error_of(aravind.with_interventions, "free_transport")
    error_of(aravind.variant, ["x"])
    error_of(cxsim.load_scenario, 3)
    error_of(parse_experiment, [1])
    error_of(load_experiment, None)


@pytest.mark.parametrize("name", ["../../x", "/abs", "a/b", "..", "a b", "x" * 101])
def test_an_experiment_name_is_an_identifier(name):
    assert "is not a name" in error_of(parse_experiment, {"name": name})


@pytest.mark.parametrize("raw, needle", [
    ({"scenario": 5}, "scenario: give a built-in scenario name"),
    ({"customers": True}, "customers = True: Input should be a valid integer"),
    ({"replicates": 2.0}, "replicates = 2.0: Input should be a valid integer"),
    ({"options": {"periods": "x"}}, "options: periods = 'x': must be a positive number"),
    ({"options": {"color": 1}}, "options: 'color': unknown option"),
    ({"levers": {"interventions": "free_transport"}}, "levers.interventions = 'free_transport': Input should be a valid list"),
    ({"design": {"kind": "sobol", "second_order": "yes"}}, "design.second_order = 'yes'"),
])
def test_experiment_values_are_strict(raw, needle):
    assert needle in error_of(parse_experiment, raw)


def test_the_cli_gives_one_line_and_status_2_for_bad_files(tmp_path, capsys):
    from cxsim.cli import main

    cut = scenario_file(tmp_path, ARAVIND[: ARAVIND.index("daily_wage = 9") + len("daily_wage = 9")], "cut.toml")
    proc = subprocess.run([sys.executable, "-m", "cxsim.cli", "run", str(cut)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr == "cxsim: error: cut.toml: missing section [costs]: " + proc.stderr.split(": ", 4)[-1]
    assert proc.stderr.count("\n") == 1 and len(proc.stderr) < MAX_LINE + 20, proc.stderr
    (tmp_path / "bin.toml").write_bytes(b"\x00\xff")
    empty = scenario_file(tmp_path, "", "empty.toml")
    for args in (["run", str(tmp_path / "bin.toml")], ["run", str(tmp_path)], ["story", str(empty)], ["sweep", str(tmp_path / "bin.toml")],
                 ["run", "aravind", "--set", "population.customers=5000.0"], ["run", "aravind", "--set", "costs.medicine=NaN"]):
        assert main(args) == 2, args
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith("cxsim: error: ") and len(err) < MAX_LINE + 20, err


def test_models_constructed_directly_raise_cxerror_with_the_field_path():
    from cxsim.engine.scenario import Decision, Scenario, Segment
    from cxsim.experiments.spec import Experiment

    assert error_of(lambda: Segment(share="x")).startswith("Segment: share = 'x'")
    assert "population.segments.a.share = True" in error_of(lambda: Scenario(population={"segments": {"a": {"share": True}}}))
    assert "is not a name" in error_of(lambda: Experiment(name="../x"))
    assert Decision(w_fear=1).w_fear == 1.0


def test_the_segment_index_holds_every_segment_the_schema_allows():
    from cxsim.state.agents import STATE

    assert np.iinfo(STATE["segment"][0]).max + 1 >= MAX_SEGMENTS
