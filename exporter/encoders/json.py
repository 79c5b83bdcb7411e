"""JSON: one array of the NDJSON objects: ``[``, the lines joined by ``,`` + LF, ``]``.

For clients that want a single JSON document (``response.json()``, Grafana's Infinity): the
objects are NDJSON's, byte for byte (``exporter.encoders.ndjson`` holds the value rules, on
both paths), only framed as an array. An NDJSON line never holds a raw line feed (JSON escapes
it inside strings, and json values are put on one line), so each LF ends exactly one object:
turning it into ``,`` + LF is the whole conversion, one C-speed pass over a batch. The LF after
each comma keeps one object per line, for ``head`` and ``less``.

The closing ``]`` is written only by ``finish``: an export that fails after its first byte
leaves the array unclosed, which no JSON parser accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from exporter.columns import Column, Row
from exporter.encoders.ndjson import NdjsonEncoder


class JsonArrayEncoder:
    """Frames the NDJSON encoder's objects as one JSON array."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._lines = NdjsonEncoder(columns)
        #: What goes before the next object: nothing before the first, a comma after.
        self._separator = b""

    def start(self) -> bytes:
        return b"["

    def encode(self, rows: Sequence[Row]) -> bytes:
        return self._frame(self._lines.encode(rows))

    def encode_text(self, strings: Sequence[pa.StringArray]) -> bytes:
        return self._frame(self._lines.encode_text(strings))

    def finish(self) -> bytes:
        return b"]\n"

    def _frame(self, lines: bytes) -> bytes:
        """``a\\nb\\n`` -> ``a,\\nb`` after the separator the previous batch left open."""
        if not lines:
            return b""
        framed = self._separator + lines[:-1].replace(b"\n", b",\n")
        self._separator = b",\n"
        return framed


def create_encoder(columns: Sequence[Column], **_options: Any) -> JsonArrayEncoder:
    """The JSON array encoder for ``columns``."""
    return JsonArrayEncoder(columns)
