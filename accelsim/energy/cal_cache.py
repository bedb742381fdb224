"""On-disk cache of calibrations: the expected node toggles of every calibrated unit and width,
computed once per technology table instead of on every run (about 0.5 s for the 45 nm table).

- **Where**: ``$ACCELSIM_CACHE_DIR`` if set (empty: no cache), else
  ``$XDG_CACHE_HOME/accelsim``, else ``~/.cache/accelsim``; one file
  ``calibration-<key>.json`` per key. Never next to an input file.
- **Key**: sha256 over what the numbers depend on: the table's calibration inputs (the reference
  operations and widths it calibrates, the register reference, the calibration settings), the
  accelsim version and the source of the node models (``energy/calibrate.py``,
  ``kernels/bits.py``), so an edited model never reads stale numbers.
- **Safety**: JSON only (no pickle), at most :data:`MAX_BYTES`; written to a temp file in the cache
  folder and renamed; a missing, unreadable, corrupt or foreign file is ignored (the caller
  recomputes and rewrites it), and a cache folder that cannot be written only costs the
  recomputation. Floats round-trip exactly through JSON, so cached and computed calibrations are
  identical.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

#: Environment variable naming the cache folder (empty: caching off).
CACHE_ENV = "ACCELSIM_CACHE_DIR"
#: ``format`` and ``version`` of a cache file.
FORMAT, VERSION = "accelsim-calibration", 1
#: Largest cache file read (bytes).
MAX_BYTES = 1 << 20
#: Sources of the node models whose expectations are cached (relative to the package).
MODEL_SOURCES = ("energy/calibrate.py", "kernels/bits.py")

#: One calibration job: (unit, operation, width bits, reference pJ per operation).
Job = tuple[str, str, int, float]
#: A cached result per job: (mean toggles per operation, method text).
Result = tuple[float, str]


def cache_dir() -> Path | None:
    """The cache folder (see the module docstring), or None when caching is off or no home
    folder is known."""
    env = os.environ.get(CACHE_ENV)
    if env is not None:
        return Path(env) if env.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "accelsim"
    try:
        return Path.home() / ".cache" / "accelsim"
    except RuntimeError:  # no HOME and no passwd entry
        return None


def _model_digest() -> str:
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in MODEL_SOURCES:
        with suppress(OSError):
            digest.update((package / name).read_bytes())
    return digest.hexdigest()


def cache_key(jobs: Sequence[Job], settings: Sequence[Any]) -> str:
    """sha256 (hex) of the jobs, the calibration settings, the accelsim version and the model
    sources."""
    from accelsim import __version__

    doc = {"format": FORMAT, "version": VERSION, "accelsim_version": __version__,
           "models": _model_digest(), "jobs": [list(j) for j in jobs],
           "settings": list(settings)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()


def cache_path(key: str) -> Path | None:
    """The cache file of ``key`` (None when caching is off)."""
    folder = cache_dir()
    return None if folder is None else folder / f"calibration-{key}.json"


def load(key: str, jobs: Sequence[Job]) -> list[Result] | None:
    """The cached results of ``jobs`` under ``key``, or None if there is no valid cache file."""
    path = cache_path(key)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            if not os.path.isfile(path) or os.fstat(f.fileno()).st_size > MAX_BYTES:
                return None
            doc = json.loads(f.read(MAX_BYTES + 1).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return _results(doc, key, jobs)


def _results(doc: Any, key: str, jobs: Sequence[Job]) -> list[Result] | None:
    """The validated results of a parsed cache file, or None."""
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT
            and doc.get("version") == VERSION and doc.get("key") == key):
        return None
    points = doc.get("points")
    if not isinstance(points, list) or len(points) != len(jobs):
        return None
    results = []
    for entry, (unit, _, width, _) in zip(points, jobs):
        if not (isinstance(entry, list) and len(entry) == 4 and entry[:2] == [unit, width]):
            return None
        mean, method = entry[2], entry[3]
        if (not isinstance(mean, float) or not math.isfinite(mean) or mean <= 0
                or not isinstance(method, str)):
            return None
        results.append((mean, method))
    return results


def store(key: str, jobs: Sequence[Job], results: Sequence[Result]) -> None:
    """Write the results of ``jobs`` under ``key`` atomically; any OSError is ignored (a cache
    that cannot be written is only slower)."""
    path = cache_path(key)
    if path is None:
        return
    doc = {"format": FORMAT, "version": VERSION, "key": key,
           "points": [[unit, width, mean, method]
                      for (unit, _, width, _), (mean, method) in zip(jobs, results)]}
    data = (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
