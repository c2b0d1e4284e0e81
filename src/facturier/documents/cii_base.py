"""Shared pieces of the CII builder: namespaces, element helpers and value formats.

Formats follow EN 16931 and the French CTC rules (INV-24, BR-FR-DEC-01..04): amounts with
exactly 2 decimals, quantities with up to 4, unit prices with up to 6, rates with 2, dates as
``YYYYMMDD`` (format 102). A value that would need rounding is refused, never rounded here:
the document was rounded once, at issue (RND-02).

>>> amount("12.5"), quantity(Decimal("3.0000")), price(Decimal("0.123400")), percent("5.5")
('12.50', '3', '0.1234', '5.50')
>>> amount("0.125")
Traceback (most recent call last):
...
ValueError: amount has more than 2 decimals: 0.125
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

# An lxml element; lxml has no type stubs, so elements are typed loosely.
Node = Any

NSMAP = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def _qualified(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NSMAP[prefix]}}}{name}"


def new_root(tag: str) -> Node:
    """The document element, declaring the four CII namespaces."""
    return etree.Element(_qualified(tag), nsmap=NSMAP)


def add(parent: Node, tag: str, text: str | None = None, **attrib: str) -> Node:
    """Append ``<prefix:Name attrib>text</prefix:Name>`` to parent and return it."""
    node = etree.SubElement(parent, _qualified(tag), attrib)
    if text is not None:
        node.text = text
    return node


def add_date(parent: Node, tag: str, value: object, *, qualified: bool = False) -> Node:
    """``<tag><udt:DateTimeString format="102">YYYYMMDD</…></tag>`` (qdt: in references)."""
    holder = add(parent, tag)
    inner = "qdt:DateTimeString" if qualified else "udt:DateTimeString"
    add(holder, inner, to_date(value).strftime("%Y%m%d"), format="102")
    return holder


def serialize(root: Node) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def to_date(value: object) -> date:
    """A date, from a date or an ISO text (a document read back from JSON)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError(f"not a date: {value!r}")


def to_decimal(value: object, name: str = "value") -> Decimal:
    """A finite Decimal from a Decimal, an int or a text; floats are refused (see core.money)."""
    if isinstance(value, (float, bool)):
        raise ValueError(f"{name} must be a Decimal or a text, not {type(value).__name__}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} is not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{name} is not a finite number: {value!r}")
    return result


def _fixed(value: object, name: str, *, most: int, least: int) -> str:
    number = to_decimal(value, name)
    exact = number.quantize(Decimal(1).scaleb(-most))
    if exact != number:
        raise ValueError(f"{name} has more than {most} decimals: {number}")
    text = format(abs(exact) if exact.is_zero() else exact, "f")  # never "-0.00"
    if most > least and "." in text:
        whole, fraction = text.split(".")
        fraction = fraction.rstrip("0").ljust(least, "0")
        text = f"{whole}.{fraction}" if fraction else whole
    return text


def amount(value: object) -> str:
    """An amount: exactly 2 decimals (BR-DEC-*, BR-FR-DEC-01)."""
    return _fixed(value, "amount", most=2, least=2)


def quantity(value: object) -> str:
    """An invoiced quantity: up to 4 decimals, trailing zeros dropped (BR-FR-DEC-02)."""
    return _fixed(value, "quantity", most=4, least=0)


def price(value: object) -> str:
    """A unit price: up to 6 decimals, at least 2 (BR-FR-DEC-03)."""
    return _fixed(value, "unit price", most=6, least=2)


def percent(value: object) -> str:
    """A rate or a discount percent: exactly 2 decimals (BR-FR-DEC-04)."""
    return _fixed(value, "percent", most=2, least=2)
