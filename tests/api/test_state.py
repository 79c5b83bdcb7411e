"""``runtime_of``: the one way to the lifespan's resources, and its error before they exist."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from exporter.api.state import runtime_of


@pytest.mark.parametrize(
    "scope",
    [
        {"type": "http"},  # no state at all: no middleware and no lifespan ran
        {"type": "http", "state": {"api_key": None}},  # middleware ran, the lifespan did not
    ],
)
def test_runtime_of_says_the_lifespan_has_not_run(scope: dict[str, object]) -> None:
    with pytest.raises(RuntimeError, match="lifespan has not run"):
        runtime_of(scope)
    with pytest.raises(RuntimeError, match="lifespan has not run"):
        runtime_of(Request(scope))
