"""accelsim: a cycle-level, bit-accurate simulator of systolic-array DNN accelerators."""

__version__ = "0.1.0"
