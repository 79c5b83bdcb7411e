"""Request parameters: raw query-string items -> validated, ordered bind values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exporter.catalog.definitions import REDACTED, RESERVED_PARAM_NAMES, ExportDefinition
from exporter.catalog.shaping import Shape, is_shaping_name, parse_shape
from exporter.columns import Column
from exporter.errors import InvalidParameter

#: Longest parameter value a log line shows; longer ones are cut (a request may carry megabytes).
LOGGED_VALUE_CHARS = 200

#: ``compress=``: auto compresses the formats set up for it (EXPORTER_COMPRESS_FORMATS), always
#: every format, each only when the client's Accept-Encoding allows a coding.
COMPRESS_CHOICES = ("auto", "always")


#: ``csv_delimiter=`` spellings -> the delimiter (a tab is also ``%09`` in a URL).
CSV_DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}
#: ``csv_bom=`` / ``csv_header=`` spellings.
_BOOLEANS = {"true": True, "false": False}
CSV_OPTION_NAMES = ("csv_bom", "csv_delimiter", "csv_header")


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvOptions:
    """How CSV is written: COPY's ``DELIMITER`` and ``HEADER``, and a UTF-8 byte order mark
    first (Excel reads CSV without one in the system's code page). The defaults are COPY's."""

    bom: bool = False
    delimiter: str = ","
    header: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounds:
    """Server-side limits for a request's tuning knobs."""

    fetch_rows_default: int
    fetch_rows_max: int
    #: A floor: tiny round trips multiply the server's CPU and memory per row.
    fetch_rows_min: int = 1
    chunk_bytes_default: int
    chunk_bytes_max: int
    chunk_bytes_min: int = 1024
    #: Largest ``limit=`` a request may ask for (EXPORTER_LIMIT_MAX).
    limit_max: int = 1_000_000
    #: Longest value, in UTF-8 bytes: a value is logged, stored with a job and shown back.
    param_value_max_bytes: int = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    """A validated request: what to run, with which values, and how to stream it."""

    export: ExportDefinition
    #: Bind values in ``$n`` order, as text for PostgreSQL to parse.
    values: tuple[str, ...]
    #: The values by parameter name, defaults included (for logs and job records).
    named_values: dict[str, str]
    fetch_rows: int
    #: True when the request set fetch_rows itself: it asks for the cursor path.
    fetch_rows_given: bool
    chunk_bytes: int
    format_name: str | None
    #: One of COMPRESS_CHOICES.
    compress: str = "auto"
    #: select/where/order/limit, checked against the export's columns (``catalog.shaping``).
    shape: Shape = field(default_factory=Shape)
    #: ``after=``: the watermark token of the previous pull, not yet verified.
    after: str | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns the output has: the selected ones, else the export's."""
        return self.shape.select if self.shape.select is not None else self.export.columns

    csv: CsvOptions = CsvOptions()
    #: The CSV options the request gave, in CSV_OPTION_NAMES order.
    csv_given: tuple[str, ...] = ()

    def check_format(self, format_name: str) -> None:
        """Raise ``InvalidParameter`` when CSV options were given for another format (the
        format may be known only after binding: ``Accept`` chooses it)."""
        if format_name != "csv" and self.csv_given:
            raise InvalidParameter(
                self.csv_given[0], f"applies to format=csv only, not to {format_name}"
            )

    def loggable_values(self) -> dict[str, str]:
        """``named_values`` fit for a log line: sensitive values redacted, long ones cut."""
        return _loggable(self.export, self.named_values.items())


def loggable_params(
    export: ExportDefinition | None, items: Iterable[tuple[str, str]]
) -> dict[str, str] | None:
    """Request parameters fit for a log line, or None when ``export`` is unknown.

    Only values of declared, non-sensitive parameters are shown: an unknown name may be a
    misspelt sensitive one, and without the export nothing says which names are secret.
    """
    return None if export is None else _loggable(export, items)


def _loggable(export: ExportDefinition, items: Iterable[tuple[str, str]]) -> dict[str, str]:
    shown = {p.name for p in export.params if not p.sensitive}
    logged: dict[str, str] = {}
    for name, value in items:
        if name in RESERVED_PARAM_NAMES:
            continue
        if is_shaping_name(name):
            logged[name] = _cut(value)  # the export's columns, not its (maybe secret) params
            continue
        logged[name] = _cut(value) if name in shown else REDACTED
    return logged


def secret_values(export: ExportDefinition, items: Iterable[tuple[str, str]]) -> list[str]:
    """The non-empty values a log line redacts (see ``loggable_params``), to scrub from error
    text too: PostgreSQL quotes a value it cannot cast in its message."""
    shown = {p.name for p in export.params if not p.sensitive}
    return [
        v
        for n, v in items
        if v and n not in shown and n not in RESERVED_PARAM_NAMES and not is_shaping_name(n)
    ]


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by REDACTED (longest first, so a secret that
    contains another is replaced whole)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _cut(value: str) -> str:
    return value if len(value) <= LOGGED_VALUE_CHARS else value[:LOGGED_VALUE_CHARS] + "…"


def bind_request(
    export: ExportDefinition, items: Iterable[tuple[str, str]], bounds: Bounds
) -> ExportRequest:
    """Validate raw ``(name, value)`` items against ``export``; raise ``InvalidParameter``."""
    raw: dict[str, str] = {}
    shaping: list[tuple[str, str]] = []
    declared = {p.name for p in export.params}
    for name, value in items:
        if is_shaping_name(name):
            # Several conditions may filter one column; anything else comes once.
            if not name.startswith("where.") and any(n == name for n, _ in shaping):
                raise InvalidParameter(name, "given more than once")
            shaping.append((name, value))
            continue
        if name in raw:
            raise InvalidParameter(name, "given more than once")
        if name not in declared and name not in RESERVED_PARAM_NAMES:
            raise InvalidParameter(name, _unknown_reason(export, name))
        if len(value) * 4 > bounds.param_value_max_bytes and (
            len(value.encode("utf-8", "surrogatepass")) > bounds.param_value_max_bytes
        ):
            raise InvalidParameter(
                name, f"longer than {bounds.param_value_max_bytes:,} bytes (the limit)"
            )
        raw[name] = value
    values: list[str] = []
    named: dict[str, str] = {}
    for spec in export.params:
        given = raw.get(spec.name)
        if given is None:
            if spec.default is None:
                raise InvalidParameter(spec.name, f"required; expected {spec.type.expected}")
            bound = spec.default
        else:
            try:
                bound = spec.type.parse(given)
            except ValueError as exc:
                # The reason reaches the client and the logs: never quote a secret in it.
                shown = REDACTED if spec.sensitive else _preview(given)
                reason = f"expected {spec.type.expected}, got {shown}"
                if not spec.sensitive:
                    reason = f"{exc}; {reason}"
                raise InvalidParameter(spec.name, reason) from None
        values.append(bound)
        named[spec.name] = bound
    request = ExportRequest(
        export=export,
        values=tuple(values),
        named_values=named,
        fetch_rows=_bounded(
            raw,
            "fetch_rows",
            bounds.fetch_rows_default,
            bounds.fetch_rows_min,
            bounds.fetch_rows_max,
        ),
        fetch_rows_given="fetch_rows" in raw,
        chunk_bytes=_bounded(
            raw,
            "chunk_bytes",
            bounds.chunk_bytes_default,
            bounds.chunk_bytes_min,
            bounds.chunk_bytes_max,
        ),
        format_name=raw.get("format"),
        compress=_choice(raw, "compress", COMPRESS_CHOICES),
        shape=parse_shape(export, shaping, limit_max=bounds.limit_max),
        after=next((value for name, value in shaping if name == "after"), None),
        csv=CsvOptions(
            bom=_boolean(raw, "csv_bom", False),
            delimiter=_delimiter(raw),
            header=_boolean(raw, "csv_header", True),
        ),
        csv_given=tuple(name for name in CSV_OPTION_NAMES if name in raw),
    )
    if request.format_name is not None:
        request.check_format(request.format_name)
    return request


def _boolean(raw: dict[str, str], name: str, default: bool) -> bool:
    given = raw.get(name)
    if given is None:
        return default
    if given not in _BOOLEANS:
        raise InvalidParameter(name, f"expected true or false, got {_preview(given)}")
    return _BOOLEANS[given]


def _delimiter(raw: dict[str, str]) -> str:
    given = raw.get("csv_delimiter", ",")
    if given not in CSV_DELIMITERS:
        raise InvalidParameter(
            "csv_delimiter",
            "expected one of , ; | or a tab (%09 or tab in a URL), got " + _preview(given),
        )
    return CSV_DELIMITERS[given]


def _choice(raw: dict[str, str], name: str, choices: Sequence[str]) -> str:
    given = raw.get(name, choices[0])
    if given not in choices:
        raise InvalidParameter(name, f"expected one of {', '.join(choices)}, got {_preview(given)}")
    return given


def _bounded(raw: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    given = raw.get(name)
    if given is None:
        return default
    if not given.isascii() or not given.isdigit():
        raise InvalidParameter(
            name, f"expected an integer in [{low}, {high}], got {_preview(given)}"
        )
    value = int(given)
    if not low <= value <= high:
        raise InvalidParameter(name, f"expected an integer in [{low}, {high}], got {value}")
    return value


def _unknown_reason(export: ExportDefinition, name: str) -> str:
    accepted: Sequence[str] = [p.name for p in export.params] + sorted(RESERVED_PARAM_NAMES)
    if export.shaping:
        accepted = [*accepted, "select", "where.<column>", "order", "limit"]
    if export.watermark is not None:
        accepted = [*accepted, "after"]
    return f"unknown parameter for export {export.name!r}; accepted: {', '.join(accepted)}"


def _preview(value: str, limit: int = 40) -> str:
    """A short, safe rendering of a bad value for an error message."""
    shown = value if len(value) <= limit else value[:limit] + "…"
    return repr(shown)
