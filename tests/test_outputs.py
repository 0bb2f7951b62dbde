"""Correct internals and outputs that survive: draws in [0, 1), many segments, columnar run outputs."""

import numpy as np
import pytest

import cxsim
from cxsim.engine.scenario import scenario_dict, validate_scenario
from cxsim.state import randomness

M64 = 2**64 - 1


# -- uniform draws exactly in [0, 1) --------------------------------------------------------------
def _unxorshift(y: int, shift: int) -> int:
    x = y
    for _ in range(64 // shift + 1):
        x = y ^ (x >> shift)
    return x


def splitmix_preimage(out: int) -> int:
    """The state whose SplitMix64 finaliser is ``out`` (the finaliser is a bijection of uint64)."""
    x = _unxorshift(out, 31)
    x = (x * pow(int(randomness._MIX2), -1, 2**64)) & M64
    x = _unxorshift(x, 27)
    x = (x * pow(int(randomness._MIX1), -1, 2**64)) & M64
    return _unxorshift(x, 30)


WORST = [((2**53 - 1) << 11) | low for low in (0, 1, 2**10, 2**11 - 1)]  # top 53 bits all ones
NEAR_ONE = [((2**53 - k) << 11) for k in (1, 2, 2**27, 2**28, 2**29 + 1)]  # fractions within 2**-25 of 1 and just below


def test_splitmix_preimage_inverts_the_finaliser():
    for out in WORST + [0, 1, 12345678901234567]:
        state = np.array([splitmix_preimage(out)], dtype=np.uint64)
        assert int(randomness._splitmix(state)[0]) == out


@pytest.mark.parametrize("bits", WORST + NEAR_ONE)
def test_unit_is_below_one_for_the_worst_states(bits):
    u = randomness._to_unit(np.uint64(bits))
    assert 0 <= u < 1 and u <= np.float32(1 - 2**-24)
    state = np.uint64(splitmix_preimage(bits))
    assert randomness._unit(state) == u


def test_kernels_fed_the_worst_state_stay_in_range_and_finite():
    for bits in WORST:
        base = np.uint64(splitmix_preimage(bits))  # customer 0 at counter 0 draws from state == base
        ids = np.array([0], dtype=np.int64)
        u = randomness._uniform_at(ids, base, 0)[0]
        assert u == np.float32(1 - 2**-24)
        e = randomness._exponential_at(ids, base, 0)[0]
        assert np.isfinite(e) and 16 < e < 17  # −log(2**-24) ≈ 16.6
        assert randomness._uniform_counted(ids, np.zeros(1, dtype=np.int64), base)[0] == u
        assert randomness._uniform_next(ids, np.zeros(1, dtype=np.int64), base)[0] == u


def test_the_clamp_leaves_ordinary_draws_as_they_were():
    x = np.arange(1, 200_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    fractions = (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
    exact = fractions.astype(np.float32)
    got = np.array([randomness._to_unit(v) for v in x[:2000]])
    assert np.array_equal(got, exact[:2000])
    assert np.array_equal(randomness._uniform_at(np.arange(50_000), np.uint64(7), 3),
                          np.minimum(_reference_uniform(np.arange(50_000), 7, 3), np.float32(1 - 2**-24)))


def _reference_uniform(ids, base, counter):
    with np.errstate(over="ignore"):  # wrapping uint64 arithmetic, as in the kernels
        key = np.uint64(base) + np.uint64(counter) * randomness._COUNTER
    state = ids.astype(np.uint64) * randomness._GOLDEN ^ key
    bits = randomness._splitmix(state)
    return ((bits >> np.uint64(11)).astype(np.float64) * 2.0**-53).astype(np.float32)


# -- any number of segments -------------------------------------------------------------------------
SEGMENTS = 200


def many_segments(order: list[int], distinct: bool) -> cxsim.Scenario:
    """Aravind with 200 equal-share segments listed in ``order``; ``distinct``: each its own reach and wage."""
    data = scenario_dict(cxsim.load_scenario("aravind"))
    base = data["population"]["segments"]["labourers"]
    segs = {}
    for k in order:
        seg = dict(base, share=1 / SEGMENTS)
        if distinct:
            seg.update(reach=0.5 + k / 100, daily_wage=1.0 + k)
        segs[f"s{k:03d}"] = seg
    data["population"] = {**data["population"], "customers": 20_000, "segments": segs}
    return validate_scenario({**data, "steps": 20})


def test_200_identical_segments_in_any_order_give_identical_results():
    """The segment index only picks attributes: listing identical segments in another order changes nothing but labels."""
    forward = list(range(SEGMENTS))
    shuffled = list(np.random.default_rng(5).permutation(SEGMENTS))
    a, b = (cxsim.run(many_segments(o, distinct=False), seed=3) for o in (forward, shuffled))
    numbers = [k for k, v in a.summary.items() if isinstance(v, (int, float))]
    assert {k: a.summary[k] for k in numbers} == {k: b.summary[k] for k in numbers}
    # customer i is in the i-th listed bin in both runs: its segment name maps through the permutation
    codes_a = a.model.customers.segment.astype(int)
    codes_b = b.model.customers.segment.astype(int)
    assert np.array_equal(codes_a, codes_b) and codes_a.max() >= 190  # indices beyond int8 are held
    names_b = np.array(b.scenario.segment_names)[codes_b]
    assert np.array_equal(names_b, np.array([f"s{shuffled[k]:03d}" for k in codes_a]))


def test_200_distinct_segments_keep_their_own_attributes_in_any_order():
    """Each customer carries its own segment's attributes (by name), and segments have their share, whatever the order."""
    n = 20_000
    for order in (list(range(SEGMENTS)), list(range(SEGMENTS))[::-1]):
        res = cxsim.run(many_segments(order, distinct=True), seed=3)
        table = res.customers
        k = table["segment"].astype(str).str[1:].astype(int).to_numpy()
        assert np.allclose(table["reach"], (0.5 + k / 100).astype(np.float32))
        median_wage = table.groupby(k)["daily_wage"].median()
        assert np.corrcoef(median_wage.index, median_wage.to_numpy())[0, 1] > 0.99
        sizes = table["segment"].value_counts()
        assert len(sizes) == SEGMENTS
        sd = np.sqrt(n / SEGMENTS * (1 - 1 / SEGMENTS))
        assert (abs(sizes - n / SEGMENTS) < 5 * sd).all()  # binomial: 100 ± 5 sd for every segment


def test_more_segments_than_the_index_holds_is_one_clear_error():
    from cxsim import CxError
    from cxsim.state.agents import populate
    from cxsim.state.randomness import Streams

    class Tiny:  # just what populate reads: more segments than int16 holds
        class population:
            customers = 10
            segments = {f"s{k}": None for k in range(2**15)}

    with pytest.raises(CxError, match="segments"):
        populate(Tiny, Streams(1))


# -- run outputs: checked first, streamed per replicate, nothing lost ----------------------------
import json  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402

from cxsim.cli import main  # noqa: E402
from cxsim.outputs import RunWriter, check_out_dir, combine, customers_arrow, inside  # noqa: E402
from cxsim import CxError  # noqa: E402

SMALL = ["--customers", "300", "--steps", "5", "--uncertainty", "seeds"]  # per-run files: seeds only (aravind ships a posterior)


@pytest.mark.parametrize("kind", ["file", "device", "foreign folder", "unwritable"])
def test_out_is_checked_before_any_run(tmp_path, monkeypatch, capsys, kind):
    ran = []
    monkeypatch.setattr("cxsim.engine.model.run", lambda *a, **k: ran.append(1))
    target = {"file": tmp_path / "a.txt", "device": "/dev/null", "foreign folder": tmp_path, "unwritable": tmp_path / "plain" / "sub"}[kind]
    if kind == "file":
        target.write_text("precious")
    if kind == "foreign folder":
        (tmp_path / "notes.md").write_text("mine")
    if kind == "unwritable":  # under a file: cannot be created (a read-only folder would not stop root)
        (tmp_path / "plain").write_text("")
    assert main(["run", "aravind", *SMALL, "--replicates", "3", "--out", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(target) in err and "Traceback" not in err
    assert not ran  # refused before the first run
    if kind == "file":
        assert target.read_text() == "precious"


def test_an_earlier_run_folder_is_replaced_not_mixed(tmp_path):
    out = tmp_path / "again"
    assert main(["run", "aravind", *SMALL, "--replicates", "2", "--format", "csv", "--out", str(out)]) == 0
    assert main(["run", "aravind", *SMALL, "--seed", "7", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["customers.parquet", "summary.json", "timeseries.parquet"]
    assert set(pd.read_parquet(out / "customers.parquet")["seed"]) == {7}


def test_a_failing_replicate_keeps_the_finished_ones_and_says_how_to_finish(tmp_path, monkeypatch, capsys):
    import cxsim.engine.model

    real = cxsim.engine.model.run

    def flaky(sc, seed=None, **kw):
        if seed == 3:
            raise MemoryError("out of memory")
        return real(sc, seed, **kw)

    monkeypatch.setattr(cxsim.engine.model, "run", flaky)
    out = tmp_path / "part"
    assert main(["run", "aravind", *SMALL, "--replicates", "4", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "seed 3 failed (MemoryError" in err and "seeds 1–2 are kept" in err and "--seed 3 --replicates 2" in err
    assert set(pd.read_parquet(out / "customers.parquet")["seed"]) == {1, 2}  # closed: readable, both replicates
    assert set(pd.read_parquet(out / "timeseries.parquet")["seed"]) == {1, 2}
    assert [r["seed"] for r in json.loads((out / "summary.json").read_text())["replicates"]] == [1, 2]


def test_arrow_customers_table_equals_the_pandas_one():
    from cxsim.readouts.metrics import customer_table

    res = cxsim.run(cxsim.load_scenario("aravind").variant("aravind_1980s"), seed=4, customers=3000, steps=30)
    got = customers_arrow(res).to_pandas()
    expected = customer_table(res.model).assign(seed=4)
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected, check_categorical=True, check_dtype=True)


def test_parquet_customers_of_a_million_write_fast(tmp_path):
    """Measured, not tuned: building and writing the 1M-customer table (README) stays well below the run itself."""
    res = cxsim.run(cxsim.load_scenario("aravind"), seed=1, customers=1_000_000, steps=2)
    writer = RunWriter(check_out_dir(tmp_path / "big"))
    t0 = time.perf_counter()
    writer.add(res)  # the customers (and the 3 steps of the time series), as a part, then joined
    writer.close()
    seconds = time.perf_counter() - t0
    assert len(pd.read_parquet(tmp_path / "big" / "customers.parquet", columns=["seed"])) == 1_000_000
    assert seconds < 5, seconds  # ≈ 0.5–0.8 s here; a generous bound for a shared machine


def test_memory_is_flat_in_the_number_of_replicates(tmp_path):
    """Peak traced memory of 6 replicates stays near that of one: finished models are not kept."""
    import tracemalloc

    def peak(replicates: int) -> int:
        tracemalloc.start()
        assert main(["run", "aravind", "--customers", "60000", "--steps", "3", "--replicates", str(replicates), "--uncertainty", "seeds", "--out", str(tmp_path / f"{replicates}-{len(list(tmp_path.iterdir()))}")]) == 0
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    peak(2), peak(3)  # one-time costs (imports, compiled kernels, writer caches) fill over the first runs: not measured here
    one, six = peak(1), peak(6)
    assert six < 1.3 * one, (one, six)  # keeping the six models would take ≈ 6×


def test_combine_names_every_numeric_field_and_counts_missing_entries_as_zero():
    a = {"seed": 1, "scenario": "x", "customers": 10, "steps": 2, "interventions": [], "rate": 0.5, "nps": None,
         "dropout_reasons": {"cost": 4}, "note": "a"}
    b = {"seed": 2, "scenario": "x", "customers": 10, "steps": 2, "interventions": [], "rate": 0.7, "nps": None,
         "dropout_reasons": {"cost": 2, "fear": 2}, "note": "b"}
    c = {"seed": 3, "scenario": "x", "customers": 10, "steps": 2, "interventions": [], "rate": 0.6, "nps": None,
         "dropout_reasons": {"cost": 3, "fear": 1}, "note": "c"}
    assert combine([a, b])["ci95"]["rate"] == [None, None]  # two replicates: no interval (cxsim.readouts.metrics.MIN_REPLICATES)
    out = combine([a, b, c])
    assert out["scenario"] == "x" and "seed" not in out and "seeds" not in out and "rate" not in out and "note" not in out
    assert out["mean"]["rate"] == pytest.approx(0.6) and out["ci95"]["rate"][0] < 0.6 < out["ci95"]["rate"][1]
    assert out["mean"]["nps"] is None and out["ci95"]["nps"] == [None, None]
    assert out["mean"]["dropout_reasons"] == {"cost": 3.0, "fear": 1.0}
    assert [r["note"] for r in out["replicates"]] == ["a", "b", "c"] and [r["seed"] for r in out["replicates"]] == [1, 2, 3]


# -- safe paths --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../x", "../../etc", "/tmp/elsewhere", "a/../../b"])
def test_inside_refuses_paths_that_leave_the_folder(tmp_path, name):
    with pytest.raises(CxError, match="would leave the folder"):
        inside(tmp_path, name)
    assert inside(tmp_path, "plain") == (tmp_path / "plain").resolve()


def test_default_results_folder_stays_under_results(tmp_path, monkeypatch):
    from cxsim.experiments.spec import Experiment
    from cxsim.experiments.sweep import results_folder

    monkeypatch.chdir(tmp_path)
    assert results_folder(Experiment(name="ok"), None) == (tmp_path / "results" / "ok").resolve()
    for bad in ("../../x", "/abs/path", "a/../../../b"):
        exp = Experiment.model_construct(name=bad)  # even if the name slipped past the spec's own check
        with pytest.raises(CxError, match="would leave"):
            results_folder(exp, None)


@pytest.mark.parametrize("scenario", ['"../outside.toml"', '"/etc/cxsim.toml"', '"sub/../../outside.toml"'])
def test_an_experiment_cannot_point_its_scenario_outside_its_folder(tmp_path, scenario):
    from cxsim.experiments import load_experiment, make_plan

    folder = tmp_path / "exp"
    folder.mkdir()
    (tmp_path / "outside.toml").write_text((cxsim.engine.scenario.SCENARIO_DIR / "aravind.toml").read_text())
    (folder / "e.toml").write_text(f'scenario = {scenario}\ncustomers = 100\nreplicates = 1\n')
    with pytest.raises(CxError, match="scenario = "):
        make_plan(*load_experiment(folder / "e.toml"))


def test_a_scenario_beside_the_experiment_is_fine(tmp_path):
    from cxsim.experiments import load_experiment, make_plan

    (tmp_path / "mine.toml").write_text((cxsim.engine.scenario.SCENARIO_DIR / "aravind.toml").read_text())
    (tmp_path / "e.toml").write_text('scenario = "mine.toml"\ncustomers = 100\nreplicates = 1\n')
    assert len(make_plan(*load_experiment(tmp_path / "e.toml")).tasks) == 1


# -- bounded work ------------------------------------------------------------------------------------
def _experiment_file(tmp_path, text):
    path = tmp_path / "big.toml"
    path.write_text('scenario = "aravind"\n' + text)
    return path


def test_a_huge_sobol_design_is_refused_at_once_from_its_parameters(tmp_path, monkeypatch):
    """2^19 base samples × 50 uncertainties = 27M runs: refused before SALib draws a single sample."""
    from cxsim.experiments import design
    from cxsim.experiments import load_experiment, make_plan

    def no_sampling(*a, **k):
        raise AssertionError("samples were drawn")

    monkeypatch.setattr(design, "salib_sample", no_sampling)
    names = [f"population.segments.labourers.{a}" for a in ("fear", "trust", "need", "latent_need", "expectation")]
    body = "[design]\nkind = \"sobol\"\nsamples = 524288\n[uncertainties]\n" + "\n".join(f'"{n}" = [0.1, 0.9]' for n in names)
    exp_file = _experiment_file(tmp_path, body)
    exp, source = load_experiment(exp_file)
    exp = exp.model_copy(update={"uncertainties": {f"u{k}": exp.uncertainties[names[0]] for k in range(50)}})  # 50 uncertainties
    t0 = time.perf_counter()
    with pytest.raises(CxError, match="runs planned"):
        design.check(design.workload(exp, design.base_scenario(exp, source), {"base": {}}))
    assert design.design_size(exp) == 524288 * 52
    with pytest.raises(CxError, match=r"--allow-large|runs planned"):
        make_plan(*load_experiment(exp_file))  # 5 uncertainties: 3.7M runs × 10k × 52 > bound
    assert time.perf_counter() - t0 < 5


def test_the_cli_refuses_a_large_sweep_with_the_estimate_and_the_flag(tmp_path, capsys):
    body = 'customers = 1000000\nreplicates = 100\n[design]\nkind = "lhs"\nsamples = 50\n[uncertainties]\n"decision.w_fear" = [0.5, 1.5]\n'
    exp_file = _experiment_file(tmp_path, body)
    assert main(["sweep", str(exp_file), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "5000 runs × 1,000,000 customers × 52 steps".replace("5000", "5,000") in err
    assert "--allow-large" in err and not (tmp_path / "o").exists()


def test_estimates_cover_policies_and_ranges_of_size(tmp_path):
    from cxsim.experiments import design
    from cxsim.experiments import load_experiment

    body = ('customers = 1000\nreplicates = 2\n[levers]\ninterventions = ["free_transport", "free_medicine"]\ncombine = ["each", "all"]\n'
            '[design]\nkind = "factorial"\nlevels = 3\n[uncertainties]\n"population.customers" = [1000, 4000]\n"steps" = { values = [10, 80] }\n')
    exp, source = load_experiment(_experiment_file(tmp_path, body))
    base = design.base_scenario(exp, source)
    work = design.workload(exp, base, design.policies(exp, base))
    assert (work.runs, work.customers, work.steps) == (3 * 2 * 4 * 2, 4000, 80)  # points × policies (baseline, 2 alone, all) × replicates
    plan = design.make_plan(exp, source)
    assert len(plan.tasks) <= work.runs


def test_run_many_refuses_above_the_bound_unless_allowed():
    from cxsim.experiments import run_many

    with pytest.raises(CxError, match="allow_large=True"):
        run_many("aravind", [{"population.customers": 5_000_000, "steps": 2000}], seeds=range(30))


def test_the_explorer_asks_before_a_large_page():
    from cxsim.workload import EXPLORER_BOUND, Workload, needs_confirmation

    assert not needs_confirmation(Workload(2 * 3, 10_000, 52))  # the default page
    assert needs_confirmation(Workload(2 * 30, 5_000_000, 52))
    assert Workload(2, 10**6, 1000).customer_steps > EXPLORER_BOUND


def test_the_explorer_page_waits_for_confirmation_above_its_bound(monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from cxsim import workload

    monkeypatch.setattr(workload, "EXPLORER_BOUND", 1e5)  # so that a small page is "large" here
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app" / "explorer.py"), default_timeout=60)
    app.session_state["aravind:population.customers"] = 500
    app.run()
    assert not app.exception
    assert any("Not computed" in i.value for i in app.info) and not app.metric  # nothing ran
    assert "customer-steps" in app.sidebar.warning[0].value
    app.sidebar.checkbox(key="allow_large").check().run()
    assert not app.exception and app.metric  # computed once confirmed


def test_a_refused_command_leaves_no_folder_behind(tmp_path):
    out = tmp_path / "new" / "deeper"
    assert main(["run", "nowhere", "--out", str(out)]) == 2
    assert not (tmp_path / "new").exists()
