"""Output paths: what an output path may be, that no output names an input or another output, and
the all-or-nothing write of a command's outputs.

Policy (docs/decisions.md, "Output paths"):

- A **missing path or a regular file** is written atomically: a temp file in the target's folder,
  renamed over the target once every output was staged. A **symlink** is followed: its final
  target is the file written (atomically there); the link itself stays.
- A **character device** (``/dev/null``, a terminal, ``/dev/stdout`` on a terminal) and a
  **FIFO** (a named pipe, ``/dev/stdout`` into a pipe) are written in place: opened for writing,
  never created, truncated or renamed. A FIFO needs a reader when the outputs are written
  (it is opened without blocking; no reader is an error and nothing is written).
- Anything else (a folder, a block device, a socket) is refused, as is a missing path under
  ``/dev``, ``/proc`` or ``/sys``, and a regular file reached through ``/proc`` (``/dev/stdout``
  redirected to a file: replacing that file would lose what the shell writes to it).
- No output may be the same file as an input (same resolved path, or the same inode: symlinks and
  hard links included), and no two outputs may be the same file, except character devices (two
  outputs to ``/dev/null`` lose nothing).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from accelsim.errors import OutputError

#: Folders in which an output is never created (only an existing device in them is written).
SYSTEM_DIRS = ("/dev/", "/proc/", "/sys/")


@dataclass(frozen=True)
class Target:
    """Where an output path really writes.

    Attributes
    ----------
    path : Path
        The path as given.
    real : Path
        The path written: symlinks resolved (for in-place writes the path as given, which the
        kernel resolves when opening it).
    stream : bool
        Written in place (character device or FIFO): no temp file, no rename.
    char_device : bool
        A character device (duplicates allowed).
    identity : tuple of int or None
        ``(st_dev, st_ino)`` of an existing target.
    """

    path: Path
    real: Path
    stream: bool
    char_device: bool
    identity: tuple[int, int] | None


def resolve_output(path: Path | str, option: str, new_folder: Path | None = None) -> Target:
    """Classify an output path by the policy of this module; ``new_folder`` is a folder that
    will be created before writing (a new file in it is accepted while it is missing).

    Raises
    ------
    OutputError
        The path is a folder, a block device or socket, cannot be examined, or is a new file in a
        missing or unwritable folder or under ``/dev``, ``/proc``, ``/sys``.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(str(path), option, "a path that can be examined",
                          exc.strerror or str(exc)) from None
    if st is None:
        if str(real).startswith(SYSTEM_DIRS):
            raise OutputError(str(path), option, "an existing device, or a file outside /dev, "
                              "/proc and /sys", "no such file")
        folder = real.parent
        pending = new_folder is not None and not new_folder.exists() and (
            folder == Path(os.path.realpath(new_folder)))
        if not pending and (not folder.is_dir() or not os.access(folder, os.W_OK)):
            raise OutputError(str(path), option, "a path in an existing, writable folder")
        return Target(path, real, False, False, None)
    identity = (st.st_dev, st.st_ino)
    if stat.S_ISREG(st.st_mode) and _through_proc(path):
        raise OutputError(str(path), option, "the file's own path (this one reaches a regular "
                          "file through /proc, e.g. /dev/stdout redirected to a file, which "
                          "cannot be replaced safely)", str(real))
    if stat.S_ISREG(st.st_mode):
        if not os.access(real.parent, os.W_OK):
            raise OutputError(str(path), option, "a file in a writable folder "
                              "(it is replaced by a new file)")
        return Target(path, real, False, False, identity)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return Target(path, path, True, stat.S_ISCHR(st.st_mode), identity)
    kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a block device or socket"
    raise OutputError(str(path), option, "a file path, a character device or a FIFO", kind)


