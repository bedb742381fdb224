"""The calibration cache (accelsim.energy.cal_cache): miss then hit, corrupt or foreign files
recomputed and rewritten, an unwritable or disabled cache still calibrates, the location rules,
and reports byte-identical with and without the cache."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from accelsim.energy import cal_cache
from accelsim.energy.calibrate import calibrate, calibration
from accelsim.energy.tech import load_tech
from tests.cli.test_cli import write_arch, write_workload

REPO = Path(__file__).resolve().parents[2]
#: The module (``accelsim.energy.calibrate`` the attribute is the function of that name).
cal_module = importlib.import_module("accelsim.energy.calibrate")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cal_cache.CACHE_ENV, str(folder))
    calibration.cache_clear()
    yield folder
    calibration.cache_clear()


@pytest.fixture
def computed(monkeypatch) -> list[tuple[str, int]]:
    """Records every (unit, width) whose expectation is computed rather than read."""
    calls: list[tuple[str, int]] = []
    real = cal_module.mean_toggles

    def spy(unit, width, *args):
        calls.append((unit, width))
        return real(unit, width, *args)

    monkeypatch.setattr(cal_module, "mean_toggles", spy)
    return calls


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("calibration-*.json"))


def test_miss_writes_then_hit_reads_identical(cache: Path, computed) -> None:
    fresh = calibrate(load_tech("45nm"))
    computed.clear()
    first = calibration("45nm")
    assert first == fresh and len(computed) == 5  # 2 multiply + 2 add + 1 register widths
    [file] = cache_files(cache)
    doc = json.loads(file.read_text())
    assert doc["format"] == "accelsim-calibration" and file.name == f"calibration-{doc['key']}.json"
    assert [p[:2] for p in doc["points"]] == [["multiplier", 8], ["multiplier", 32],
                                              ["adder", 8], ["adder", 32], ["register", 8]]
    calibration.cache_clear()
    computed.clear()
    assert calibration("45nm") == fresh and computed == []
    assert [f.name for f in cache.iterdir()] == [file.name]  # no temp file left


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "foreign-key", "nan-mean",
                                    "negative-mean", "wrong-width", "too-big", "not-a-list",
                                    "folder"])
def test_corrupt_or_foreign_cache_is_recomputed(cache: Path, computed, damage: str) -> None:
    fresh = calibration("45nm")
    [file] = cache_files(cache)
    text = file.read_text()
    original, doc = json.loads(text), json.loads(text)
    if damage == "garbage":
        file.write_bytes(b"\x80\x81not json")
    elif damage == "truncated":
        file.write_text(text[: len(text) // 2])
    elif damage == "empty":
        file.write_text("")
    elif damage == "foreign-key":
        doc["key"] = "0" * 64
        file.write_text(json.dumps(doc))
    elif damage == "nan-mean":
        file.write_text(text.replace(str(doc["points"][0][2]), "NaN", 1))
    elif damage == "negative-mean":
        doc["points"][1][2] = -1.0
        file.write_text(json.dumps(doc))
    elif damage == "wrong-width":
        doc["points"][0][1] = 16
        file.write_text(json.dumps(doc))
    elif damage == "too-big":
        file.write_text(text + " " * cal_cache.MAX_BYTES)
    elif damage == "not-a-list":
        doc["points"] = {"multiplier": 1}
        file.write_text(json.dumps(doc))
    else:
        file.unlink()
        file.mkdir()
    calibration.cache_clear()
    computed.clear()
    assert calibration("45nm") == fresh and len(computed) == 5
    if damage != "folder":  # a valid file replaces the damaged one
        assert json.loads(file.read_text()) == original
        calibration.cache_clear()
        computed.clear()
        assert calibration("45nm") == fresh and computed == []


def test_unwritable_or_disabled_cache_still_calibrates(tmp_path: Path, monkeypatch,
                                                       computed) -> None:
    fresh = calibrate(load_tech("45nm"))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for setting in (str(blocker / "cache"), ""):
        monkeypatch.setenv(cal_cache.CACHE_ENV, setting)
        calibration.cache_clear()
        computed.clear()
        assert calibration("45nm") == fresh and len(computed) == 5
    assert cal_cache.cache_dir() is None  # empty: caching off
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    calibration.cache_clear()


def test_key_follows_the_calibration_inputs(cache: Path, tmp_path: Path) -> None:
    """A table with other calibration inputs gets its own file; a changed source text only
    does not change the key."""
    path = Path(load_tech("45nm").file)
    text = path.read_text()
    other = tmp_path / "other.yaml"
    other.write_text(text.replace("seed: 2014", "seed: 2015"))
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(text.replace("name: 45nm", "name: mine"))
    assert "seed: 2014" in text and "name: 45nm" in text
    calibration("45nm")
    calibration(str(renamed))
    assert len(cache_files(cache)) == 1
    calibration(str(other))
    assert len(cache_files(cache)) == 2
    assert not list(tmp_path.glob("calibration-*"))  # never next to the input


def test_default_location(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(cal_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cal_cache.cache_dir() == tmp_path / "accelsim"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cal_cache.cache_dir() == tmp_path / "home" / ".cache" / "accelsim"


def test_reports_identical_with_and_without_cache(tmp_path: Path) -> None:
    """Three processes: no cache, a cold cache (miss), the same cache warm (hit)."""
    arch, workload = write_arch(tmp_path, "os"), write_workload(tmp_path)
    reports = []
    for i, setting in enumerate(("", str(tmp_path / "c"), str(tmp_path / "c"))):
        out = tmp_path / f"r{i}.json"
        env = {**os.environ, "PYTHONPATH": str(REPO), cal_cache.CACHE_ENV: setting}
        subprocess.run([sys.executable, "-m", "accelsim.cli", "run", str(arch), str(workload),
                        "--json", str(out), "--quiet"], cwd=REPO, env=env, check=True,
                       capture_output=True)
        reports.append(out.read_bytes())
        assert len(cache_files(tmp_path / "c")) == (0 if i == 0 else 1)
    assert reports[0] == reports[1] == reports[2]
