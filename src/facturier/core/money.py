"""Money and calendar values: ISO 4217 minor units, half-up rounding, parsing and display.

Amounts are always :class:`~decimal.Decimal`; a float near money is a bug, so the functions
below refuse floats instead of converting them. Rounding is half-up (away from zero on ties),
to the currency's minor unit, as EN 16931 and the French schematrons expect (RND-02).

>>> round_money(Decimal("0.245"))
Decimal('0.25')
>>> format_amount(parse_amount("1 234,5 €"))
'1\\xa0234,50\\xa0€'
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor-unit exponents. XOF, XAF and XPF (CFA and CFP francs) are listed because
# French overseas businesses and their partners invoice in them.
CURRENCY_EXPONENTS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "GBP": 2,
    "CHF": 2,
    "JPY": 0,
    "SEK": 2,
    "DKK": 2,
    "NOK": 2,
    "PLN": 2,
    "CZK": 2,
    "HUF": 2,
    "RON": 2,
    "BGN": 2,
    "ISK": 0,
    "CAD": 2,
    "AUD": 2,
    "CNY": 2,
    "MAD": 2,
    "TND": 3,
    "XOF": 0,
    "XAF": 0,
    "XPF": 0,
}

CURRENCY_SYMBOLS: dict[str, str] = {"EUR": "€", "USD": "$", "GBP": "£"}

NBSP = "\u00a0"

# Spaces people (and spreadsheets) put between thousands: plain, no-break, narrow no-break.
_SPACES = " \u00a0\u202f"
_SYMBOLS = "€$£"

# Only spaces group thousands; "," and "." are both accepted as the decimal mark. Mixed
# forms such as "1,234.56" or "1.234,56" are refused: "1,234" alone is ambiguous.
_AMOUNT_RE = re.compile(
    rf"""
    (?P<sign>[-+\u2212]?)\s*
    (?:(?P<pre>[{_SYMBOLS}])\s*)?
    (?P<int>[0-9]{{1,3}}(?:[{_SPACES}][0-9]{{3}})+|[0-9]+)
    (?:[.,](?P<frac>[0-9]+))?
    \s*(?P<post>[{_SYMBOLS}]|[A-Z]{{3}})?
    """,
    re.VERBOSE,
)
_FR_DATE_RE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _show(text: str) -> str:
    """Quote user input for an error message, cut so that the message stays one short line."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (ISO 4217).

    >>> exponent("EUR"), exponent("JPY")
    (2, 0)
    >>> exponent("XXX")
    Traceback (most recent call last):
    ...
    ValueError: unknown currency: 'XXX'
    """
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency: {currency!r}") from None


def round_money(amount: Decimal, currency: str = "EUR") -> Decimal:
    """Round half-up (ties away from zero) to the currency's minor unit.

    Half-up on Decimal is symmetric, so ``round_money(-x) == -round_money(x)``: a credit note
    with negated lines gives exactly the negated totals. Negative zero becomes zero so that
    "-0,00 €" is never printed.

    >>> round_money(Decimal("0.245")), round_money(Decimal("-0.245"))
    (Decimal('0.25'), Decimal('-0.25'))
    >>> round_money(Decimal("1234.5"), "JPY")
    Decimal('1235')
    >>> round_money(Decimal("-0.001"))
    Decimal('0.00')
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount is not a finite number: {amount}")
    rounded = amount.quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded.is_zero() else rounded


def parse_amount(text: str) -> Decimal:
    """Read an amount typed by a person: French or plain decimal notation, optional symbol.

    >>> parse_amount("1\u202f234,56\u00a0€")
    Decimal('1234.56')
    >>> parse_amount("-12,00"), parse_amount("1234.5")
    (Decimal('-12.00'), Decimal('1234.5'))
    >>> parse_amount("1,234.56")
    Traceback (most recent call last):
    ...
    ValueError: not an amount: '1,234.56'
    """
    match = _AMOUNT_RE.fullmatch(text.strip()) if len(text) <= 64 else None
    if match is None or (match["pre"] and match["post"]):
        raise ValueError(f"not an amount: {_show(text)}")
    if match["post"] and len(match["post"]) == 3 and match["post"] not in CURRENCY_EXPONENTS:
        raise ValueError(f"not an amount: {_show(text)}")
    digits = "".join(c for c in match["int"] if c.isdigit())
    sign = "-" if match["sign"] in ("-", "\u2212") else ""
    value = Decimal(f"{sign}{digits}.{match['frac']}" if match["frac"] else f"{sign}{digits}")
    return abs(value) if value.is_zero() else value