def _through_proc(path: Path) -> bool:
    """Whether ``path`` is resolved through ``/proc`` (``/dev/stdout``, ``/dev/fd/N``, ...)."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's limit on symlinks in a path
        folder = os.path.realpath(os.path.dirname(current))
        current = os.path.join(folder, os.path.basename(current))
        if current.startswith("/proc/"):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.join(folder, os.readlink(current))
    return True


@dataclass(frozen=True)
class Output:
    """One output file of a command: the option that names it and its target."""

    option: str
    target: Target


def _same(a: Target, b: Target) -> bool:
    if a.identity is not None and a.identity == b.identity:
        return True
    return not (a.stream or b.stream) and a.real == b.real


def check_outputs(outputs: Iterable[tuple[str, Path]], inputs: Iterable[tuple[str, Path]],
                  new_folder: Path | None = None) -> list[Output]:
    """Resolve every output and check that none is an input and no two are the same file.

    Parameters
    ----------
    outputs : iterable of (option, path)
        The command's outputs, e.g. ``("--json", Path("r.json"))``.
    inputs : iterable of (label, path)
        The files the command reads, e.g. ``("ARCH.yaml", Path("a.yaml"))``; missing ones are
        skipped (their loaders report them).
    new_folder : Path, optional
        A folder the command creates before writing (``--trace DIR``), see
        :func:`resolve_output`.

    Returns
    -------
    list of Output

    Raises
    ------
    OutputError
        Naming the output's path and option, and the input or other option it coincides with.
    """
    seen: list[Output] = []
    sources = []
    for label, path in inputs:
        with suppress(OSError):
            st = os.stat(path)
            sources.append((label, Target(Path(path), Path(os.path.realpath(path)), False, False,
                                          (st.st_dev, st.st_ino))))
    for option, path in outputs:
        target = resolve_output(path, option, new_folder)
        for label, source in sources:
            if _same(target, source):
                raise OutputError(str(path), option, "an output path that is not an input file",
                                  f"the same file as the input {label} {source.path}")
        for other in seen:
            if _same(target, other.target) and not (target.char_device and
                                                    other.target.char_device):
                raise OutputError(str(path), option, "a path no other output writes",
                                  f"the same file as {other.option} {other.target.path}")
        seen.append(Output(option, target))
    return seen


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _open_stream(target: Target, option: str) -> int:
    """Open a character device or FIFO for writing without blocking (a FIFO without a reader
    fails), then switch the descriptor to blocking writes."""
    try:
        fd = os.open(target.path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == errno.ENXIO and not target.char_device:
            raise OutputError(str(target.path), option, "a FIFO that a process is reading",
                              "no reader") from None
        raise OutputError(str(target.path), option, "a device or FIFO that can be opened for "
                          "writing", exc.strerror or str(exc)) from None
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    return fd


def write_atomically(files: Mapping[Path, bytes], options: Mapping[Path, str] | None = None
                     ) -> None:
    """Write all files or none (for regular files; in-place writes cannot be undone).

    Every path is resolved by :func:`resolve_output`: regular files are staged as temp files in
    their real folder, then character devices and FIFOs are opened (all of them, before any is
    written) and written, and only then are the temp files renamed over their targets.

    Parameters
    ----------
    files : mapping of Path to bytes
        The content of every output.
    options : mapping of Path to str, optional
        The option that names each path, for messages (default ``"output"``).

    Raises
    ------
    OutputError
        Naming the file and its option, after removing every temp file.
    """
    mode = 0o666 & ~_umask()
    staged: list[tuple[str, Path, Path]] = []
    streams: list[tuple[int, Path, bytes]] = []
    options = options or {}
    path = Path()
    try:
        targets = [(p, resolve_output(p, options.get(p, "output")), data)
                   for p, data in files.items()]
        for path, target, data in targets:
            if target.stream:
                continue
            fd, tmp = tempfile.mkstemp(dir=target.real.parent, prefix=f".{target.real.name}.",
                                       suffix=".tmp")
            staged.append((tmp, target.real, path))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)
        for path, target, data in targets:
            if target.stream:
                streams.append((_open_stream(target, options.get(path, "output")), path, data))
        for fd, path, data in streams:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        for tmp, real, path in staged:
            os.replace(tmp, real)
        staged.clear()
    except OSError as exc:
        raise OutputError(str(path), options.get(path, "output"), "a file that can be written",
                          exc.strerror or str(exc)) from None
    finally:
        for fd, _, _ in streams:
            with suppress(OSError):
                os.close(fd)
        for tmp, _, _ in staged:
            with suppress(OSError):
                os.unlink(tmp)
