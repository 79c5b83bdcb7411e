"""Find ``:name`` placeholders in SQL text without being fooled by SQL's own syntax.

A small lexer, not a parser: it skips string literals ('..', E'..' with backslash escapes),
quoted identifiers, ``--`` and nested ``/* */`` comments, dollar-quoted bodies and ``::`` casts,
and reports every ``:identifier`` outside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_START = re.compile(r"[A-Za-z_\u0080-\uffff]")
_WORD = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_POSITIONAL = re.compile(r"\$[0-9]+")


class SqlSyntaxError(ValueError):
    """The SQL text ends inside a literal, identifier or comment, or uses ``$n`` itself."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``:name`` occurrence: its name and where it sits in the text."""

    name: str
    start: int
    end: int


def find_placeholders(sql: str) -> list[Placeholder]:
    """Every ``:name`` placeholder in ``sql``, in order of appearance."""
    found: list[Placeholder] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c == "'":
            i = _skip_string(sql, i, backslash_escapes=_is_escape_string(sql, i))
        elif c == '"':
            i = _skip_quoted(sql, i, '"', "quoted identifier")
        elif c == "-" and sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif c == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif c == "$":
            i = _skip_dollar(sql, i)
        elif c == ":":
            if sql.startswith("::", i):
                i += 2
                continue
            match = _IDENT.match(sql, i + 1)
            if match:
                found.append(Placeholder(match.group(), i, match.end()))
                i = match.end()
            else:
                i += 1
        elif _WORD_START.match(c):
            # Skip whole words so a word's tail (``x$1``, a trailing ``e``) is not read as the
            # start of a dollar quote or an escape string.
            word = _WORD.match(sql, i)
            assert word is not None
            i = word.end()
        else:
            i += 1
    return found


def _is_escape_string(sql: str, quote: int) -> bool:
    """True for E'..' literals, where a backslash escapes the next character."""
    if quote == 0 or sql[quote - 1] not in "eE":
        return False
    return quote == 1 or not re.match(r"[A-Za-z0-9_$]", sql[quote - 2])


def _skip_string(sql: str, start: int, *, backslash_escapes: bool) -> int:
    i, n = start + 1, len(sql)
    while i < n:
        c = sql[i]
        if backslash_escapes and c == "\\":
            i += 2
        elif c == "'":
            if i + 1 < n and sql[i + 1] == "'":
                i += 2
            else:
                return i + 1
        else:
            i += 1
    raise SqlSyntaxError(start, "unterminated string literal")


def _skip_quoted(sql: str, start: int, quote: str, what: str) -> int:
    i = start + 1
    while True:
        end = sql.find(quote, i)
        if end < 0:
            raise SqlSyntaxError(start, f"unterminated {what}")
        if sql.startswith(quote * 2, end):
            i = end + 2
            continue
        return end + 1


def _skip_block_comment(sql: str, start: int) -> int:
    depth, i, n = 0, start, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise SqlSyntaxError(start, "unterminated /* comment */")


def _skip_dollar(sql: str, start: int) -> int:
    if _POSITIONAL.match(sql, start):
        raise SqlSyntaxError(start, "positional parameters ($1) are not allowed; use :name")
    tag = _DOLLAR_TAG.match(sql, start)
    if tag is None:
        return start + 1
    delimiter = tag.group()
    end = sql.find(delimiter, tag.end())
    if end < 0:
        raise SqlSyntaxError(start, f"unterminated dollar-quoted string {delimiter}")
    return end + len(delimiter)


def line_of(text: str, offset: int) -> int:
    """1-based line number of ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1
