"""Invoice lines (BG-25) of the CII XML, with their discounts as line allowances (BG-27).

The line net (BT-131) is the stored, already rounded net (RND-02). The discounts are stated so
that ``round(quantity × unit price) − Σ allowances == net`` exactly: the fixed discount as is,
the percent discount as the rest (INV-21), which may differ by a cent from
``round(basis × percent)`` since the line is rounded once, not per discount.

>>> line_allowances({"quantity": "3", "unit_price": "19.99", "discount_percent": "10",
...                  "discount_amount": "0", "net_amount": "53.97"})
[('10.00', '59.97', '6.00'), (None, None, None)]
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from facturier.core.money import round_money
from facturier.documents.cii_base import (
    Node,
    add,
    add_date,
    amount,
    percent,
    price,
    quantity,
    to_decimal,
)
from facturier.documents.cii_tax import add_line_tax

DISCOUNT_REASON_CODE = "95"  # UNTDID 5189: discount
DISCOUNT_REASON = "Remise"

# (percent, basis, amount) of a percent allowance, or None values when there is none.
Allowance = tuple[str | None, str | None, str | None]


def _number(line: Mapping[str, Any], key: str) -> Decimal:
    value = line.get(key)
    return to_decimal(value if value not in (None, "") else 0, key)


def line_allowances(line: Mapping[str, Any], currency: str = "EUR") -> list[Allowance]:
    """[(percent, basis, amount) of the percent discount, (…, …, amount) of the fixed one];
    a None amount means that discount is absent."""
    gross = round_money(_number(line, "quantity") * _number(line, "unit_price"), currency)
    net = _number(line, "net_amount")
    total = gross - net
    pct, fixed = _number(line, "discount_percent"), _number(line, "discount_amount")
    if total == 0:
        return [(None, None, None), (None, None, None)]
    if pct == 0:
        return [(None, None, None), (None, None, amount(total))]
    fixed_part = fixed.copy_sign(total) if fixed else Decimal(0)
    rest = total - fixed_part
    percent_allowance = (percent(pct), amount(gross), amount(rest))
    return [percent_allowance, (None, None, amount(fixed_part) if fixed else None)]


def _add_allowance(parent: Node, allowance: Allowance, reason: str) -> None:
    calc, basis, value = allowance
    if value is None:
        return
    node = add(parent, "ram:SpecifiedTradeAllowanceCharge")
    add(add(node, "ram:ChargeIndicator"), "udt:Indicator", "false")
    if calc is not None and basis is not None:
        add(node, "ram:CalculationPercent", calc)
        add(node, "ram:BasisAmount", basis)
    add(node, "ram:ActualAmount", value)
    add(node, "ram:ReasonCode", DISCOUNT_REASON_CODE)
    add(node, "ram:Reason", reason)


def add_line(parent: Node, line: Mapping[str, Any], currency: str = "EUR") -> None:
    """One BG-25: id, item name, net price, quantity, VAT, period, allowances, net."""
    description = str(line.get("description") or "").strip()
    if not description:
        raise ValueError(f"line {line.get('position')}: no description (BT-153)")
    node = add(parent, "ram:IncludedSupplyChainTradeLineItem")
    add(add(node, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line["position"]))
    add(add(node, "ram:SpecifiedTradeProduct"), "ram:Name", description)
    agreement = add(node, "ram:SpecifiedLineTradeAgreement")
    net_price = add(agreement, "ram:NetPriceProductTradePrice")
    add(net_price, "ram:ChargeAmount", price(line["unit_price"]))
    delivery = add(node, "ram:SpecifiedLineTradeDelivery")
    unit = str(line.get("unit_code") or "C62")
    add(delivery, "ram:BilledQuantity", quantity(line["quantity"]), unitCode=unit)
    settlement = add(node, "ram:SpecifiedLineTradeSettlement")
    add_line_tax(settlement, line)
    start, end = line.get("period_start"), line.get("period_end")
    if start or end:
        period = add(settlement, "ram:BillingSpecifiedPeriod")
        if start:
            add_date(period, "ram:StartDateTime", start)
        if end:
            add_date(period, "ram:EndDateTime", end)
    by_percent, fixed = line_allowances(line, currency)
    if by_percent[2] is not None:
        rate = format(to_decimal(by_percent[0]).normalize(), "f").replace(".", ",")
        _add_allowance(settlement, by_percent, f"{DISCOUNT_REASON} {rate} %")
    _add_allowance(settlement, fixed, DISCOUNT_REASON)
    summation = add(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    add(summation, "ram:LineTotalAmount", amount(line["net_amount"]))
