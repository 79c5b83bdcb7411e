"""Compression codecs: every stream decodes back to its input, and flush() makes what was
written so far decodable before the stream ends (what streaming responses rely on)."""

from __future__ import annotations

import gzip
import os
import zlib

import pytest
import zstandard

from exporter.compression import CODECS, COMPRESSION_NAMES, Codec, codec_named

PIECES = [b"id,name\n", os.urandom(70_000), b"x" * 300_000, b"", "caf\u00e9\n".encode()]


def _decompress(codec: Codec, data: bytes) -> bytes:
    if codec.name == "gzip":
        return gzip.decompress(data)
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _partial_decoder(codec: Codec) -> object:
    if codec.name == "gzip":
        return zlib.decompressobj(31)
    return zstandard.ZstdDecompressor().decompressobj()


@pytest.mark.parametrize("name", list(CODECS))
def test_round_trip(name: str) -> None:
    codec = CODECS[name]
    compressor = codec.create()
    out = b"".join(compressor.compress(piece) + compressor.flush() for piece in PIECES)
    out += compressor.finish()
    assert _decompress(codec, out) == b"".join(PIECES)


@pytest.mark.parametrize("name", list(CODECS))
def test_flush_makes_everything_so_far_decodable(name: str) -> None:
    codec = CODECS[name]
    compressor = codec.create()
    decoder = _partial_decoder(codec)
    seen = b""
    for piece in PIECES:
        seen += decoder.decompress(compressor.compress(piece) + compressor.flush())  # type: ignore[attr-defined]
        assert seen == b"".join(PIECES[: PIECES.index(piece) + 1])


def test_names() -> None:
    assert COMPRESSION_NAMES == ("none", "gzip", "zstd")
    assert codec_named("none") is None
    assert codec_named("zstd") is CODECS["zstd"]
    with pytest.raises(KeyError):
        codec_named("brotli")
