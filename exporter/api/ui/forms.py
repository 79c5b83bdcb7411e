"""An export's parameter form: one typed input per parameter, and reading it back.

The inputs carry the bounds the API enforces, but the API stays the judge: the form is
submitted with ``novalidate`` and the service's 422 names the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from exporter.catalog.definitions import ExportDefinition, ParamSpec

__all__ = ["Field", "FormState", "form_fields", "read_form"]

#: Integer parameter types and their inclusive bounds (those of exporter.param_types).
_INTEGER_BOUNDS = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
_FLOAT4_MAX = "3.4028234663852886e38"
_PLACEHOLDERS = {
    "timestamp": "2025-01-31T12:00:00",
    "timestamptz": "2025-01-31T12:00:00Z",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One input of the form, ready for the template."""

    name: str
    type_name: str
    input_type: str
    value: str
    required: bool
    sensitive: bool
    checked: bool = False
    min: str | None = None
    max: str | None = None
    step: str | None = None
    placeholder: str = ""
    hint: str = ""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FormState:
    """What the page's query string said: parameter values (as the API takes them) and format.

    ``given`` is False for a bare page URL (nothing to check yet).
    """

    values: dict[str, str]
    format_name: str
    given: bool

    def items(self) -> list[tuple[str, str]]:
        return [*self.values.items(), ("format", self.format_name)]

    def query(self, *, with_sensitive: bool, export: ExportDefinition) -> str:
        """The query string for these values; sensitive ones only when asked (downloads)."""
        secret = {p.name for p in export.params if p.sensitive}
        shown = {n: v for n, v in self.values.items() if with_sensitive or n not in secret}
        return urlencode([*shown.items(), ("format", self.format_name)])


def read_form(
    export: ExportDefinition, pairs: Sequence[tuple[str, str]], formats: Sequence[str]
) -> FormState:
    """The page's query string as API parameters.

    The last value of a name wins (a checkbox comes after its hidden ``false``); an empty
    input of a type other than text means "the default", as leaving the parameter out does.
    Names the export does not declare are passed on, so the API reports them.
    """
    last = dict(pairs)
    last.pop("preview", None)
    types = {p.name: p.type.name for p in export.params}
    values: dict[str, str] = {}
    for name, value in last.items():
        if name == "format":
            continue
        if value == "" and types.get(name, "text") != "text":
            continue
        values[name] = value
    format_name = last.get("format") or formats[0]
    return FormState(values, format_name, given=bool(pairs))


def form_fields(
    export: ExportDefinition, state: FormState, error: tuple[str, str] | None = None
) -> list[Field]:
    """The inputs for ``export``'s parameters, filled from ``state`` (else the defaults)."""
    return [_field(p, state, error[1] if error and error[0] == p.name else None)
            for p in export.params]  # fmt: skip


def _field(param: ParamSpec, state: FormState, error: str | None) -> Field:
    type_name = param.type.name
    given = state.values.get(param.name)
    if param.sensitive:
        # A secret is never written back into a page (nor kept in its URL).
        return Field(
            param.name, type_name, "password", "", param.required, True, error=error,
            placeholder="(default, hidden)" if not param.required else "",
            hint=param.type.expected,
        )  # fmt: skip
    value = given if given is not None else (param.default or "")
    base = Field(
        param.name, type_name, "text", value, param.required, False, error=error,
        hint=param.type.expected,
    )  # fmt: skip
    if type_name == "boolean":
        return replace(base, input_type="checkbox", checked=value == "true")
    if type_name == "date" and value not in ("infinity", "-infinity"):
        return replace(base, input_type="date")
    if type_name in _INTEGER_BOUNDS:
        low, high = _INTEGER_BOUNDS[type_name]
        return replace(base, input_type="number", min=str(low), max=str(high), step="1")
    if type_name == "real":
        return replace(
            base, input_type="number", min="-" + _FLOAT4_MAX, max=_FLOAT4_MAX, step="any"
        )
    if type_name in ("numeric", "double precision"):
        return replace(base, input_type="number", step="any")
    return replace(base, placeholder=_PLACEHOLDERS.get(type_name, ""))
