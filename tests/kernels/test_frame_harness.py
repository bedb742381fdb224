"""One harness for every PE kind on every dataflow: the fast path (``PeKind.simulate``, i.e. the
dataflow drivers running the kind's step) must equal the kind's slow reference model exactly —
outputs, every toggle class in order, overflows, additions, extra clocked bits, folds, both cycle
counts, MACs and the full per-cycle trace — traced and untraced.

A PE kind plugs in by registering a :class:`Plug` in ``PLUGS`` (its reference and the cases it
draws); ``test_every_kind_is_plugged`` fails for a registered kind without one.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from accelsim.pe import REGISTRY
from accelsim.pe.lsqplus import LsqplusParams
from accelsim.pe.pann import PannParams
from accelsim.types import ArraySpec, DenseGemm, GemmResult
from tests.kernels.test_kernels_vs_reference import values
from tests.kernels.test_lsqplus_vs_reference import quant_block
from tests.reference.array_model import reference_simulate_gemm
from tests.reference.bitserial_model import reference_simulate_bitserial
from tests.reference.lsqplus_model import reference_simulate_lsqplus
from tests.reference.pann_model import reference_simulate_pann

REPO = Path(__file__).resolve().parents[2]
SHAPES = ((2, 3, 1, 5, 7, 4), (3, 2, 2, 3, 4, 5), (2, 2, 1, 1, 3, 2))  # (R, C, G, M, K, N)
MODES = tuple(itertools.product((False, True), repeat=2))  # (idle_zero, saturate)


@dataclass(frozen=True)
class Case:
    """One GEMM for one kind: operands, spec, the kind's params and the layer it would come from."""

    ops: DenseGemm
    spec: ArraySpec
    params: Any = None
    layer: Any = None


@dataclass(frozen=True)
class Plug:
    """How the harness runs a PE kind: ``reference(case) -> GemmResult`` (traced) and
    ``cases(rng, dataflow) -> list[Case]``; ``unmodelled``: GemmResult fields its reference does
    not compute (checked elsewhere); ``overflows``: its cases must overflow (so that overflow
    counting and saturation are compared, not only zeros)."""

    reference: Callable[[Case], GemmResult]
    cases: Callable[[np.random.Generator, str], list[Case]]
    unmodelled: tuple[str, ...] = ()
    overflows: bool = True


@dataclass(frozen=True)
class _Layer:
    quant: dict