def _grouped(value: Decimal, places: int, *, thousands: str, point: str) -> str:
    """Digits of a non-negative, already rounded value with the given separators."""
    text = format(value, f",.{places}f")
    return text.replace(",", "\x00").replace(".", point).replace("\x00", thousands)


def _language(locale: str) -> str:
    """Reduce "fr-FR" / "en_GB" to "fr" / "en" and refuse what we cannot format."""
    language = locale.replace("_", "-").split("-")[0].lower()
    if language not in ("fr", "en"):
        raise ValueError(f"unsupported locale: {locale!r}")
    return language


def format_amount(amount: Decimal, currency: str = "EUR", *, locale: str = "fr") -> str:
    """Display an amount with the currency's number of decimals.

    French style puts U+00A0 between thousands and before the symbol, so that a line break
    never splits an amount on a PDF; English style puts the symbol first.

    >>> format_amount(Decimal("1234.56"))
    '1\\xa0234,56\\xa0€'
    >>> format_amount(Decimal("-1234.5"), locale="en")
    '-€1,234.50'
    >>> format_amount(Decimal("1234"), "CHF", locale="en"), format_amount(Decimal("5"), "JPY")
    ('CHF\\xa01,234.00', '5\\xa0JPY')
    """
    rounded = round_money(amount, currency)
    sign = "-" if rounded < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    places = exponent(currency)
    if _language(locale) == "fr":
        digits = _grouped(abs(rounded), places, thousands=NBSP, point=",")
        return f"{sign}{digits}{NBSP}{symbol}"
    digits = _grouped(abs(rounded), places, thousands=",", point=".")
    # An ISO code before the digits needs a space ("CHF 12.00"); a symbol does not ("€12.00").
    prefix = symbol if currency in CURRENCY_SYMBOLS else symbol + NBSP
    return f"{sign}{prefix}{digits}"


def format_decimal_fr(value: Decimal, places: int) -> str:
    """French notation of a quantity, price or rate with a fixed number of decimals.

    >>> format_decimal_fr(Decimal("1234.5"), 4)
    '1\\xa0234,5000'
    >>> format_decimal_fr(Decimal("-0.125"), 2)
    '-0,13'
    """
    if places < 0:
        raise ValueError(f"places must not be negative: {places}")
    if not value.is_finite():
        raise ValueError(f"value is not a finite number: {value}")
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return sign + _grouped(abs(rounded), places, thousands=NBSP, point=",")


def format_date(d: date, *, locale: str = "fr") -> str:
    """Display a date: "28/11/2026" in French, "28 Nov 2026" in English.

    English month names are spelt here rather than with ``strftime("%b")``, whose output
    depends on the process locale.

    >>> format_date(date(2026, 11, 28)), format_date(date(2026, 1, 5), locale="en")
    ('28/11/2026', '5 Jan 2026')
    """
    if _language(locale) == "fr":
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    return f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year:04d}"


def parse_date(text: str) -> date:
    """Read a date written "28/11/2026" (day first, as in France) or ISO "2026-11-28".

    >>> parse_date("28/11/2026") == parse_date("2026-11-28") == date(2026, 11, 28)
    True
    >>> parse_date("31/02/2026")
    Traceback (most recent call last):
    ...
    ValueError: not a date: '31/02/2026'
    """
    stripped = text.strip()
    if match := _FR_DATE_RE.fullmatch(stripped):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO_DATE_RE.fullmatch(stripped):
        year, month, day = (int(part) for part in match.groups())
    else:
        raise ValueError(f"not a date: {_show(text)}")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"not a date: {_show(text)}") from None
