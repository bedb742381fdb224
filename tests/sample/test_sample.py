"""Sampled mode (``accelsim run --sample``, docs/sampling.md): exact at full sampling on every PE
kind and dataflow it runs, 95 % intervals that cover the exact totals, determinism, and the
command line's refusals."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.energy import energy_pj
from accelsim.pipeline import simulate_report
from accelsim.report import report_json
from accelsim.sim.estimate import (collapse, collapsed_estimate, sample_sizes, stratum_estimate,
                                   systematic)
from accelsim.sim.layer import simulate_layer
from accelsim.sim.sample import (SampleSpec, _Frame, _simulate_unit, _references,
                                 simulate_layer_sampled)
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.workload import Layer, lower, save_workload

KIND_BLOCK = {"mac": "", "pann": ", pann: {adders: 2, sign: dual_accumulator}",
              "lsqplus": ", lsqplus: {rescale: output}", "bitserial": ""}


def write_arch(folder: Path, kind: str, dataflow: str, rows: int = 4, cols: int = 3,
               acc: int = 32, idle: str = "hold") -> Path:
    path = folder / f"{kind}-{dataflow}-{rows}x{cols}-{acc}-{idle}.yaml"
    path.write_text(f"name: t\narray: {{rows: {rows}, cols: {cols}, dataflow: {dataflow}, "
                    f"idle: {idle}}}\npe: {{kind: {kind}, x_bits: 8, w_bits: 8, "
                    f"acc_bits: {acc}{KIND_BLOCK[kind]}}}\n")
    return path


def conv(kind: str, groups: int, seed: int = 1) -> Layer:
    """A small conv whose GEMM has edge folds in both array dimensions (M = 25, K = 54 or 27,
    N = 7 or 8 on a 4×3 array)."""
    rng = np.random.default_rng(seed)
    out = 7 if groups == 1 else 8
    x = rng.integers(0, 256, (1, 6, 5, 5))
    w = (rng.integers(-6, 7, (out, 6 // groups, 3, 3)) if kind == "pann"
         else rng.integers(-128, 128, (out, 6 // groups, 3, 3)))
    quant: dict = {"scheme": "int"}
    if kind == "lsqplus":
        quant = {"scheme": "lsqplus", "x_zero_point": 100,
                 "w_zero_point": rng.integers(1, 4, out), "bias": rng.integers(-500, 500, out),
                 "multiplier": rng.integers(1 << 30, 1 << 31, out),
                 "shift": rng.integers(-12, -6, out), "y_zero_point": -3, "y_bits": 8,
                 "y_signed": True}
    return Layer("c", "conv2d", x, w, None, 8, 8, False, True, padding=(1, 1), groups=groups,
                 quant=quant)


RUNS = [(k, d) for k in KIND_BLOCK for d in ("os", "ws", "is") if (k, d) != ("lsqplus", "os")]


@pytest.mark.parametrize("kind, dataflow", RUNS)
@pytest.mark.parametrize("groups", [1, 2])
def test_full_sampling_equals_the_exact_run(tmp_path: Path, kind: str, dataflow: str,
                                            groups: int) -> None:
    """Every unit simulated from its rebuilt warm state: the totals are the exact run's, bit
    for bit, and so is the energy."""
    arch = load_arch(write_arch(tmp_path, kind, dataflow))
    layer = conv(kind, groups)
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, 3))
    a, b = exact.result, sampled.result
    assert b.toggles == a.toggles
    for key in ("overflows", "folds", "cycles_compute", "cycles_active", "macs", "additions",
                "clock_bits_extra"):
        assert getattr(b, key) == getattr(a, key), key
    assert np.array_equal(sampled.y, exact.y) and sampled.check == exact.check == "exact"
    assert energy_pj(arch, sampled) == energy_pj(arch, exact)
    assert sampled.sample.units_simulated == sampled.sample.units_total
    assert not np.any(sampled.sample.estimate.half_width())


@pytest.mark.parametrize("kind, dataflow", [("pann", "ws"), ("pann", "is"), ("bitserial", "ws")])
def test_a_sample_dearer_than_the_layer_runs_the_layer_once(tmp_path: Path, kind: str,
                                                           dataflow: str) -> None:
    """At --sample 0.5 on the stationary family every sampled tile would also run its
    predecessor twice (more folds than the layer has): the layer runs whole, once, and reports
    the exact totals with zero-width intervals."""
    from accelsim.sim.sample import _sample_cost

    arch = load_arch(write_arch(tmp_path, kind, dataflow))
    layer = conv(kind, 1)
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(0.5, 3))
    info = sampled.sample
    frame = _Frame(lower(layer), DATAFLOWS[dataflow], 4, 3)
    strata: dict = {}
    for u in frame.units():
        strata[frame.shape(u)] = strata.get(frame.shape(u), 0) + 1
    keys = sorted(strata)
    assert _sample_cost(frame, keys, sample_sizes([strata[k] for k in keys], 0.5)) \
        >= info.folds_total
    assert sampled.result.toggles == exact.result.toggles
    for key in ("overflows", "folds", "cycles_compute", "additions", "clock_bits_extra"):
        assert getattr(sampled.result, key) == getattr(exact.result, key), key
    assert energy_pj(arch, sampled) == energy_pj(arch, exact)
    assert info.units_simulated == info.units_total
    assert info.folds_run == info.folds_sampled == info.folds_total == exact.result.folds
    assert not np.any(info.estimate.half_width()) and sampled.check == "exact"


@pytest.mark.parametrize("kind", ["mac", "pann", "bitserial"])
def test_full_sampling_with_chunked_os_units(tmp_path: Path, kind: str) -> None:
    """M = 81 rows on 4 array rows: 20 full row tiles, so each output-stationary unit is a chunk
    of 2 row tiles after one warm-up fold, and an edge tile of 1 row; still exact."""
    from accelsim.sim.sample import _Frame
    from accelsim.dataflows import REGISTRY as DATAFLOWS
    from accelsim.workload import lower

    arch = load_arch(write_arch(tmp_path, kind, "os"))
    rng = np.random.default_rng(9)
    w = rng.integers(-6, 7, (7, 3, 3, 3)) if kind == "pann" else \
        rng.integers(-128, 128, (7, 3, 3, 3))
    layer = Layer("c", "conv2d", rng.integers(0, 256, (1, 3, 9, 9)), w, None, 8, 8, False, True,
                  padding=(1, 1))
    assert _Frame(lower(layer), DATAFLOWS["os"], 4, 3).chunk() == 2
    exact = simulate_layer(arch, layer).result
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, 0)).result
    assert sampled.toggles == exact.toggles
    assert (sampled.cycles_compute, sampled.additions) == (exact.cycles_compute, exact.additions)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_full_sampling_counts_overflows_exactly(tmp_path: Path, dataflow: str) -> None:
    """A 16-bit wrapping accumulator overflows: the sampled counters still equal the exact
    run's, and the outputs check fails in both modes."""
    arch = load_arch(write_arch(tmp_path, "mac", dataflow, acc=16))
    layer = conv("mac", 1)
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, 0))
    assert exact.result.overflows > 0
    assert sampled.result.overflows == exact.result.overflows
    assert sampled.result.toggles == exact.result.toggles
    assert sampled.check == exact.check == "mismatch"


