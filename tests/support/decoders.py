"""Incremental decoders for the content codings, independent of the code under test.

Each reports what the input so far decodes to and whether the stream was properly ended, so a
test can tell a complete compressed stream from one that was cut off.
"""

from __future__ import annotations

import zlib

import brotli
import zstandard


class Decoder:
    """Decodes one compressed stream, piece by piece."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        if coding == "gzip":
            self._gzip = zlib.decompressobj(31)
        elif coding == "zstd":
            self._zstd = zstandard.ZstdDecompressor().decompressobj()
        elif coding == "br":
            self._brotli = brotli.Decompressor()
        else:
            raise ValueError(f"no decoder for {coding!r}")

    def decode(self, data: bytes) -> bytes:
        """Everything ``data`` adds to the decoded output."""
        if self.coding == "gzip":
            return self._gzip.decompress(data)
        if self.coding == "zstd":
            return self._zstd.decompress(data) if data else b""
        pieces: list[bytes] = [self._brotli.process(data)]
        # brotli's decoder returns at most ~32 KiB per call and holds the rest back until a
        # later call: drain it, or decoded data would seem to arrive late.
        while more := self._brotli.process(b""):
            pieces.append(more)
        return b"".join(pieces)

    @property
    def finished(self) -> bool:
        """True once the stream's end marker was decoded (a stream cut short is not)."""
        if self.coding == "gzip":
            return self._gzip.eof
        if self.coding == "zstd":
            return bool(self._zstd.eof)
        return bool(self._brotli.is_finished())


def decode_all(coding: str, data: bytes) -> bytes:
    """The whole of ``data``, which must be a complete stream."""
    decoder = Decoder(coding)
    out = decoder.decode(data)
    assert decoder.finished, f"{coding} stream not finished"
    return out
