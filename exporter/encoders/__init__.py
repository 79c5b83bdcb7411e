"""Output formats: one module per format, registered here by name.

A new format is one module with a ``create_encoder(columns, **options)`` function and one line
in ``FORMATS``. The registry names each format's module instead of importing it: an encoder's
module (and pyarrow, about 0.4 s) is imported the first time an encoder is built, so what only
needs the names (settings, the CLI's argument parser) starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from exporter.columns import Column
from exporter.encoders.base import Encoder, EncoderFactory, TextColumnsEncoder
from exporter.errors import UnsupportedFormat

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "Encoder",
    "EncoderFactory",
    "Format",
    "TextColumnsEncoder",
    "arrow",
    "base",
    "copy_text",
    "csv",
    "format_for_media_type",
    "get_format",
    "json",
    "memory",
    "ndjson",
    "parquet",
    "supported_media_types",
    "xlsx",
]


@dataclass(frozen=True, slots=True)
class Format:
    """An output format: its name, HTTP media type, file extension and encoder factory."""

    name: str
    media_type: str
    extension: str
    #: The module whose ``create_encoder`` builds this format's encoders.
    encoder_module: str
    #: Other media types clients send in ``Accept`` for this format.
    aliases: tuple[str, ...] = ()
    #: Parameters of the ``Content-Type`` header beyond the media type.
    content_type_params: str = ""

    @property
    def content_type(self) -> str:
        """The full ``Content-Type`` header value."""
        return self.media_type + self.content_type_params

    def create_encoder(
        self,
        columns: Sequence[Column],
        *,
        parquet_row_group_rows: int,
        csv_delimiter: str = ",",
        csv_header: bool = True,
        csv_bom: bool = False,
        parquet_row_group_bytes: int = 64 * 1024 * 1024,
    ) -> Encoder:
        """An encoder for ``columns`` (imports the format's module on first use); each format
        takes the options named after it and ignores the others."""
        factory: EncoderFactory = importlib.import_module(self.encoder_module).create_encoder
        return factory(
            columns,
            parquet_row_group_rows=parquet_row_group_rows,
            csv_delimiter=csv_delimiter,
            csv_header=csv_header,
            csv_bom=csv_bom,
            parquet_row_group_bytes=parquet_row_group_bytes,
        )


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("ndjson", "application/x-ndjson", "ndjson", "exporter.encoders.ndjson",
               ("application/jsonl", "application/x-jsonlines"),
               content_type_params="; charset=utf-8"),
        Format("json", "application/json", "json", "exporter.encoders.json"),
        Format("csv", "text/csv", "csv", "exporter.encoders.csv",
               content_type_params="; charset=utf-8; header=present"),
        Format("arrow", "application/vnd.apache.arrow.stream", "arrows",
               "exporter.encoders.arrow"),
        Format("parquet", "application/vnd.apache.parquet", "parquet",
               "exporter.encoders.parquet",
               ("application/x-parquet",)),
        Format("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "xlsx", "exporter.encoders.xlsx"),
    )
}  # fmt: skip

DEFAULT_FORMAT = FORMATS["ndjson"]


def get_format(name: str) -> Format:
    """The format called ``name``, or ``UnsupportedFormat``."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnsupportedFormat(name, list(FORMATS)) from None


def format_for_media_type(media_type: str) -> Format | None:
    """The format served as ``media_type`` (``type/subtype``, no parameters), if any."""
    for candidate in FORMATS.values():
        if media_type == candidate.media_type or media_type in candidate.aliases:
            return candidate
    return None


def supported_media_types() -> Sequence[str]:
    """Every media type we can answer with, in registry order."""
    return [f.media_type for f in FORMATS.values()]