def network(seed: int) -> SimpleNamespace:
    """Three seeded layers with image structure (zero padding, ReLU-like activations), 8-bit."""
    rng = np.random.default_rng(seed)

    def act(shape: tuple[int, ...]) -> np.ndarray:
        return np.clip(np.rint(np.maximum(rng.normal(0, 64, shape), 0)), 0, 255).astype(np.int64)

    def wts(shape: tuple[int, ...]) -> np.ndarray:
        return np.clip(np.rint(rng.normal(0, 40, shape)), -128, 127).astype(np.int64)

    layers = [
        Layer("c1", "conv2d", act((1, 3, 12, 12)), wts((8, 3, 3, 3)), None, 8, 8, False, True,
              padding=(1, 1)),
        Layer("c2", "conv2d", act((1, 8, 10, 10)), wts((12, 8, 3, 3)), None, 8, 8, False, True,
              padding=(1, 1)),
        Layer("fc", "linear", act((6, 48)), wts((10, 48)), None, 8, 8, False, True),
    ]
    return SimpleNamespace(name="net", sha256="-", path="net.npz", labels=None, layers=layers)


@pytest.mark.parametrize("dataflow", ["os", "is"])  # ws: this net has only 8 output tiles
def test_intervals_cover_the_exact_totals(tmp_path: Path, dataflow: str) -> None:
    """Over 40 seeds at --sample 0.25, at least 90 % of the per-class 95 % intervals and of
    the energy intervals hold the exact total, and the estimates scatter around it."""
    arch = load_arch(write_arch(tmp_path, "mac", dataflow, rows=4, cols=4))
    wl = network(5)
    exact = simulate_report(arch, wl, wl.layers).report.total
    inside = energy_inside = 0
    classes = list(exact.toggles)
    errors = []
    for seed in range(40):
        t = simulate_report(arch, wl, wl.layers, sample=SampleSpec(0.25, seed)).report.total
        assert t.sample["folds_sampled"] < t.sample["folds_total"]
        inside += sum(t.toggles_ci95[c][0] <= exact.toggles[c] <= t.toggles_ci95[c][1]
                      for c in classes)
        lo, hi = t.energy_ci95_pj
        energy_inside += lo <= exact.energy_pj["total"] <= hi
        errors.append(t.energy_pj["total"] / exact.energy_pj["total"] - 1)
    assert inside >= 0.9 * 40 * len(classes)
    assert energy_inside >= 0.9 * 40
    assert abs(np.mean(errors)) < 0.01  # no visible bias
    assert np.std(errors) > 0  # the seeds do draw different samples


