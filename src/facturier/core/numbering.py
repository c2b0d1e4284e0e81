"""Document number patterns of a numbering series, e.g. ``F{YYYY}-{SEQ:05}`` → ``F2026-00001``.

Tokens: ``{YYYY}`` year, ``{YY}`` two-digit year, ``{MM}`` month (all from the issue date),
``{SEQ}`` the series counter, ``{SEQ:0N}`` the counter zero-padded to N digits (1 ≤ N ≤ 12).
A pattern has exactly one counter. Everything else is literal and limited, like the number
itself, to ``A-Z a-z 0-9 + - _ /`` (NUM-04, BR-FR-01/02); a number has at most 35 characters.

The pattern is checked once when the series is configured, so that issuing an invoice can
never fail on the number: :func:`validate_pattern` refuses any pattern whose longest number
could exceed 35 characters.

>>> format_number("F{YYYY}-{SEQ:05}", seq=1, issue_date=date(2026, 11, 28))
'F2026-00001'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MAX_LENGTH = 35
# The longest counter validate_pattern plans for: a series would need a billion documents
# to outgrow it.
_MAX_SEQ_DIGITS = 9

NUMBER_RE = re.compile(r"^[A-Za-z0-9+\-_/]{1,35}\Z")
_LITERAL_RE = re.compile(r"[A-Za-z0-9+\-_/]*")
_TOKEN_RE = re.compile(r"\{([^{}]*)\}")
_SEQ_RE = re.compile(r"SEQ(?::0([1-9][0-9]?))?")
_DATE_TOKEN_WIDTHS = {"YYYY": 4, "YY": 2, "MM": 2}


@dataclass(frozen=True)
class _Token:
    name: str  # "YYYY", "YY", "MM" or "SEQ"
    width: int  # fixed width of date tokens, padding of SEQ (0 = none)


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _check_literal(literal: str, pattern: str) -> None:
    if not _LITERAL_RE.fullmatch(literal):
        bad = next(char for char in literal if not _LITERAL_RE.fullmatch(char))
        raise ValueError(f"character {bad!r} not allowed in numbering pattern {_show(pattern)}")


def _token(text: str, pattern: str) -> _Token:
    if text in _DATE_TOKEN_WIDTHS:
        return _Token(text, _DATE_TOKEN_WIDTHS[text])
    seq = _SEQ_RE.fullmatch(text)
    if seq is None or int(seq[1] or 0) > 12:
        raise ValueError(f"unknown token {{{text}}} in numbering pattern {_show(pattern)}")
    return _Token("SEQ", int(seq[1] or 0))


def _parse(pattern: str) -> list[str | _Token]:
    """Split a pattern into literals and tokens, refusing unknown tokens and characters."""
    parts: list[str | _Token] = []
    position = 0
    for match in _TOKEN_RE.finditer(pattern):
        literal = pattern[position : match.start()]
        _check_literal(literal, pattern)
        parts += [literal, _token(match[1], pattern)]
        position = match.end()
    _check_literal(pattern[position:], pattern)
    parts.append(pattern[position:])
    return [part for part in parts if part != ""]


def _longest(parts: list[str | _Token]) -> int:
    """Length of the longest number: year 9999, counter 10^max(N, 9) − 1."""
    length = 0
    for part in parts:
        if isinstance(part, str):
            length += len(part)
        elif part.name == "SEQ":
            length += max(part.width, _MAX_SEQ_DIGITS)
        else:
            length += part.width
    return length


def validate_pattern(pattern: str) -> None:
    """Refuse a pattern that could produce an invalid document number.

    >>> validate_pattern("AV{YY}{MM}-{SEQ}")
    >>> validate_pattern("F {SEQ}")
    Traceback (most recent call last):
    ...
    ValueError: character ' ' not allowed in numbering pattern 'F {SEQ}'
    >>> validate_pattern("F{YYYY}")
    Traceback (most recent call last):
    ...
    ValueError: numbering pattern needs exactly one {SEQ} token: 'F{YYYY}'
    """
    parts = _parse(pattern)
    counters = sum(1 for part in parts if isinstance(part, _Token) and part.name == "SEQ")
    if counters != 1:
        raise ValueError(f"numbering pattern needs exactly one {{SEQ}} token: {_show(pattern)}")
    longest = _longest(parts)
    if longest > MAX_LENGTH:
        raise ValueError(
            f"numbering pattern can give numbers of {longest} characters, "
            f"more than {MAX_LENGTH}: {_show(pattern)}"
        )


def has_year_token(pattern: str) -> bool:
    """Whether numbers show the year, which a counter restarting each year requires.

    >>> has_year_token("F{YY}-{SEQ}"), has_year_token("F-{SEQ:06}")
    (True, False)
    """
    return any(isinstance(part, _Token) and part.name in ("YYYY", "YY") for part in _parse(pattern))


def _render(token: _Token, seq: int, issue_date: date) -> str:
    if token.name == "SEQ":
        return str(seq).zfill(token.width)
    if token.name == "YYYY":
        return f"{issue_date.year:04d}"
    if token.name == "YY":
        return f"{issue_date.year % 100:02d}"
    return f"{issue_date.month:02d}"


def format_number(pattern: str, *, seq: int, issue_date: date) -> str:
    """The number of the ``seq``-th document of a series, issued on ``issue_date``.

    >>> format_number("AV{YY}{MM}-{SEQ}", seq=42, issue_date=date(2026, 3, 1))
    'AV2603-42'
    >>> format_number("F{SEQ}", seq=0, issue_date=date(2026, 3, 1))
    Traceback (most recent call last):
    ...
    ValueError: sequence number must be at least 1: 0
    """
    validate_pattern(pattern)
    if seq < 1:
        raise ValueError(f"sequence number must be at least 1: {seq}")
    number = "".join(
        part if isinstance(part, str) else _render(part, seq, issue_date)
        for part in _parse(pattern)
    )
    if len(number) > MAX_LENGTH:
        raise ValueError(f"document number longer than {MAX_LENGTH} characters: {_show(number)}")
    return number


def validate_number(number: str) -> None:
    """Refuse a document number that EN 16931 / the French rules would reject (NUM-04).

    >>> validate_number("F2026-00001")
    >>> validate_number("F#1")
    Traceback (most recent call last):
    ...
    ValueError: character '#' not allowed in document number 'F#1'
    """
    if NUMBER_RE.fullmatch(number):
        return
    if not number:
        raise ValueError("document number is empty")
    if len(number) > MAX_LENGTH:
        raise ValueError(f"document number longer than {MAX_LENGTH} characters: {_show(number)}")
    bad = next(char for char in number if not NUMBER_RE.fullmatch(char))
    raise ValueError(f"character {bad!r} not allowed in document number {_show(number)}")
