"""Parity of ``accelsim import-onnx`` + ``accelsim run`` with ONNX Runtime on the test networks.

``python -m tests.interop.parity [FOLDER]`` builds the networks of :mod:`tests.interop.onnx_models`,
imports them, simulates them (each layer on ONNX Runtime's own inputs, and with ``--chain``) and
prints the table recorded in docs/interop.md. The tests call :func:`measure`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
import tempfile
from pathlib import Path

import numpy as np

from accelsim.cli import main
from accelsim.export.host import layer_output
from accelsim.workload import load_workload, save_workload
from tests.interop.onnx_models import NETWORKS, digits, quantized_model

ROOT = Path(__file__).resolve().parents[2]
ARCH = ROOT / "arch_configs" / "ws-16x16-lsqplus-output.yaml"


def ort_tensors(model: Path, names: list[str], x: np.ndarray) -> dict[str, np.ndarray]:
    """ONNX Runtime's values of ``names`` (plus the graph output) on ``x``, default session."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    m = onnx.load(model)
    final = m.graph.output[0].name
    m = onnx.shape_inference.infer_shapes(m)
    types = {v.name: v.type.tensor_type.elem_type for v in m.graph.value_info}
    for n in names:
        m.graph.output.append(helper.make_tensor_value_info(n, types.get(n, TensorProto.UINT8),
                                                            None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run(names + [final], {sess.get_inputs()[0].name: x})
    return dict(zip(names + [final], outs))


def measure(network: str, form: str, folder: Path, samples: int = 200) -> dict:
    """Import, simulate and compare one network; returns the parity figures."""
    x, y = digits(samples)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    model = quantized_model(network, folder, form)
    wl = folder / f"{network}-{form}.npz"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["import-onnx", str(model), "--data", str(folder / "x.npy"), "--labels",
                     str(folder / "y.npy"), "--out", str(wl)]) == 0
    workload = load_workload(wl)
    tensors = workload.source["onnx_tensors"]
    ref = ort_tensors(model, sorted({t for v in tensors.values() for t in v.values()}), x)
    # "isolated": every layer fed ONNX Runtime's own input codes, so differences do not compound
    isolated = folder / f"{network}-{form}-isolated.npz"
    layers = [dataclasses.replace(layer, x=ref[tensors[layer.name]["x"]].astype(np.int64),
                                  y=layer_output(layer, ref[tensors[layer.name]["x"]]))
              for layer in workload.layers]
    save_workload(isolated, workload.name, layers, workload.source, workload.labels)
    row = {"network": network, "form": form, "layers": len(tensors)}
    for mode in ("isolated", "chain"):
        out = folder / f"{network}-{form}-{mode}-out.npz"
        args = ["run", str(ARCH), str(isolated if mode == "isolated" else wl), "--outputs",
                str(out), "--quiet"]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(args + (["--chain"] if mode == "chain" else [])) == 0
        sim = np.load(out, allow_pickle=False)
        diffs = [np.abs(sim[f"{n}/y"].astype(np.int64) - ref[t["y"]].astype(np.int64)).ravel()
                 for n, t in tensors.items()]
        d = np.concatenate(diffs)
        last = list(tensors)[-1]
        agree = np.argmax(sim[f"{last}/y"], axis=1) == np.argmax(ref[list(ref)[-1]], axis=1)
        row[mode] = {"elements": int(d.size), "exact": float(np.mean(d == 0)),
                     "max_lsb": int(d.max()), "top1_agreement": float(np.mean(agree)),
                     "top1_sim": float(np.mean(np.argmax(sim[f"{last}/y"], axis=1) == y))}
    row["top1_ort"] = float(np.mean(np.argmax(ref[list(ref)[-1]], axis=1) == y))
    return row


def table(rows: list[dict]) -> str:
    """The markdown parity table of docs/interop.md."""
    lines = ["| network | form | layers | run | elements | exact % | max LSB diff | "
             "top-1 agreement | top-1 accelsim / ORT |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for mode in ("isolated", "chain"):
            m = r[mode]
            lines.append(f"| {r['network']} | {r['form']} | {r['layers']} | {mode} | "
                         f"{m['elements']} | {100 * m['exact']:.2f} | {m['max_lsb']} | "
                         f"{100 * m['top1_agreement']:.1f} % | {m['top1_sim']:.3f} / "
                         f"{r['top1_ort']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp)
        print(table([measure(n, f, folder) for n in NETWORKS for f in ("qdq", "qoperator")]))
