"""Tests of facturier.core.numbering: series patterns and document numbers (NUM-04)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.numbering import (
    NUMBER_RE,
    format_number,
    has_year_token,
    validate_number,
    validate_pattern,
)

DAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("pattern", "seq", "expected"),
    [
        ("F{YYYY}-{SEQ:05}", 1, "F2026-00001"),
        ("AV{YY}{MM}-{SEQ}", 7, "AV2611-7"),
        ("{SEQ}", 123, "123"),
        ("F/{YYYY}/{MM}/{SEQ:03}", 1234, "F/2026/11/1234"),
        ("a+b_c-{SEQ:012}", 5, "a+b_c-000000000005"),
    ],
)
def test_format_number(pattern: str, seq: int, expected: str) -> None:
    validate_pattern(pattern)
    assert format_number(pattern, seq=seq, issue_date=DAY) == expected


def test_month_and_short_year_are_zero_padded() -> None:
    assert format_number("{YY}{MM}{SEQ}", seq=1, issue_date=date(2005, 3, 1)) == "05031"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("F {SEQ}", "character ' ' not allowed"),
        ("Fé{SEQ}", "character 'é' not allowed"),
        ("F#{SEQ}", "character '#' not allowed"),
        ("F{SEQ", "character '{' not allowed"),
        ("F}{SEQ}", "character '}' not allowed"),
        ("F{YYYY}", "needs exactly one {SEQ} token"),
        ("", "needs exactly one {SEQ} token"),
        ("{SEQ}-{SEQ:03}", "needs exactly one {SEQ} token"),
        ("F{DD}{SEQ}", "unknown token {DD}"),
        ("F{yyyy}{SEQ}", "unknown token {yyyy}"),
        ("F{SEQ:5}", "unknown token {SEQ:5}"),
        ("F{SEQ:00}", "unknown token {SEQ:00}"),
        ("F{SEQ:013}", "unknown token {SEQ:013}"),
        ("F" * 40 + "{SEQ}", "numbers of 49 characters, more than 35"),
        ("INVOICE-{YYYY}-{MM}-ABCDEFGHIJ-{SEQ}", "numbers of 36 characters"),
    ],
)
def test_invalid_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match="numbering pattern") as error:
        validate_pattern(pattern)
    assert message in str(error.value)
    with pytest.raises(ValueError):
        format_number(pattern, seq=1, issue_date=DAY)


def test_longest_allowed_pattern() -> None:
    # 26 literal characters + 9 counter digits = 35.
    validate_pattern("X" * 26 + "{SEQ}")
    with pytest.raises(ValueError, match="36 characters"):
        validate_pattern("X" * 27 + "{SEQ}")
    # A 12-digit counter is planned at 12 digits, not 9.
    validate_pattern("X" * 23 + "{SEQ:012}")
    with pytest.raises(ValueError, match="36 characters"):
        validate_pattern("X" * 24 + "{SEQ:012}")


def test_sequence_must_be_positive_and_fit() -> None:
    with pytest.raises(ValueError, match="sequence number must be at least 1: 0"):
        format_number("F{SEQ}", seq=0, issue_date=DAY)
    pattern = "X" * 26 + "{SEQ}"
    assert len(format_number(pattern, seq=999_999_999, issue_date=DAY)) == 35
    with pytest.raises(ValueError, match="longer than 35 characters"):
        format_number(pattern, seq=1_000_000_000, issue_date=DAY)


def test_has_year_token() -> None:
    assert has_year_token("F{YYYY}-{SEQ}")
    assert has_year_token("F{YY}{SEQ}")
    assert not has_year_token("F{MM}-{SEQ}")


@pytest.mark.parametrize("number", ["F2026-00001", "A", "a/b+c_d-1", "9" * 35])
def test_valid_numbers(number: str) -> None:
    validate_number(number)
    assert NUMBER_RE.match(number)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "document number is empty"),
        ("F 1", "character ' ' not allowed"),
        ("F1\n", "character '\\n' not allowed"),
        ("Fé1", "character 'é' not allowed"),
        ("9" * 36, "longer than 35 characters"),
    ],
)
def test_invalid_numbers(number: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        validate_number(number)
    assert message in str(error.value)
    assert not NUMBER_RE.match(number)


LITERALS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-_/",
    max_size=8,
)
DATE_TOKENS = st.sampled_from(["{YYYY}", "{YY}", "{MM}"])
SEQ_TOKENS = st.sampled_from(["{SEQ}"] + [f"{{SEQ:0{n}}}" for n in range(1, 13)])


@st.composite
def patterns(draw: st.DrawFn) -> str:
    before = draw(st.lists(st.one_of(LITERALS, DATE_TOKENS), max_size=4))
    after = draw(st.lists(st.one_of(LITERALS, DATE_TOKENS), max_size=4))
    return "".join([*before, draw(SEQ_TOKENS), *after])


@given(
    patterns(),
    st.integers(min_value=1, max_value=999_999_999),
    st.dates(min_value=date(1, 1, 1)),
)
@settings(max_examples=300, deadline=None)
def test_numbers_from_valid_patterns_are_valid(pattern: str, seq: int, issue_date: date) -> None:
    try:
        validate_pattern(pattern)
    except ValueError as error:
        assert "more than 35" in str(error)  # the only way a generated pattern can fail
        return
    number = format_number(pattern, seq=seq, issue_date=issue_date)
    assert NUMBER_RE.match(number)
    assert len(number) <= 35
    validate_number(number)
