"""Interoperability with other tools: SCALE-Sim studies and quantized ONNX graphs in, VCD and
SAIF activity out (docs/interop.md)."""