def test_same_seed_same_bytes_other_seed_other_sample(tmp_path: Path) -> None:
    arch = load_arch(write_arch(tmp_path, "mac", "os", rows=4, cols=4))
    wl = network(2)

    def report(seed: int) -> bytes:
        return report_json(simulate_report(arch, wl, wl.layers,
                                           sample=SampleSpec(0.2, seed)).report)

    assert report(7) == report(7)
    assert report(7) != report(8)


@pytest.mark.parametrize("kind, dataflow", RUNS)
def test_operands_in_their_narrowest_dtypes_sample_as_int64_ones(tmp_path: Path, kind: str,
                                                                  dataflow: str) -> None:
    """Workload files store operands in the smallest dtype that holds them, and sampled mode
    computes on those (``_Frame.operands``): the same values in int64 give the same units, the
    same estimates and the same report, bit for bit."""
    arch = load_arch(write_arch(tmp_path, kind, dataflow))
    layers = [dataclasses.replace(conv(kind, g, seed=g), name=f"c{g}") for g in (1, 2)]
    wl = SimpleNamespace(name="net", sha256="-", path="net.npz", labels=None, layers=layers)

    def smallest(a: np.ndarray) -> np.ndarray:
        dtype = next(t for t in (np.uint8, np.int8, np.int16)
                     if np.iinfo(t).min <= a.min() and a.max() <= np.iinfo(t).max)
        return a.astype(dtype)

    narrow = SimpleNamespace(**{**vars(wl), "layers": [
        dataclasses.replace(layer, x=smallest(layer.x), w=smallest(layer.w)) for layer in layers]})
    assert {layer.x.dtype for layer in narrow.layers} == {np.dtype(np.uint8)}
    assert all(layer.w.dtype.itemsize == 1 for layer in narrow.layers)

    def report(workload: SimpleNamespace) -> bytes:
        return report_json(simulate_report(arch, workload, workload.layers,
                                           sample=SampleSpec(0.3, 5)).report)

    assert report(narrow) == report(wl)


def test_systematic_draws_one_unit_per_interval() -> None:
    rng = np.random.default_rng(0)
    picks, sizes = systematic(103, 11, rng)
    assert len(picks) == 11 and sizes.sum() == 103 and set(sizes) == {9, 10}
    edges = np.concatenate([[0], np.cumsum(sizes)])
    assert np.all((edges[:-1] <= picks) & (picks < edges[1:]))
    one, size = systematic(5, 1, rng)
    assert len(one) == 1 and 0 <= one[0] < 5 and list(size) == [5]
    assert list(systematic(4, 4, rng)[0]) == [0, 1, 2, 3]


def test_sample_sizes_allow_one_unit_but_never_a_lone_singleton() -> None:
    assert sample_sizes([103, 1, 5, 5], 0.1) == [11, 1, 1, 1]
    assert sample_sizes([103, 1, 5], 0.1) == [11, 1, 2]  # a lone singleton draws two
    assert sample_sizes([3, 1], 1.0) == [3, 1]


