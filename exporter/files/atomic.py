"""Atomic file output: write to a hidden temporary file, rename it onto the target when done.

Readers of the target path see either the previous file (or none) or the complete new one,
never a partial write; a failed or cancelled write leaves no trace but the removed temporary.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiofiles
import anyio

#: Temporary files end with this; ``temporary_files_for`` finds the ones a dead writer left.
PARTIAL_SUFFIX = ".part"


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
async def open_atomic(path: Path) -> AsyncIterator[AtomicFile]:
    """Write ``path`` atomically: the block writes, a normal exit publishes the file.

    The data is fsynced before the rename and the directory after it, so a crash (or power
    loss) right after this returns cannot leave an empty or partial file under ``path``. Any
    exception or cancellation in the block removes the temporary file instead.
    """
    temporary = temporary_path_for(path)
    try:
        async with aiofiles.open(temporary, "xb") as handle:
            file = AtomicFile(path=path, temporary_path=temporary, handle=handle)
            yield file
            await handle.flush()
            await anyio.to_thread.run_sync(os.fsync, handle.fileno())
        await anyio.to_thread.run_sync(_publish, temporary, path)
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(FileNotFoundError):
            await anyio.Path(temporary).unlink()
        raise


def _publish(temporary: Path, path: Path) -> None:
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
