"""What a job is: the spec a client submits, and the job's recorded state."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from uuid import UUID

from exporter.catalog.definitions import REDACTED
from exporter.compression import COMPRESSION_NAMES
from exporter.encoders import DEFAULT_FORMAT, FORMATS
from exporter.errors import InvalidParameter, UnsupportedFormat


class JobState(enum.StrEnum):
    """queued -> running -> succeeded | failed | cancelled (running -> queued on a retry)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class FileStatus(enum.StrEnum):
    """What became of a job's file."""

    NONE = "none"  # not written (yet, or never: the job did not succeed)
    AVAILABLE = "available"
    EXPIRED = "expired"  # removed after the retention period
    DELETED = "deleted"  # removed on request


_SPEC_FIELDS = ("export", "params", "format", "compression")


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as submitted: which export, its parameter values as text, the output."""

    export: str
    params: Mapping[str, str]
    format: str
    compression: str

    def request_items(self) -> list[tuple[str, str]]:
        """The spec as the query items a streaming request would carry."""
        return [*self.params.items(), ("format", self.format)]


def load_job_body(raw: bytes) -> Any:
    """A job submission's JSON, strictly: UTF-8, no key given twice (JSON parsers keep the last
    one silently), no number that a float cannot hold exactly (its text would change), no
    NaN or Infinity. ``InvalidParameter`` otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidParameter("body", "not valid UTF-8") from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_exact_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise InvalidParameter("body", f"not valid JSON: {exc}") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise InvalidParameter("body", str(exc)) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidParameter(key, "given more than once in the JSON body")
        seen[key] = value
    return seen


def _exact_float(text: str) -> float:
    value = float(text)
    # The value is sent on as repr(value): it must be the number the client wrote.
    if not math.isfinite(value) or Decimal(repr(value)) != Decimal(text):
        raise InvalidParameter(
            "body", f"the number {text[:40]} cannot be held exactly; send it as a string"
        )
    return value


def _no_constant(name: str) -> Any:
    raise InvalidParameter("body", f"{name} is not a JSON number")


def parse_job_spec(body: Any) -> JobSpec:
    """Validate a submitted JSON body; InvalidParameter names the first bad field.

    Parameter values may be JSON strings, numbers or booleans (sent as their text, exactly as
    in a query string); the export's own parameter rules are checked when the spec is bound.
    """
    if not isinstance(body, dict):
        raise InvalidParameter("body", "expected a JSON object")
    unknown = sorted(set(body) - set(_SPEC_FIELDS))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown field; expected {', '.join(_SPEC_FIELDS)}")
    export = body.get("export")
    if not isinstance(export, str) or not export:
        raise InvalidParameter("export", "required: the export's name")
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise InvalidParameter("params", "expected an object of parameter values")
    texts = {name: _param_text(name, value) for name, value in params.items()}
    output = body.get("format", DEFAULT_FORMAT.name)
    if not isinstance(output, str) or output not in FORMATS:
        raise UnsupportedFormat(str(output), list(FORMATS))
    compression = body.get("compression", "none")
    if compression not in COMPRESSION_NAMES:
        raise InvalidParameter("compression", f"expected one of {', '.join(COMPRESSION_NAMES)}")
    return JobSpec(export=export, params=texts, format=output, compression=compression)


def _param_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise InvalidParameter(name, "expected a string, number or boolean")


@dataclass(frozen=True, slots=True)
class Job:
    """One job's row."""

    id: UUID
    spec: JobSpec
    owner: str | None
    state: JobState
    attempts: int
    max_attempts: int
    cancel_requested: bool
    rows: int
    bytes: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    file_name: str
    #: The file's name in the jobs directory, once published.
    file_path: str | None
    file_status: FileStatus
    file_bytes: int | None
    file_sha256: str | None
    expires_at: datetime | None
    #: The Exporter-Watermark token the job ended with (a watermark export's, once succeeded):
    #: the next incremental pull passes it as ``after``.
    watermark: str | None = None

    def describe(self, hidden_params: Collection[str] = ()) -> dict[str, Any]:
        """The job as the API shows it; values of ``hidden_params`` (sensitive) redacted."""
        base = f"/jobs/{self.id}"
        file = None
        if self.file_status is not FileStatus.NONE:
            file = {
                "status": self.file_status.value,
                "name": self.file_name,
                "bytes": self.file_bytes,
                "rows": self.rows,
                "sha256": self.file_sha256,
                "expires_at": _iso(self.expires_at),
                "download": f"{base}/download",
                # The same file at a URL that ends with its name (format, compression).
                "url": f"{base}/download/{quote(self.file_name)}",
            }
        return {
            "id": str(self.id),
            "export": self.spec.export,
            "params": {
                name: REDACTED if name in hidden_params else value
                for name, value in self.spec.params.items()
            },
            "format": self.spec.format,
            "compression": self.spec.compression,
            "state": self.state.value,
            "cancel_requested": self.cancel_requested,
            "rows": self.rows,
            "bytes": self.bytes,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "error": self.error,
            "watermark": self.watermark,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "file": file,
            "links": {"self": base, "events": f"{base}/events"},
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
