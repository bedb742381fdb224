"""Typed errors survive pickling (a Dask worker's error reaches the client): every subclass,
every field, the same one-line message, for ``got`` of many types."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

from accelsim.inputfile import Shown as _Shown
from accelsim.errors import AccelsimError, ConfigError, WorkloadError
from accelsim.export.capture import ExportError

CLASSES = [AccelsimError, ConfigError, WorkloadError, ExportError]
GOTS = [None, 3, -2.5, "text", True, [1, "a"], {"k": (1, 2)}, (1, 2), np.int64(7),
        np.float32(0.5), Path("a/b.yaml"), _Shown("an unknown key"), b"\x00\xff", 2**80]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("got", GOTS, ids=lambda g: type(g).__name__)
def test_round_trip_keeps_fields_and_message(cls: type, got: object) -> None:
    e = cls("arch.yaml", "dram.latency_cycles", "an integer >= 0", got)
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is cls
    assert (back.file, back.key, back.expected) == ("arch.yaml", "dram.latency_cycles",
                                                      "an integer >= 0")
    assert back.got == got and type(back.got) is type(got)
    assert str(back) == str(e) == e.one_line() == back.one_line()
    assert back.args == e.args


@pytest.mark.parametrize("cls", CLASSES)
def test_round_trip_of_an_array_got(cls: type) -> None:
    got = np.arange(6, dtype=np.int16).reshape(2, 3)
    back = pickle.loads(pickle.dumps(cls("w.npz", "layers[0].x", "int8 values", got)))
    assert np.array_equal(back.got, got) and back.got.dtype == np.int16
    assert str(back) == cls("w.npz", "layers[0].x", "int8 values", got).one_line()


@pytest.mark.parametrize("cls", CLASSES)
def test_unpicklable_got_keeps_the_message(cls: type) -> None:
    lock = threading.Lock()  # cannot be pickled
    e = cls("sweep.yaml", "", "a picklable value", lock)
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and repr(back.got) == repr(lock)
    assert (back.file, back.key, back.expected) == ("sweep.yaml", "", "a picklable value")
    assert e.got is lock  # the original error is untouched


def test_empty_key_and_pathlike_file() -> None:
    e = ConfigError(Path("x.yaml"), "", "valid YAML")
    back = pickle.loads(pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.file == "x.yaml" and back.key == "" and back.got is None
    assert str(back) == "x.yaml: expected valid YAML"


def test_raised_and_caught_after_round_trip() -> None:
    with pytest.raises(WorkloadError, match=r"^w\.npz: manifest: expected JSON \(got 'x'\)$"):
        raise pickle.loads(pickle.dumps(WorkloadError("w.npz", "manifest", "JSON", "x")))
