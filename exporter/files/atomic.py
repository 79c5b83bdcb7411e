"""Atomic file output: write to a hidden temporary file, rename it onto the target when done.

Readers of the target path see either the previous file (or none) or the complete new one,
never a partial write; a failed or cancelled write leaves no trace but the removed temporary.
Only a regular file (or nothing) is ever replaced, and a replaced file keeps its mode and owner;
a new one gets ``mode`` (0600 by default: exports hold data). ``plan_output`` says how to write a
path the user named, which may also be a device, a FIFO or a symlink (``exporter export -o``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiofiles
import anyio

from exporter.errors import Rejected

#: Temporary files end with this; ``temporary_files_for`` finds the ones a dead writer left.
PARTIAL_SUFFIX = ".part"
#: Mode of a new file unless told otherwise: only its owner reads exported data.
NEW_FILE_MODE = 0o600
#: Paths written in place whatever they are (``-o /dev/stdout``, ``/proc/self/fd/N``): they
#: name an open file of this process or a device, never one to replace.
_DIRECT_PREFIXES = ("/dev/", "/proc/")


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """How to write a path: atomically replace ``path`` (a regular file or nothing), or write
    into it in place (a device, a FIFO, ``/dev/stdout``)."""

    path: Path
    direct: bool


def plan_output(path: Path) -> OutputPlan:
    """How to write ``path``, checked before any work; ``Rejected`` if it cannot be written.

    A symlink is followed explicitly: the link stays, the file it names is written. A regular
    file (or a missing path in an existing directory) is replaced atomically; a character or
    block device, a FIFO or a socket is written in place, never replaced by a regular file.
    """
    if str(path).startswith(_DIRECT_PREFIXES) and os.path.exists(path):
        return OutputPlan(path, direct=True)
    if os.path.islink(path):
        path = path.resolve()  # the link's target, even one that does not exist yet
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise Rejected(f"cannot write {path}: {path.parent} is not a directory") from None
        return OutputPlan(path, direct=False)
    except OSError as exc:
        raise Rejected(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise Rejected(f"cannot write {path}: it is a directory (name a file in it)")
    return OutputPlan(path, direct=not stat.S_ISREG(mode))


@dataclass(slots=True)
class AtomicFile:
    """An open temporary file; counts and hashes what is written."""

    path: Path
    temporary_path: Path
    handle: Any
    size_bytes: int = 0
    _sha256: Any = field(default_factory=hashlib.sha256)

    async def write(self, data: bytes) -> None:
        """Append ``data``."""
        await self.handle.write(data)
        self._sha256.update(data)
        self.size_bytes += len(data)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of everything written so far."""
        return str(self._sha256.hexdigest())


def temporary_path_for(path: Path) -> Path:
    """A fresh hidden name beside ``path``: ``.name.<random>.part``."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


def temporary_files_for(path: Path) -> list[Path]:
    """Temporary files that writers of ``path`` left behind (a crashed process)."""
    return sorted(path.parent.glob(f".{path.name}.*{PARTIAL_SUFFIX}"))


@asynccontextmanager
async def open_atomic(path: Path, *, mode: int = NEW_FILE_MODE) -> AsyncIterator[AtomicFile]:
    """Write ``path`` atomically: the block writes, a normal exit publishes the file.

    The data is fsynced before the rename and the directory after it, so a crash (or power
    loss) right after this returns cannot leave an empty or partial file under ``path``. Any
    exception or cancellation in the block removes the temporary file instead. ``path`` must be
    a regular file or missing (``Rejected`` otherwise); a new file gets ``mode``, a replaced
    one keeps its own mode and owner.
    """
    temporary = temporary_path_for(path)
    fd = await anyio.to_thread.run_sync(_create_temporary, temporary, path, mode)
    try:
        async with aiofiles.open(fd, "wb") as handle:
            file = AtomicFile(path=path, temporary_path=temporary, handle=handle)
            yield file
            await handle.flush()
            await anyio.to_thread.run_sync(os.fsync, handle.fileno())
        await anyio.to_thread.run_sync(_publish, temporary, path)
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(FileNotFoundError):
            await anyio.Path(temporary).unlink()
        raise


def _create_temporary(temporary: Path, path: Path, mode: int) -> int:
    """The temporary file, opened (never through a symlink), with the mode and owner the
    published file must have: ``path``'s own if it is a regular file, else ``mode``."""
    try:
        existing: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise Rejected(f"will not replace {path}: not a regular file")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    try:
        if existing is None:
            os.fchmod(fd, mode)  # exactly: the umask neither widens nor narrows it
        else:
            with contextlib.suppress(PermissionError):  # only root may give files away
                os.fchown(fd, existing.st_uid, existing.st_gid)
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    return fd


def _publish(temporary: Path, path: Path) -> None:
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