def test_collapsed_strata_variance() -> None:
    # two singletons of 4 and 6 units, estimated totals 40 and 30: T = 70, shares 0.4, 0.6,
    # deviations 40 - 28 = 12 and 30 - 42 = -12: v = 2 · (144 + 144) = 576, 1 degree of freedom
    est = collapsed_estimate(np.array([[40.0], [30.0]]), np.array([4, 6]))
    assert list(est.total) == [0.0] and list(est.variance) == [576.0]
    assert est.parts[0][1] == 1
    # proportional totals (equal unit means) have no variance
    assert not collapsed_estimate(np.array([[40.0], [60.0]]), np.array([4, 6])).variance.any()
    # five singletons: a pair and a triple
    groups = collapse([(np.array([float(i)]), 2) for i in range(5)], 1)
    assert [e.parts[0][1] for e in groups] == [1, 2]
    with pytest.raises(ValueError):
        collapse([(np.array([1.0]), 2)], 1)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_each_sampled_unit_counts_what_the_exact_run_counts_for_it(tmp_path: Path,
                                                                   dataflow: str) -> None:
    """Every unit simulated alone from its rebuilt warm state counts, per class, exactly the
    toggles the exact run's per-cycle trace holds in that unit's folds."""
    arch = load_arch(write_arch(tmp_path, "mac", dataflow))
    layer = conv("mac", 1)
    exact = simulate_layer(arch, layer, trace=True)
    from accelsim.dataflows import REGISTRY as DATAFLOWS
    from accelsim.pe import REGISTRY
    from accelsim.sim.layer import array_spec
    from accelsim.workload import lower
    df = DATAFLOWS[dataflow]
    low = lower(layer)
    kind = REGISTRY["mac"]
    frame = _Frame(low, df, 4, 3)
    _, _, ref = _references(kind, low, layer, frame)
    L = df.fold_cycles(4, 3, frame.T)
    order = list(df.folds(low.groups, low.M, low.K, low.N, 4, 3))
    classes = kind.classes(dataflow)
    for unit in frame.units():
        g, ct, r0, r1 = unit
        folds = [i for i, f in enumerate(order) if f.g == g and f.c0 == ct * 3
                 and (r0 < 0 or r0 * 4 <= f.r0 < r1 * 4)]
        window = np.concatenate([exact.result.trace[i * L:(i + 1) * L] for i in folds])
        res, ok, _ = _simulate_unit(frame, unit, kind, array_spec(arch, layer), arch, layer, ref)
        assert ok
        assert [res["toggles"][c] for c in classes] == list(window.sum(axis=0)), unit


def test_stratum_estimate_census_and_successive_differences() -> None:
    values = np.array([[3, 10], [5, 10], [9, 10]], dtype=np.int64)
    census = stratum_estimate(values, np.ones(3, dtype=np.int64), 3)
    assert list(census.total) == [17, 30] and not census.variance.any()
    est = stratum_estimate(values, np.array([2, 2, 2]), 6)
    assert list(est.total) == [34, 60]
    # (1 - 3/6) · 3 / (2 · 2) · ((10 - 6)^2 + (18 - 10)^2) = 30; a constant has no variance
    assert list(est.variance) == [30.0, 0.0]
    # a singleton: one unit drawn from 6 stands for all 6, with no variance of its own
    single = stratum_estimate(values[1:2], np.array([6]), 6)
    assert list(single.total) == [30.0, 60.0] and not single.variance.any()


# ------------------------------------------------------------------------------- command line


def write_workload(folder: Path) -> Path:
    wl = network(3)
    path = folder / "net.npz"
    save_workload(path, "net", wl.layers, {"generator": "tests/sample"})
    return path


