"""Streaming compression codecs (gzip, zstd, brotli): stateful, I/O-free, one chunk at a time.

Shared by everything that writes an export: HTTP responses (``Content-Encoding``), job files
and the CLI (a file suffix). ``compress`` may return nothing while the codec buffers;
``flush`` returns everything so far in a form the reader can already decode (a chunk boundary
on a stream); ``finish`` ends the stream, after which the compressor is spent.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import brotli
import zstandard

#: gzip level 1 (nginx's default ``gzip_comp_level``): exports stream at tens of MB/s, and the
#: higher levels cost 3-5x the CPU for a few percent of size.
GZIP_LEVEL = 1
#: zstd's own default level: faster than gzip level 1 and a better ratio.
ZSTD_LEVEL = 3
#: brotli quality 4 (what CDNs use for dynamic content): on export CSV it compresses 256 KiB in
#: about 2 ms (gzip 1: 1.4 ms, zstd 3: 0.8 ms) to a ratio of 5.8 (gzip 1: 4.6, zstd 3: 5.4);
#: the default quality, 11, is some 100x slower. It is here for clients without zstd (Safari).
BROTLI_QUALITY = 4


class Compressor(Protocol):
    """An incremental compressor for one stream."""

    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...

    def finish(self) -> bytes: ...


class _GzipCompressor:
    def __init__(self, level: int) -> None:
        # wbits 31: a gzip container (header and CRC trailer), which is what `gzip -d`,
        # browsers (Content-Encoding: gzip) and pandas expect.
        self._zlib = zlib.compressobj(level, zlib.DEFLATED, 31)

    def compress(self, data: bytes) -> bytes:
        return self._zlib.compress(data)

    def flush(self) -> bytes:
        return self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._zlib.flush(zlib.Z_FINISH)


class _ZstdCompressor:
    def __init__(self, level: int) -> None:
        self._zstd = zstandard.ZstdCompressor(level=level).compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._zstd.compress(data)

    def flush(self) -> bytes:
        return self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class _BrotliCompressor:
    def __init__(self, quality: int) -> None:
        self._brotli = brotli.Compressor(quality=quality)

    def compress(self, data: bytes) -> bytes:
        result: bytes = self._brotli.process(data)
        return result

    def flush(self) -> bytes:
        result: bytes = self._brotli.flush()
        return result

    def finish(self) -> bytes:
        result: bytes = self._brotli.finish()
        return result


@dataclass(frozen=True, slots=True)
class Codec:
    """A compression scheme: its name (also the HTTP content-coding) and file suffix."""

    name: str
    file_suffix: str
    create: Callable[[], Compressor]


CODECS: dict[str, Codec] = {
    "gzip": Codec("gzip", ".gz", lambda: _GzipCompressor(GZIP_LEVEL)),
    "zstd": Codec("zstd", ".zst", lambda: _ZstdCompressor(ZSTD_LEVEL)),
    "br": Codec("br", ".br", lambda: _BrotliCompressor(BROTLI_QUALITY)),
}
#: What a request or the CLI may ask for; "none" means no codec.
COMPRESSION_NAMES = ("none", *CODECS)


def codec_named(name: str) -> Codec | None:
    """The codec called ``name``, None for "none"; KeyError for anything else."""
    if name == "none":
        return None
    return CODECS[name]
