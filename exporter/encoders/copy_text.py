r"""COPY's text output -> one Arrow string array per column, parsed by Arrow's C++ CSV reader.

This is how NDJSON, Arrow and Parquet get their rows from ``COPY (query) TO STDOUT`` (see
``exporter.export.plans``): each column arrives as the same text the cursor path reads (both are
PostgreSQL's output functions under the same session settings), and the encoders turn it into
JSON text (``exporter.encoders._json_columns``) or typed columns (the cursor path's
converters, ``exporter.encoders._arrow_values``).

Why the text format and not CSV: PostgreSQL spends about 20% less CPU writing it (5M demo rows:
11.3-11.6 s against 13.8-15.6 s for CSV and ~10 s for binary, psql to /dev/null), and on two
cores the backend is what limits every COPY path. CSV scans each value twice to decide on
quotes; text writes each value once, escaping as it goes.

COPY's text format (delimiter tab, NULL as ``\N``) maps onto Arrow's reader exactly when:

- no quoting at all: a tab, newline or carriage return inside a value is written as ``\t``,
  ``\n``, ``\r``, so every line is one row and every tab a delimiter (``quote_char=False``,
  no ``newlines_in_values``: Arrow's fast path);
- NULL is the field ``\N`` and nothing else: a value that is literally backslash-N is written
  ``\\N``, and the empty string is an empty field, not NULL;
- an empty line is a row, not something to skip: a one-column row holding ''
  (``ignore_empty_lines=False``);
- every column is read as a string, never inferred;
- Arrow skips a UTF-8 byte order mark at the very start of its input, which here would be the
  start of a value: a block starting with one gets a blank line in front that is skipped.

The columns keep COPY's escapes: PostgreSQL writes ``\\``, ``\b``, ``\f``, ``\n``, ``\r``,
``\t`` and ``\v`` and every other character as it is (``CopyAttributeOutText``), and only the
columns whose text can hold a backslash need them undone (``may_hold_escapes``: text and
anything exported as text, json, bytea; never numbers, booleans, dates, times or uuids). Arrow
and Parquet ``unescape`` those; NDJSON mostly does not need to, as JSON escapes the same
characters the same way.

Blocks must hold whole rows. PostgreSQL sends COPY output as one CopyData message per row (a
rule of its wire protocol) and asyncpg hands over whole messages, so every piece COPY delivers
ends on a row boundary and whole pieces joined make a block: no scan for a boundary.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from exporter.columns import Column, ValueKind
from exporter.encoders._compute import fill_null, sum_booleans

_UTF8_BOM = b"\xef\xbb\xbf"
#: Kinds whose text PostgreSQL prints with only digits, signs, letters, punctuation: no
#: backslash, so nothing to unescape.
_NEVER_ESCAPED = frozenset(
    {
        ValueKind.INT16, ValueKind.INT32, ValueKind.INT64, ValueKind.FLOAT32, ValueKind.FLOAT64,
        ValueKind.NUMERIC, ValueKind.BOOL, ValueKind.DATE, ValueKind.TIMESTAMP,
        ValueKind.TIMESTAMPTZ, ValueKind.UUID,
    }
)  # fmt: skip
#: Stands in for an escaped backslash while the other escapes are undone: PostgreSQL's text
#: never holds a NUL character.
_BACKSLASH_STAND_IN = "\x00"
_ESCAPES = (("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"), ("\\b", "\b"), ("\\f", "\f"),
            ("\\v", "\v"))  # fmt: skip


def may_hold_escapes(column: Column) -> bool:
    """Whether COPY's text of ``column`` can hold a backslash escape."""
    return column.kind not in _NEVER_ESCAPED


class TextColumns:
    """Parses blocks of whole COPY text rows into one string array per column, still escaped."""

    def __init__(self, column_count: int) -> None:
        if column_count < 1:
            raise ValueError("COPY text needs at least one column")
        # Positional names: PostgreSQL's column names play no part in parsing.
        self._names = [f"c{i}" for i in range(column_count)]
        self._parse_options = pa_csv.ParseOptions(
            delimiter="\t",
            quote_char=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,
        )
        self._convert_options = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in self._names},
            null_values=["\\N"],
            strings_can_be_null=True,
        )

    def parse(self, block: bytes | memoryview) -> list[pa.StringArray]:
        """One string array per column for ``block`` (whole rows, at least one).

        The arrays own their data: ``block`` may be reused once this returns.
        """
        skip_rows = 0
        if block[: len(_UTF8_BOM)] == _UTF8_BOM:
            block, skip_rows = b"\n" + block, 1
        read_options = pa_csv.ReadOptions(
            column_names=self._names,
            skip_rows=skip_rows,
            # One block, one chunk per column: nothing to stitch together afterwards, and no
            # row can straddle Arrow's own block boundary.
            block_size=len(block) + 1,
            use_threads=False,
        )
        table = pa_csv.read_csv(
            # pyarrow-stubs lists paths and Python files only; read_csv takes any Arrow input.
            pa.py_buffer(block),  # type: ignore[arg-type]
            read_options=read_options,
            parse_options=self._parse_options,
            convert_options=self._convert_options,
        )
        strings = []
        for column in table.columns:
            # chunks[0], not chunk(0): pyarrow-stubs says chunk() returns a ChunkedArray.
            array = column.chunks[0] if column.num_chunks == 1 else column.combine_chunks()
            assert isinstance(array, pa.StringArray)  # every column is read as pa.string()
            strings.append(array)
        return strings


def unescape(strings: pa.StringArray) -> pa.StringArray:
    """COPY text's backslash escapes undone, in bulk (a column without any: as it is).

    When only some values hold an escape (the demo's notes: 18%), those alone are undone and
    put back in place: two extra passes over the column instead of eight.
    """
    escaped = pc.match_substring(strings, "\\")
    count = sum_booleans(escaped).as_py() or 0
    if not count:
        return strings
    if count * 4 > len(strings):
        return _unescape_all(strings)
    mask = fill_null(escaped, False)
    unescaped: pa.StringArray = pc.replace_with_mask(  # the stub leaves the result untyped
        strings, mask, _unescape_all(pc.filter(strings, mask))
    )
    return unescaped


def _unescape_all(strings: pa.StringArray) -> pa.StringArray:
    """Escaped backslashes become a stand-in first, so that ``\\\\n`` (an escaped backslash,
    then n) is not read as a newline; every backslash left then starts a one-letter escape.
    """
    plain = pc.replace_substring(strings, "\\\\", _BACKSLASH_STAND_IN)
    for escaped, raw in _ESCAPES:
        plain = pc.replace_substring(plain, escaped, raw)
    return pc.replace_substring(plain, _BACKSLASH_STAND_IN, "\\")


class BlockBuffer:
    """COPY pieces gathered into one buffer that is reused from block to block.

    A fresh buffer per block (``b"".join``) costs the allocator a page fault per 4 KiB touched
    whenever it hands memory back in between: measured 0.6 million page faults and about 0.5 us
    more CPU per row on 5M rows with 1 MiB blocks.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.size = 0

    def append(self, data: bytes) -> None:
        end = self.size + len(data)
        if end > len(self._buffer):
            grown = bytearray(max(end, 2 * len(self._buffer)))
            grown[: self.size] = memoryview(self._buffer)[: self.size]
            self._buffer = grown
        self._buffer[self.size : end] = data  # same length: copied in place, never resized
        self.size = end

    def view(self) -> memoryview:
        """The gathered bytes, without a copy (valid until the next ``append``)."""
        return memoryview(self._buffer)[: self.size]

    def clear(self) -> None:
        self.size = 0