def test_cli_sampled_run_reports_intervals_and_gemm_outputs(tmp_path: Path, capsys) -> None:
    arch, wl = write_arch(tmp_path, "mac", "ws", rows=4, cols=4), write_workload(tmp_path)
    out_e, out_s = tmp_path / "e.npz", tmp_path / "s.npz"
    assert main(["run", str(arch), str(wl), "--quiet", "--outputs", str(out_e)]) == 0
    code = main(["run", str(arch), str(wl), "--quiet", "--sample", "0.3", "--sample-seed", "4",
                 "--json", str(tmp_path / "r.json"), "--outputs", str(out_s)])
    assert code == 0
    text = capsys.readouterr().out
    assert "± 95% µJ" in text and "sampled:" in text
    report = json.loads((tmp_path / "r.json").read_text())
    for part in (*report["layers"], report["total"]):
        assert set(part["toggles_ci95"]) == set(part["toggles"])
        lo, hi = part["energy_ci95_pj"]
        assert lo <= part["energy_pj"]["total"] <= hi
        assert part["sample"]["fraction"] == 0.3 and part["sample"]["seed"] == 4
    assert report["layers"][0]["sample"]["unit"] in ("chunk", "kfolds")
    with np.load(out_e) as a, np.load(out_s) as b:
        assert sorted(a.files) == sorted(b.files)
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


@pytest.mark.parametrize("value", ["0", "-0.5", "1.01", "nan", "inf", "half"])
def test_cli_bad_fraction_exits_2(tmp_path: Path, capsys, value: str) -> None:
    arch, wl = write_arch(tmp_path, "mac", "ws"), write_workload(tmp_path)
    out = tmp_path / "r.json"
    assert main(["run", str(arch), str(wl), "--quiet", "--json", str(out), "--sample",
                 value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sample" in err[0] and "(0, 1]" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("option", ["--trace", "--vcd", "--saif"])
def test_cli_refuses_per_cycle_outputs(tmp_path: Path, capsys, option: str) -> None:
    arch, wl = write_arch(tmp_path, "mac", "ws"), write_workload(tmp_path)
    target = tmp_path / ("tr" if option == "--trace" else "a.out")
    code = main(["run", str(arch), str(wl), "--quiet", "--layers", "c1", "--sample", "0.5",
                 option, str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and option in err[0] and "--sample" in err[0]
    assert not target.exists()


@pytest.mark.parametrize("kind, dataflow, idle, key", [
    ("mac", "ws", "zero", "array.idle"), ("lsqplus", "os", "hold", "array.dataflow")])
def test_cli_refuses_what_sampling_cannot_run_exactly(tmp_path: Path, capsys, kind: str,
                                                      dataflow: str, idle: str, key: str) -> None:
    arch = write_arch(tmp_path, kind, dataflow, idle=idle)
    wl = write_workload(tmp_path)
    out = tmp_path / "r.json"
    assert main(["run", str(arch), str(wl), "--quiet", "--sample", "0.5", "--json",
                 str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and key in err[0] and str(arch) in err[0]
    assert not out.exists()


@pytest.mark.parametrize("mapping", ["", "mapping: {policy: auto}\n",
                                     "mapping: {policy: fixed, layers: {c1: {order: M>K>N}}}\n"])
def test_cli_refuses_a_mapping_other_than_fixed(tmp_path: Path, capsys, mapping: str) -> None:
    arch = write_arch(tmp_path, "mac", "ws")
    buffers = ("buffers:\n" + "".join(f"  {b}: {{size_kib: 64, word_bits: 8}}\n"
                                       for b in ("ifmap", "filter", "ofmap")))
    arch.write_text(arch.read_text() + buffers + mapping)
    wl, out = write_workload(tmp_path), tmp_path / "r.json"
    assert main(["run", str(arch), str(wl), "--quiet", "--sample", "0.5", "--json",
                 str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mapping.policy" in err[0] and str(arch) in err[0]
    assert not out.exists()
    arch.write_text(arch.read_text().replace(mapping, "") + "mapping: {policy: fixed}\n")
    assert main(["run", str(arch), str(wl), "--quiet", "--sample", "0.5", "--json",
                 str(out)]) == 0
    assert out.exists()


def test_mixed_weight_zero_points_are_refused(tmp_path: Path) -> None:
    from accelsim.errors import WorkloadError

    arch = load_arch(write_arch(tmp_path, "lsqplus", "ws"))
    layer = conv("lsqplus", 1)
    layer.quant["w_zero_point"][0] = 0
    with pytest.raises(WorkloadError, match="w_zero_point"):
        simulate_layer_sampled(arch, layer, SampleSpec(0.5), file="w.npz")
