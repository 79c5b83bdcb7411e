"""Options shared by the commands that name an export's parameters."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def add_param_option(parser: argparse.ArgumentParser) -> None:
    """``-p/--param NAME=VALUE``, repeatable."""
    parser.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter value; repeat for several",
    )  # fmt: skip


def parse_params(raw_params: Sequence[str]) -> list[tuple[str, str]]:
    """The ``--param`` values as (name, value) pairs; ValueError names a malformed one."""
    pairs = []
    for raw in raw_params:
        name, equals, value = raw.partition("=")
        if not equals or not name:
            raise ValueError(f"--param {raw!r}: expected NAME=VALUE")
        pairs.append((name, value))
    return pairs
