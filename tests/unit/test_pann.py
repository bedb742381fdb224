"""The pann PE kind (docs/pann.md): expected directions on realistic data against an 8-bit mac,
lock-step timing, addition counts, the ``pe.pann`` config block, the signed-x error through the
command line, and the shipped pann configs on the pann example workload.

Every figure a test compares against is computed in the test from the operands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.errors import ConfigError, WorkloadError
from accelsim.pe import REGISTRY
from accelsim.pe.mac import simulate_mac_gemm
from accelsim.pe.pann import PannParams, check_pann_layer, simulate_pann_gemm
from accelsim.sim.types import ArraySpec, DenseGemm
from accelsim.workload import Layer, save_workload

ROOT = Path(__file__).resolve().parents[2]
PANN_CONFIGS = sorted((ROOT / "arch_configs").glob("*-pann.yaml"))
PANN_EXAMPLE = ROOT / "workloads" / "example_pann.npz"
DATAFLOWS = ("os", "ws", "is")
SIGNS = ("dual_accumulator", "subtract")


def spec(df: str, R: int = 8, C: int = 8, xb: int = 8, wb: int = 8, acc: int = 24) -> ArraySpec:
    """An R×C array, unsigned x, signed w, wrap, idle hold (the shipped configs' modes)."""
    return ArraySpec(R, C, df, False, xb, wb, acc, False, False, True)


def activations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Post-ReLU-like unsigned 8-bit activations: half zeros, the rest half-normal (sigma 40)."""
    x = np.clip(np.rint(np.abs(rng.normal(0.0, 40.0, shape))), 0, 255).astype(np.int64)
    x[rng.random(shape) < 0.5] = 0
    return x


def laplace_counts(rng: np.random.Generator, shape: tuple[int, ...], w_max: int) -> np.ndarray:
    """PANN-like small signed counts: rounded Laplace(0, 2) clipped to [-w_max, w_max]."""
    return np.clip(np.rint(rng.laplace(0.0, 2.0, shape)), -w_max, w_max).astype(np.int64)


def total(result) -> int:
    return sum(int(v) for v in result.toggles.values())


# --- directions on realistic data -----------------------------------------------------------------


@pytest.mark.parametrize("df", DATAFLOWS)
def test_small_weights_toggle_less_than_an_8bit_mac(df):
    # Same products on the same 8-bit PE widths: weights |w| <= 2 need at most two additions of x,
    # while the mac's 8x8 multiplier switches its whole array (and its adder adds a wide product).
    rng = np.random.default_rng(1)
    ops = DenseGemm(activations(rng, (1, 64, 48)), rng.integers(-2, 3, (1, 48, 16)))
    mac = simulate_mac_gemm(ops, spec(df))
    for sign in SIGNS:
        pann = simulate_pann_gemm(ops, spec(df), params=PannParams(sign=sign))
        assert np.array_equal(pann.y, mac.y)
        assert total(pann) < total(mac), (sign, pann.toggles, mac.toggles)
        assert "mult" not in pann.toggles
        # The saving is in the arithmetic: registers that hold the same operands toggle alike.
        assert pann.toggles["x_reg"] == mac.toggles["x_reg"]
        assert pann.toggles["w_reg"] == mac.toggles["w_reg"]
        assert pann.toggles["adder"] < mac.toggles["mult"] + mac.toggles["adder"]


@pytest.mark.parametrize("df", DATAFLOWS)
def test_dual_accumulator_toggles_less_than_subtract(df):
    # PANN's positive/negative accumulators keep non-negative sums whose high bits stay quiet;
    # one add/subtract accumulator flips its sign-extension bits whenever the sum crosses zero.
    rng = np.random.default_rng(2)
    ops = DenseGemm(activations(rng, (1, 64, 48)), laplace_counts(rng, (1, 48, 16), 7))
    dual = simulate_pann_gemm(ops, spec(df), params=PannParams(sign="dual_accumulator"))
    sub = simulate_pann_gemm(ops, spec(df), params=PannParams(sign="subtract"))
    assert np.array_equal(dual.y, sub.y)
    assert dual.additions == sub.additions
    assert dual.cycles_compute == sub.cycles_compute
    assert dual.toggles["adder"] < sub.toggles["adder"]
    assert total(dual) < total(sub)


@pytest.mark.parametrize("df", ("ws", "os"))
def test_large_weights_cost_more_than_an_8bit_mac(df):
    # The other side of the trade-off: with |w| up to 127 (R = mean |w| ~ 64 additions per
    # product) the repeated additions toggle far more than one multiply-accumulate.
    rng = np.random.default_rng(3)
    ops = DenseGemm(activations(rng, (1, 32, 24)), rng.integers(-127, 128, (1, 24, 8)))
    mac = simulate_mac_gemm(ops, spec(df))
    pann = simulate_pann_gemm(ops, spec(df), params=PannParams())
    R = pann.additions / pann.macs
    assert R == pytest.approx(np.abs(ops.w).mean())
    assert R > 30
    assert total(pann) > 3 * total(mac)


# --- additions and R ------------------------------------------------------------------------------


@pytest.mark.parametrize("df", DATAFLOWS)
def test_additions_are_the_sum_of_weight_magnitudes(df):
    rng = np.random.default_rng(4)
    w = laplace_counts(rng, (2, 13, 6), 7)
    w[0, 3, :] = 0  # zero weights: no additions
    ops = DenseGemm(activations(rng, (2, 9, 13)), w)
    for A in (1, 3):
        res = simulate_pann_gemm(ops, spec(df, 4, 4), params=PannParams(adders=A))
        expected = sum(int(np.abs(w[g]).sum()) * 9 for g in range(2))  # each W entry, M times
        assert res.additions == expected
        assert res.macs == 2 * 9 * 13 * 6
        assert res.additions / res.macs == pytest.approx(np.abs(w).mean())  # R = mean |w|


# --- lock-step timing -----------------------------------------------------------------------------


def scalesim_cycles(df: str, R: int, C: int, M: int, K: int, N: int) -> tuple[int, int]:
    """(folds, SCALE-Sim stall-free cycles) of one GEMM on an R×C array."""
    rd, cd, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[df]
    folds = -(-rd // R) * -(-cd // C)
    return folds, folds * ((2 * R if df != "os" else R) + C + T - 2)


@pytest.mark.parametrize("A", (1, 2, 3))
@pytest.mark.parametrize("df", DATAFLOWS)
def test_uniform_magnitude_stretches_every_step(df, A):
    # Every |w| = 5 (random signs), full folds: every streaming step has an enabled PE needing
    # ceil(5 / A) cycles, so the stream part of each fold is stretched by exactly that factor.
    R = C = 4
    M, K, N = 8, 8, 8
    rng = np.random.default_rng(5)
    w = 5 * rng.choice((-1, 1), (1, K, N))
    ops = DenseGemm(activations(rng, (1, M, K)), w)
    folds, scalesim = scalesim_cycles(df, R, C, M, K, N)
    preload = 0 if df == "os" else R
    factor = -(-5 // A)
    res = simulate_pann_gemm(ops, spec(df, R, C), params=PannParams(adders=A))
    assert res.cycles_compute == folds * preload + factor * (scalesim - folds * preload)


@pytest.mark.parametrize("df", DATAFLOWS)
def test_weights_within_the_adders_keep_scalesim_timing(df):
    # |w| <= A: every step lasts one cycle, so cycles equal SCALE-Sim's (= the mac array's).
    rng = np.random.default_rng(6)
    ops = DenseGemm(activations(rng, (1, 7, 9)), laplace_counts(rng, (1, 9, 5), 3))
    mac = simulate_mac_gemm(ops, spec(df, 3, 2))
    pann = simulate_pann_gemm(ops, spec(df, 3, 2), params=PannParams(adders=3))
    assert pann.cycles_compute == mac.cycles_compute == scalesim_cycles(df, 3, 2, 7, 9, 5)[1]
    assert pann.cycles_active == mac.cycles_active
    huge = simulate_pann_gemm(ops, spec(df, 3, 2), params=PannParams(adders=10**6))
    assert huge.cycles_compute == mac.cycles_compute and huge.toggles == pann.toggles


def lock_step_cycles(df: str, R: int, C: int, A: int, W: np.ndarray, M: int) -> tuple[int, int]:
    """(cycles_compute, cycles_active) by brute force over folds, steps and PEs (pann.md §4):
    a step lasts max(1, max over PEs enabled in it of ceil(|w| / A))."""
    K, N = W.shape
    rd, cd, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[df]
    pre = 0 if df == "os" else R
    compute = active = 0
    for c0 in range(0, cd, C):
        for r0 in range(0, rd, R):
            r_act, c_act = min(R, rd - r0), min(C, cd - c0)
            cycles = 0
            for s in range(pre + R + C + T - 2):
                need = 1
                for r in range(r_act):
                    for c in range(c_act):
                        i = s - pre - r - c  # the streamed index this PE handles in step s
                        if not 0 <= i < T:
                            continue
                        if df == "os":  # rows <-> M, cols <-> N, time <-> K
                            w = W[i, c0 + c]
                        elif df == "ws":  # rows <-> K, cols <-> N, time <-> M
                            w = W[r0 + r, c0 + c]
                        else:  # is: rows <-> K, cols <-> M, time <-> N
                            w = W[r0 + r, i]
                        need = max(need, -(-abs(int(w)) // A))
                cycles += need
                if s == pre + T + r_act + c_act - 3:  # the last step with an enabled PE
                    active += cycles
            compute += cycles
    return compute, active


@pytest.mark.parametrize("df", DATAFLOWS)
def test_cycles_equal_the_lock_step_count(df):
    # Partial folds and mixed magnitudes: the simulator's cycles equal the brute-force count.
    rng = np.random.default_rng(7)
    M, K, N = 7, 10, 9
    W = laplace_counts(rng, (K, N), 7)
    ops = DenseGemm(activations(rng, (1, M, K)), W[None])
    for A in (1, 2):
        res = simulate_pann_gemm(ops, spec(df, 4, 3), params=PannParams(adders=A))
        assert (res.cycles_compute, res.cycles_active) == lock_step_cycles(df, 4, 3, A, W, M)
        assert res.cycles_compute > scalesim_cycles(df, 4, 3, M, K, N)[1]


# --- configuration --------------------------------------------------------------------------------

ARCH = """\
name: p
array: {rows: 4, cols: 4, dataflow: ws}
pe:
  kind: pann
  x_bits: 8
  w_bits: 4
  acc_bits: 24
"""


def test_pann_is_registered():
    kind = REGISTRY["pann"]
    assert kind.dataflows == ("os", "ws", "is") and kind.params is PannParams
    assert kind.check is check_pann_layer
    kind.warmup()  # compiles (or loads) every kernel signature on tiny inputs


def test_pe_pann_block_parsed(tmp_path: Path):
    path = tmp_path / "a.yaml"
    path.write_text(ARCH)
    assert load_arch(path).pe.params == PannParams(adders=1, sign="dual_accumulator")
    path.write_text(ARCH + "  pann: {adders: 3, sign: subtract}\n")
    assert load_arch(path).pe.params == PannParams(adders=3, sign="subtract")


@pytest.mark.parametrize("block, key, fragment", [
    ("{adders: 0}", "pe.pann.adders", "1..32768"),
    ("{adders: 32769}", "pe.pann.adders", "1..32768"),
    ("{adders: 1.5}", "pe.pann.adders", "an integer"),
    ("{sign: signed}", "pe.pann.sign", "dual_accumulator, subtract"),
    ("{adder: 2}", "pe.pann.adder", "did you mean 'adders'"),
    ("3", "pe.pann", "a mapping with keys adders, sign"),
])  # fmt: skip
def test_bad_pe_pann_block(tmp_path: Path, block: str, key: str, fragment: str):
    path = tmp_path / "a.yaml"
    path.write_text(ARCH + f"  pann: {block}\n")
    with pytest.raises(ConfigError) as info:
        load_arch(path)
    assert info.value.key == key
    assert fragment in info.value.one_line()


@pytest.mark.parametrize("path", PANN_CONFIGS, ids=lambda p: p.stem)
def test_shipped_pann_configs(path: Path):
    arch = load_arch(path)
    assert arch.name == path.stem and arch.pe.kind == "pann" and arch.pe.acc_bits == 24
    assert isinstance(arch.pe.params, PannParams)
    assert path.read_text().startswith("# ")


# --- through the command line ---------------------------------------------------------------------


def test_shipped_pann_configs_run_the_pann_example(tmp_path: Path, capsys):
    assert {p.stem for p in PANN_CONFIGS} >= {"ws-16x16-pann", "os-16x16-pann"}
    for path in PANN_CONFIGS:
        out = tmp_path / f"{path.stem}.json"
        assert main(["run", str(path), str(PANN_EXAMPLE), "--json", str(out), "--quiet"]) == 0
        doc = json.loads(out.read_text())
        assert [lr["check"] for lr in doc["layers"]] == ["exact"] * 3
        assert "mult" not in doc["layers"][0]["toggles"]
    assert "mismatch" not in capsys.readouterr().out


def test_signed_x_is_a_one_line_error(tmp_path: Path, capsys):
    rng = np.random.default_rng(8)
    x, w = rng.integers(-8, 8, (3, 4)), rng.integers(-7, 8, (4, 2))
    layer = Layer("signed_fc", "gemm", x, w, x @ w, 4, 4, True, True)
    workload = tmp_path / "w.npz"
    save_workload(workload, "signed", [layer], {"generator": "tests/unit/test_pann.py"})
    arch = tmp_path / "a.yaml"
    arch.write_text(ARCH)
    out = tmp_path / "r.json"
    assert main(["run", str(arch), str(workload), "--json", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("accelsim: error: ")
    assert "layers['signed_fc'].x_signed" in err[0] and "unsigned" in err[0]
    assert "Traceback" not in err[0] and not out.exists()


def test_lsqplus_layer_rejected():
    x, w = np.zeros((2, 3), dtype=np.int64), np.zeros((3, 2), dtype=np.int64)
    layer = Layer("q", "gemm", x, w, None, 8, 8, False, True, quant={"scheme": "lsqplus"})
    with pytest.raises(WorkloadError) as info:
        check_pann_layer(None, layer, "w.npz")
    assert info.value.key == "layers['q'].quant.scheme"


def test_simulator_refuses_signed_x():
    ops = DenseGemm(np.zeros((1, 2, 2), dtype=np.int64), np.zeros((1, 2, 2), dtype=np.int64))
    signed = ArraySpec(2, 2, "ws", False, 8, 8, 24, False, True, True)
    with pytest.raises(ValueError, match="unsigned x"):
        simulate_pann_gemm(ops, signed)


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_stretched_steps_clock_the_accumulator_once_per_extra_cycle(df):
    """clock_bits_extra counts one accumulator load per addition cycle after a MAC's first: with
    one adder and no zero weights that is additions − MACs (the kernel counts additions itself);
    zero weights add none; with two adders, ceil(|w|/2) − 1 per MAC."""
    rng = np.random.default_rng(7)
    spec = ArraySpec(3, 4, df, False, 8, 8, 24, False, False, True)
    x = rng.integers(0, 256, (1, 6, 10))
    w = rng.integers(1, 8, (1, 10, 5)) * rng.choice([-1, 1], (1, 10, 5))
    r = simulate_pann_gemm(DenseGemm(x, w), spec, params=PannParams(adders=1))
    assert r.clock_bits_extra == (r.additions - r.macs) * 24 > 0
    r2 = simulate_pann_gemm(DenseGemm(x, w), spec, params=PannParams(adders=2))
    assert r2.clock_bits_extra == 6 * int((np.ceil(np.abs(w) / 2) - 1).sum()) * 24
    zero = simulate_pann_gemm(DenseGemm(x, np.zeros_like(w)), spec, params=PannParams(adders=1))
    assert zero.clock_bits_extra == 0
