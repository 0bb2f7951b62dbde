"""A scenario written as `extends` + changes, and a shared file read back from memory (cxsim.scenario_file)."""

from __future__ import annotations

import pytest

import cxsim
from cxsim import CxError, scenario_file
from cxsim.cli import main as cli_main


@pytest.mark.parametrize("name", cxsim.list_scenarios())
def test_every_variant_written_as_a_file_reads_back_the_same(name, tmp_path):
    sc = cxsim.load_scenario(name)
    for variant in ("baseline", *sc.variants):
        world = sc.variant(variant).with_overrides({"population.customers": 300, "steps": 8, "seed": 7})
        path = tmp_path / f"{variant}.toml"
        path.write_text(scenario_file.to_toml(world, name))
        back = cxsim.load_scenario(path)
        assert back.model_dump(exclude={"name"}) == world.model_dump(exclude={"name"}), variant
        assert sc.with_overrides(scenario_file.override_paths(sc, world)).model_dump(exclude={"name"}) == world.model_dump(exclude={"name"})


def test_a_written_file_holds_only_what_changes_and_runs_the_same(tmp_path):
    sc = cxsim.load_scenario("aravind")
    world = sc.with_interventions(["free_transport"], only=True).with_overrides(
        {"interventions.free_transport.coverage": 0.5, "costs.medicine": 40.0, "population.customers": 500, "steps": 10})
    text = scenario_file.to_toml(world, "aravind", title="bus at half coverage")
    assert text.startswith("# bus at half coverage")
    assert 'extends = "aravind"' in text and "medicine = 40.0" in text and "coverage = 0.5" in text
    assert "fare_per_km" not in text and "[story]" not in text  # unchanged values stay in the built-in
    path = tmp_path / "bus.toml"
    path.write_text(text)
    ran, want = cxsim.run(cxsim.load_scenario(path), 3).summary, cxsim.run(world, 3).summary
    assert {**ran, "scenario": "-"} == {**want, "scenario": "-"} and ran["scenario"] == "bus"  # the same world, the same numbers
    assert cli_main(["run", str(path), "--seed", "3"]) == 0  # `cxsim run FILE` accepts it unchanged


def test_new_segments_and_a_changed_kind_are_written_whole(tmp_path):
    sc = cxsim.load_scenario("aravind")
    segs = sc.model_dump(mode="json")["population"]["segments"]
    first = next(iter(segs))
    segs[first]["share"] -= 0.1
    segs["newcomers"] = {**segs[first], "share": 0.1, "distance_km": 5.0}
    world = sc.with_overrides({"population.segments": segs, "population.customers": 400})
    path = tmp_path / "more.toml"
    path.write_text(scenario_file.to_toml(world, "aravind"))
    assert "[population.segments.newcomers]" in path.read_text()
    assert cxsim.load_scenario(path).population.segments["newcomers"].distance_km == 5.0


def test_toml_text_quotes_keys_and_escapes_strings():
    text = scenario_file.toml_text({"a": {"odd key": 'say "hi"\n', "n": 1, "x": [1.5, 2.0], "ok": True}})
    import tomllib

    assert tomllib.loads(text) == {"a": {"odd key": 'say "hi"\n', "n": 1, "x": [1.5, 2.0], "ok": True}}


GOOD = b'extends = "aravind"\n[population]\ncustomers = 300\n[interventions.free_transport]\nenabled = true\n'


def test_read_shared_accepts_a_good_file_from_memory():
    sc = scenario_file.read_shared(GOOD, "my bus.toml")
    assert sc.name == "my_bus" and sc.population.customers == 300 and sc.interventions["free_transport"].enabled


@pytest.mark.parametrize("data, words", [
    (b'extends = "../aravind.toml"\n', "never a path"),
    (b'extends = "/etc/passwd"\n', "never a path"),
    (b'extends = "aravind"\n[costs]\nmedicine = "lots"\n', "costs.medicine"),
    (b'extends = "aravind"\n[costs]\nmedicin = 3.0\n', "medicin"),
    (b"[population]\ncustomers = 300\n", "missing section"),
    (b"extends = \n", "not valid TOML"),
    (b"\xff\xfe", "not UTF-8"),
    (b"a\0b", "binary"),
    (b"#" * (scenario_file.MAX_SHARED_BYTES + 1), "at most 1,000,000 bytes"),
])
def test_read_shared_refuses_bad_files_in_one_line(data, words):
    with pytest.raises(CxError) as err:
        scenario_file.read_shared(data, "up.toml")
    assert words in str(err.value) and "\n" not in str(err.value) and len(str(err.value)) <= 300, str(err.value)


def test_a_file_cannot_remove_what_it_extends():
    base = cxsim.load_scenario("aravind").model_dump(mode="json")
    target = {**base, "touchpoints": {}}
    with pytest.raises(CxError, match="cannot remove"):
        scenario_file.changes(base, target)