def _plain_cases(xb: int, wb: int, signs, acc_extra: int) -> Callable:
    """Cases over SHAPES × idle/overflow modes, rotating the signedness ``signs``; the
    accumulator just wide enough for a product (it overflows) or ``acc_extra`` bits wider."""

    def cases(rng: np.random.Generator, dataflow: str) -> list[Case]:
        out = []
        for i, (shape, (zero, sat)) in enumerate(itertools.product(SHAPES, MODES)):
            R, C, G, M, K, N = shape
            xs, ws = signs[i % len(signs)]
            narrow = (i // len(MODES)) % 2 == 0  # every mode meets a narrow accumulator
            acc = xb + wb + (0 if xs or ws else 1) + (0 if narrow else acc_extra)
            spec = ArraySpec(R, C, dataflow, zero, xb, wb, acc, sat, xs, ws)
            ops = DenseGemm(values(rng, (G, M, K), xb, xs), values(rng, (G, K, N), wb, ws))
            out.append(Case(ops, spec))
        return out

    return cases


SIGNS = tuple(itertools.product((False, True), repeat=2))


def _pann_cases(rng: np.random.Generator, dataflow: str) -> list[Case]:
    out = []
    for i, (shape, (zero, sat)) in enumerate(itertools.product(SHAPES, MODES)):
        R, C, G, M, K, N = shape
        narrow = (i // len(MODES)) % 2 == 0  # 7 bits: a product fits, sums overflow
        spec = ArraySpec(R, C, dataflow, zero, 3, 4, 7 if narrow else 12, sat, False, True)
        params = PannParams(adders=1 + i % 3, sign=("dual_accumulator", "subtract")[i % 2])
        ops = DenseGemm(values(rng, (G, M, K), 3, False), values(rng, (G, K, N), 4, True))
        out.append(Case(ops, spec, params))
    return out


def _lsqplus_cases(rng: np.random.Generator, dataflow: str) -> list[Case]:
    out = []
    for i, (shape, placement) in enumerate(itertools.product(SHAPES, ("output", "pe"))):
        R, C, G, M, K, N = shape
        xs, ws = SIGNS[i % 4]
        spec = ArraySpec(R, C, dataflow, bool(i % 2), 4, 3, 32, False, xs, ws)
        quant = quant_block(rng, G * N, 4, xs, 3, ws, ("mid", "extreme")[i % 2])
        ops = DenseGemm(values(rng, (G, M, K), 4, xs), values(rng, (G, K, N), 3, ws))
        out.append(Case(ops, spec, LsqplusParams(rescale=placement), _Layer(quant)))
    return out


PLUGS: dict[str, Plug] = {
    "mac": Plug(lambda c: reference_simulate_gemm(c.ops, c.spec, trace=True),
                _plain_cases(3, 4, SIGNS, 3)),
    # The pann reference does not model clocking: clock_bits_extra is checked in tests/unit.
    "pann": Plug(lambda c: reference_simulate_pann(c.ops, c.spec, c.params, trace=True),
                 _pann_cases, unmodelled=("clock_bits_extra",)),
    "lsqplus": Plug(lambda c: reference_simulate_lsqplus(c.ops, c.spec, c.params.rescale,
                                                         c.layer.quant, trace=True),
                    _lsqplus_cases, overflows=False),  # 32-bit accumulators: the rescale varies
    "bitserial": Plug(lambda c: reference_simulate_bitserial(c.ops, c.spec, c.params, trace=True),
                      _plain_cases(3, 4, SIGNS, 2)),
}

KIND_DATAFLOWS = [(kind, df) for kind in REGISTRY for df in REGISTRY[kind].dataflows]


def assert_same(fast: GemmResult, ref: GemmResult, traced: bool,
                unmodelled: tuple[str, ...] = ()) -> None:
    """Every field equal (but ``unmodelled`` ones); the trace only when ``traced``."""
    assert np.array_equal(np.asarray(fast.y, dtype=np.int64), np.asarray(ref.y)), "outputs differ"
    assert list(fast.toggles) == list(ref.toggles), "toggle classes or their order differ"
    for name, value in ref.toggles.items():
        assert int(fast.toggles[name]) == int(value), f"toggles[{name}] differ"
    for field in ("overflows", "folds", "cycles_compute", "cycles_active", "macs",
                  "additions", "clock_bits_extra"):
        if field in unmodelled:
            continue
        assert getattr(fast, field) == getattr(ref, field), f"{field} differs"
    if traced:
        assert fast.trace is not None and ref.trace is not None
        assert fast.trace.shape == ref.trace.shape == (ref.cycles_compute, len(ref.toggles))
        assert np.array_equal(fast.trace, ref.trace), "trace differs"
    else:
        assert fast.trace is None


def test_every_kind_is_plugged() -> None:
    assert set(PLUGS) == set(REGISTRY), "register a Plug for every PE kind"


@pytest.mark.parametrize("kind,dataflow", KIND_DATAFLOWS,
                         ids=[f"{k}-{d}" for k, d in KIND_DATAFLOWS])
def test_fast_equals_reference(kind: str, dataflow: str) -> None:
    plug, pe = PLUGS[kind], REGISTRY[kind]
    rng = np.random.default_rng([sorted(REGISTRY).index(kind), ("os", "ws", "is").index(dataflow)])
    cases = plug.cases(rng, dataflow)
    assert cases
    saturated = 0
    for case in cases:
        ref = plug.reference(case)
        saturated += ref.overflows if case.spec.saturate else 0
        for traced in (True, False):
            fast = pe.simulate(case.ops, case.spec, trace=traced, params=case.params,
                               layer=case.layer)
            assert_same(fast, ref, traced, plug.unmodelled)
    assert saturated > 0 or not plug.overflows, "no saturating case overflowed"


def test_loading_an_arch_imports_no_numba() -> None:
    """PE kinds register numba-free descriptors: loading and checking an arch file needs no
    kernels (they load when a kind first simulates)."""
    code = ("import sys, accelsim.config; "
            "accelsim.config.load_arch('arch_configs/ws-32x32-int8.yaml'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'numba')[:3])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert out.stdout.strip() == "[]"


def test_no_dataflow_name_is_compared_outside_dataflows() -> None:
    """Code asks the dataflow object; only ``accelsim/dataflows`` knows the names."""
    name = r"""["'](?:os|ws|is)["']"""
    compare = re.compile(rf"(?:==|!=|\bin)\s*\(?{name}|{name}\s*(?:==|!=)")
    hits = [f"{path.relative_to(REPO)}:{i}" for path in (REPO / "accelsim").rglob("*.py")
            if "dataflows" not in path.parts
            for i, line in enumerate(path.read_text().splitlines(), 1) if compare.search(line)]
    assert hits == []
