"""Compression codecs: every stream decodes back to its input, and flush() makes what was
written so far decodable before the stream ends (what streaming responses rely on)."""

from __future__ import annotations

import os

import pytest

from exporter.compression import CODECS, COMPRESSION_NAMES, codec_named
from tests.support.decoders import Decoder, decode_all

PIECES = [b"id,name\n", os.urandom(70_000), b"x" * 300_000, b"", "caf\u00e9\n".encode()]


@pytest.mark.parametrize("name", list(CODECS))
def test_round_trip(name: str) -> None:
    compressor = CODECS[name].create()
    out = b"".join(compressor.compress(piece) + compressor.flush() for piece in PIECES)
    out += compressor.finish()
    assert decode_all(name, out) == b"".join(PIECES)


@pytest.mark.parametrize("name", list(CODECS))
def test_flush_makes_everything_so_far_decodable(name: str) -> None:
    compressor = CODECS[name].create()
    decoder = Decoder(name)
    seen = b""
    for index, piece in enumerate(PIECES):
        seen += decoder.decode(compressor.compress(piece) + compressor.flush())
        assert seen == b"".join(PIECES[: index + 1])
        assert not decoder.finished  # flushed, not ended: a reader can tell the difference
    decoder.decode(compressor.finish())
    assert decoder.finished


def test_names() -> None:
    assert COMPRESSION_NAMES == ("none", "gzip", "zstd", "br")
    assert codec_named("none") is None
    assert codec_named("zstd") is CODECS["zstd"]
    with pytest.raises(KeyError):
        codec_named("deflate")
