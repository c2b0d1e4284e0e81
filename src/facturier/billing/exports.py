"""Exports for spreadsheets and accountants: invoices and payments as CSV, and the sales
journal (journal des ventes) in the 18 FEC columns (LEGAL-FR §6, art. A47 A-1 LPF).

Every export is an iterator of rows read in chunks, so 100,000 invoices stream out in
constant memory: a web view wraps it in a StreamingHttpResponse, a command writes it to a
file. Lines and allocations are read with one grouped query per chunk, never per row.

The CSV files are written the way French spreadsheets open them (`;` between fields, decimal
comma, dates 28/11/2026, UTF-8 after a byte-order mark: `csv_file`); `style="iso"` gives `,`,
a decimal point and ISO dates instead, without the mark. The French style names the columns
and the coded values in French ("Date d'émission", "payée"); the international one keeps
the machine names (`issue_date`, `paid`), the same in every CSV.
The sales journal follows the FEC: `|` (or tab) between fields, dates YYYYMMDD, decimal
comma, no thousands separator, one balanced entry per issued document.

Every cell of every file goes through `spreadsheet_safe` on its way out (`csv_lines`,
`journal_lines`): a text that a spreadsheet would run as a formula (a customer named
"=HYPERLINK(…)") is written as text, while numbers and dates stay what they are.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import chain, islice
from typing import Any, Literal

from django.db.models import QuerySet

from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    Company,
    DocType,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
)
from facturier.core.forecast import ForecastItem

CHUNK = 2000
Style = Literal["fr", "iso"]
Row = list[str]


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, "CSV Injection"):
# =, +, -, @, and a tab or carriage return, which some programs skip before reading on; also
# their full-width forms, which spreadsheets in East Asian locales read the same way.
FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
# The numbers the exports write ("-12,50", "1234.56", "42"): data, never a formula.
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


def spreadsheet_safe(cell: str) -> str:
    """`cell` as a spreadsheet shows it without running it: a text that would start a formula
    (even after leading spaces or line breaks) gets a leading single quote, OWASP's advice,
    which spreadsheets read as "this is text". Numbers are left alone: a negative amount
    stays a number.

    >>> spreadsheet_safe("=1+1"), spreadsheet_safe("  @SUM(A1)"), spreadsheet_safe("\\t=1")
    ("'=1+1", "'  @SUM(A1)", "'\\t=1")
    >>> spreadsheet_safe("-12,50"), spreadsheet_safe("-2+3"), spreadsheet_safe("Dupont")
    ('-12,50', "'-2+3", 'Dupont')
    """
    if not cell or _NUMBER.fullmatch(cell):
        return cell
    head = cell.lstrip()
    if cell[0] in FORMULA_START or (head and head[0] in FORMULA_START):
        return "'" + cell
    return cell


class _Echo:
    """A file-like object whose write() returns the line: csv.writer then yields text."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Row], *, style: Style = "fr") -> Iterator[str]:
    """Rows as CSV text lines (`;` for the French style, `,` for ISO), lazily; no cell can
    run as a formula (`spreadsheet_safe`)."""
    writer = csv.writer(_Echo(), delimiter=";" if style == "fr" else ",", lineterminator="\r\n")
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])


# Excel opens a UTF-8 CSV with accents right only when it starts with a byte-order mark.
BOM = "\ufeff"


def csv_file(rows: Iterable[Row], *, style: Style = "fr") -> Iterator[str]:
    """A whole CSV file as text lines: `csv_lines` of the rows `styled` (French columns and
    values in the French style), after a byte-order mark in the French style (for Excel;
    the international style goes without)."""
    if style == "fr":
        yield BOM
    yield from csv_lines(styled(iter(rows), style), style=style)


def _amount(value: Decimal | None, style: Style) -> str:
    """Two decimals, no thousands separator (the FEC's and spreadsheets' format).

    >>> _amount(Decimal("1234.5"), "fr"), _amount(Decimal("-3"), "iso")
    ('1234,50', '-3.00')
    """
    text = f"{(value or Decimal(0)):.2f}"
    return text.replace(".", ",") if style == "fr" else text


def _date(value: date | None, style: Style) -> str:
    if value is None:
        return ""
    return f"{value:%d/%m/%Y}" if style == "fr" else value.isoformat()


def _chunks(qs: QuerySet[Any, Any]) -> Iterator[list[Any]]:
    """`qs` in lists of CHUNK rows, read with a server-side cursor where there is one.

    The first list is read at once, when the export is asked for: a query that fails does so
    before a web response has started, never in the middle of a file being downloaded."""
    iterator = qs.iterator(chunk_size=CHUNK)
    first = list(islice(iterator, CHUNK))
    return chain([first] if first else [], _rest(iterator))


def _rest(iterator: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


# --- French spreadsheets ------------------------------------------------------------------

# The French style is for a person opening the file in a French spreadsheet: its columns and
# its coded values read in French. The international style keeps the machine names (stable for
# scripts and imports); every export has the same columns in both, in the same order.
FRENCH_COLUMNS = {
    "number": "Numéro", "type": "Type", "status": "Statut", "issue_date": "Date d'émission",
    "due_date": "Échéance", "customer_code": "Code client", "customer": "Client",
    "period_start": "Début de période", "period_end": "Fin de période", "currency": "Devise",
    "total_net": "Total HT", "total_vat": "TVA", "total_gross": "Total TTC",
    "settled": "Réglé", "balance": "Reste dû", "payment_status": "État du règlement",
    "disputed": "Contesté", "corrects": "Facture corrigée", "subscription_id": "N° abonnement",
    "received_on": "Reçu le", "method": "Moyen", "reference": "Référence", "amount": "Montant",
    "allocated": "Affecté", "unallocated": "Non affecté", "invoices": "Factures",
    "recorded_by": "Saisi par", "entry": "Écriture", "note": "Note",
    "subscription": "Abonnement", "estimated": "Estimé",
}  # fmt: skip
FRENCH_VALUES: dict[str, dict[str, str]] = {
    "type": {"invoice": "facture", "credit_note": "avoir"},
    "status": {"draft": "brouillon", "issued": "émise"},
    "payment_status": {
        "open": "à payer", "partial": "partiellement payée", "paid": "payée",
        "cancelled": "annulée par avoir",
    },
    "disputed": {"1": "oui", "0": "non"},
    "estimated": {"1": "oui", "0": "non"},
    "method": {
        "transfer": "virement", "direct_debit": "prélèvement", "card": "carte",
        "cheque": "chèque", "cash": "espèces", "other": "autre",
    },
    "entry": {"payment": "paiement", "reversal": "contre-passation", "refund": "remboursement"},
}  # fmt: skip


def styled(rows: Iterator[Row], style: Style) -> Iterator[Row]:
    """`rows` (a header, then values) as `style` writes them: for "fr", French column names
    and French words for the coded values; for "iso", as they are."""
    if style != "fr":
        yield from rows
        return
    header = next(rows, None)
    if header is None:
        return
    yield [FRENCH_COLUMNS.get(str(name), str(name)) for name in header]
    words = [FRENCH_VALUES.get(str(name)) for name in header]
    for row in rows:
        yield [w.get(str(v), v) if w else v for w, v in zip(words, row, strict=True)]


# --- invoices ----------------------------------------------------------------------------

INVOICE_HEADER = [
    "number", "type", "status", "issue_date", "due_date", "customer_code", "customer",
    "period_start", "period_end", "currency", "total_net", "total_vat", "total_gross",
    "settled", "balance", "payment_status", "disputed", "corrects", "subscription_id",
]  # fmt: skip

_INVOICE_VALUES = (
    "pk", "number", "doc_type", "status", "issue_date", "due_date", "customer__code",
    "customer__legal_name", "buyer", "period_start", "period_end", "currency", "total_net",
    "total_vat", "total_gross", "settled_amount", "settlement", "disputed", "corrects__number",
    "subscription_id",
)  # fmt: skip


def invoice_rows(invoices: QuerySet[Invoice], *, style: Style = "fr") -> Iterator[Row]:
    """The header, then one row per invoice or credit note of `invoices` (in its order); the
    first rows are read at once (`_chunks`).

    Issued documents show the customer as it was at issue (the frozen buyer)."""
    chunks = _chunks(invoices.values(*_INVOICE_VALUES))
    return chain([INVOICE_HEADER], (_invoice_row(r, style) for chunk in chunks for r in chunk))


def _invoice_row(r: dict[str, Any], style: Style) -> Row:
    buyer = r["buyer"] or {}
    return [
        r["number"] or "",
        r["doc_type"],
        r["status"],
        _date(r["issue_date"], style),
        _date(r["due_date"], style),
        buyer.get("code") or r["customer__code"],
        buyer.get("legal_name") or r["customer__legal_name"],
        _date(r["period_start"], style),
        _date(r["period_end"], style),
        r["currency"],
        _amount(r["total_net"], style),
        _amount(r["total_vat"], style),
        _amount(r["total_gross"], style),
        _amount(r["settled_amount"], style),
        _amount(r["total_gross"] - r["settled_amount"], style),
        r["settlement"],
        "1" if r["disputed"] else "0",
        r["corrects__number"] or "",
        str(r["subscription_id"] or ""),
    ]


# --- payments ----------------------------------------------------------------------------

PAYMENT_HEADER = [
    "received_on", "customer_code", "customer", "method", "reference", "currency", "amount",
    "allocated", "unallocated", "invoices", "recorded_by", "entry", "note",
]  # fmt: skip


def payments_for(company: Company, *, start: date | None, end: date | None) -> QuerySet[Payment]:
    qs = Payment.objects.filter(company=company)
    if start is not None:
        qs = qs.filter(received_on__gte=start)
    if end is not None:
        qs = qs.filter(received_on__lte=end)
    return qs.order_by("received_on", "pk")


def reversals_for(
    company: Company, *, start: date | None, end: date | None
) -> QuerySet[PaymentReversal]:
    qs = PaymentReversal.objects.filter(payment__company=company)
    if start is not None:
        qs = qs.filter(reversed_on__gte=start)
    if end is not None:
        qs = qs.filter(reversed_on__lte=end)
    return qs.order_by("reversed_on", "pk")


def refunds_for(company: Company, *, start: date | None, end: date | None) -> QuerySet[Refund]:
    qs = Refund.objects.filter(company=company)
    if start is not None:
        qs = qs.filter(refunded_on__gte=start)
    if end is not None:
        qs = qs.filter(refunded_on__lte=end)
    return qs.order_by("refunded_on", "pk")


def payment_rows(
    payments: QuerySet[Payment],
    *,
    style: Style = "fr",
    reversals: QuerySet[PaymentReversal] | None = None,
    refunds: QuerySet[Refund] | None = None,
) -> Iterator[Row]:
    """The header, then one row per payment with what it settles now (invoice numbers),
    then one row per reversal and per refund of the period (`entry` says which).

    Money moves by entries (DOMAIN invariant 12), and every row holds amount = allocated +
    unallocated: a reversal is the payment's amount negated (its allocations were released,
    so the payment's own row shows them on account), a refund is money out of the credit.
    So Σ amount is the money kept, and Σ unallocated over all rows the customers' credit.
    The first payments are read at once (`_chunks`)."""
    values = payments.values(
        "pk", "received_on", "customer__code", "customer__legal_name", "method", "reference",
        "currency", "amount", "recorded_by",
    )  # fmt: skip
    body = _payment_body(_chunks(values), style, reversals, refunds)
    return chain([PAYMENT_HEADER], body)


def _payment_body(
    chunks: Iterator[list[dict[str, Any]]],
    style: Style,
    reversals: QuerySet[PaymentReversal] | None,
    refunds: QuerySet[Refund] | None,
) -> Iterator[Row]:
    for chunk in chunks:
        settled: dict[int, list[tuple[str, Decimal]]] = {}
        rows = (
            PaymentAllocation.objects.filter(payment_id__in=[r["pk"] for r in chunk])
            .values("payment_id", "invoice_id", "invoice__number")
            .annotate(net=exact_sum("amount"))
            .order_by("payment_id", "invoice_id")
        )
        for a in rows:  # releases count negative: what each payment settles now
            if a["net"]:
                number = a["invoice__number"] or ""
                settled.setdefault(a["payment_id"], []).append((number, a["net"]))
        for r in chunk:
            parts = settled.get(r["pk"], [])
            used = sum((amount for _n, amount in parts), Decimal(0))
            yield [
                _date(r["received_on"], style),
                r["customer__code"],
                r["customer__legal_name"],
                r["method"],
                r["reference"],
                r["currency"],
                _amount(r["amount"], style),
                _amount(used, style),
                _amount(r["amount"] - used, style),
                " ".join(number for number, _a in parts),
                r["recorded_by"],
                "payment",
                "",
            ]
    zero = _amount(Decimal(0), style)
    if reversals is not None:
        undone = reversals.values(
            "reversed_on", "payment__customer__code", "payment__customer__legal_name",
            "payment__method", "payment__reference", "payment__currency", "amount",
            "recorded_by", "reason",
        )  # fmt: skip
        for rv in undone.iterator(chunk_size=CHUNK):
            yield [
                _date(rv["reversed_on"], style), rv["payment__customer__code"],
                rv["payment__customer__legal_name"], rv["payment__method"],
                rv["payment__reference"], rv["payment__currency"], _amount(-rv["amount"], style),
                zero, _amount(-rv["amount"], style), "", rv["recorded_by"], "reversal",
                rv["reason"],
            ]  # fmt: skip
    if refunds is not None:
        back = refunds.values(
            "refunded_on", "customer__code", "customer__legal_name", "method", "reference",
            "currency", "amount", "recorded_by",
        )  # fmt: skip
        for rf in back.iterator(chunk_size=CHUNK):
            yield [
                _date(rf["refunded_on"], style), rf["customer__code"], rf["customer__legal_name"],
                rf["method"], rf["reference"], rf["currency"], _amount(-rf["amount"], style), zero,
                _amount(-rf["amount"], style), "", rf["recorded_by"], "refund", "",
            ]  # fmt: skip


# --- sales journal (FEC columns) -----------------------------------------------------------

FEC_HEADER = [
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
]  # fmt: skip


@dataclass(frozen=True)
class Accounts:
    """The chart-of-accounts numbers the journal uses (PCG; the accountant may change them)."""

    journal_code: str = "VE"
    journal_label: str = "Ventes"
    customers: str = "411000"
    customers_label: str = "Clients"
    services: str = "706000"
    services_label: str = "Prestations de services"
    goods: str = "707000"
    goods_label: str = "Ventes de marchandises"
    vat: str = "445710"
    vat_label: str = "TVA collectée"


@dataclass(frozen=True)
class JournalLine:
    """One line of an entry; `amount` > 0 is a debit, < 0 a credit."""

    account: str
    label: str
    amount: Decimal
    aux_code: str = ""
    aux_label: str = ""


@dataclass(frozen=True)
class JournalEntry:
    number: int  # EcritureNum: the document's place in the company's chain, gapless
    day: date
    piece: str
    text: str
    lines: tuple[JournalLine, ...]

    @property
    def balance(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def journal_documents(company: Company, *, start: date, end: date) -> QuerySet[Invoice]:
    """Issued invoices and credit notes of `[start, end]` in the order they were issued."""
    return Invoice.objects.filter(
        company=company,
        status=InvoiceStatus.ISSUED,
        issue_date__gte=start,
        issue_date__lte=end,
    ).order_by("chain_index", "pk")


def _rate_text(rate: str) -> str:
    """A VAT rate as an account label shows it.

    >>> _rate_text("20.00"), _rate_text("5.50")
    ('20 %', '5,5 %')
    """
    value = Decimal(rate).normalize()
    return f"{value:f}".replace(".", ",") + " %"


def _entry(doc: dict[str, Any], nets: dict[str, Decimal], accounts: Accounts) -> JournalEntry:
    """The entry of one document: customer debit, revenue and VAT credits (reversed for a
    credit note, whose stored amounts are positive)."""
    sign = Decimal(-1) if doc["doc_type"] == DocType.CREDIT_NOTE else Decimal(1)
    buyer = doc["buyer"] or {}
    code = buyer.get("code") or doc["customer__code"]
    name = buyer.get("legal_name") or doc["customer__legal_name"]
    lines = [
        JournalLine(accounts.customers, accounts.customers_label, sign * doc["total_gross"],
                    code, name),
    ]  # fmt: skip
    for kind, account, label in (
        ("services", accounts.services, accounts.services_label),
        ("goods", accounts.goods, accounts.goods_label),
    ):
        if nets.get(kind):
            lines.append(JournalLine(account, label, -sign * nets[kind]))
    vat_by_rate: dict[str, Decimal] = {}
    for part in doc["vat_breakdown"] or []:
        vat_by_rate[part["rate"]] = vat_by_rate.get(part["rate"], Decimal(0)) + Decimal(part["vat"])
    for rate, amount in sorted(vat_by_rate.items(), key=lambda item: Decimal(item[0])):
        if amount:
            label = f"{accounts.vat_label} {_rate_text(rate)}"
            lines.append(JournalLine(accounts.vat, label, -sign * amount))
    what = "Avoir" if doc["doc_type"] == DocType.CREDIT_NOTE else "Facture"
    return JournalEntry(
        number=doc["chain_index"] or doc["pk"],
        day=doc["issue_date"],
        piece=doc["number"],
        text=f"{what} {doc['number']} {name}",
        lines=tuple(lines),
    )


def journal_entries(
    company: Company, *, start: date, end: date, accounts: Accounts | None = None
) -> Iterator[JournalEntry]:
    """One balanced entry per document issued in `[start, end]`, in issue order; the first
    documents are read at once (`_chunks`)."""
    docs = journal_documents(company, start=start, end=end).values(
        "pk", "chain_index", "number", "doc_type", "issue_date", "buyer", "customer__code",
        "customer__legal_name", "total_gross", "vat_breakdown",
    )  # fmt: skip
    return _journal_entries(_chunks(docs), accounts or Accounts())


def _journal_entries(
    chunks: Iterator[list[dict[str, Any]]], accounts: Accounts
) -> Iterator[JournalEntry]:
    for chunk in chunks:
        nets: dict[int, dict[str, Decimal]] = {}
        per_kind = (
            InvoiceLine.objects.filter(invoice_id__in=[d["pk"] for d in chunk])
            .values("invoice_id", "kind")
            .annotate(net=exact_sum("net_amount"))
        )
        for row in per_kind:
            nets.setdefault(row["invoice_id"], {})[row["kind"]] = row["net"]
        for doc in chunk:
            yield _entry(doc, nets.get(doc["pk"], {}), accounts)


def _clean(text: str, separator: str) -> str:
    # A separator or a line break inside a field would shift the columns of the file.
    return " ".join(text.replace(separator, " ").split())


def journal_rows(
    entries: Iterable[JournalEntry], *, accounts: Accounts | None = None
) -> Iterator[Row]:
    """The FEC header, then one row per entry line (amounts as the FEC writes them)."""
    accounts = accounts or Accounts()
    yield FEC_HEADER
    for entry in entries:
        day = f"{entry.day:%Y%m%d}"
        for line in entry.lines:
            debit = line.amount if line.amount > 0 else Decimal(0)
            credit = -line.amount if line.amount < 0 else Decimal(0)
            yield [
                accounts.journal_code, accounts.journal_label, str(entry.number), day,
                line.account, line.label, line.aux_code, line.aux_label, entry.piece, day,
                entry.text, _amount(debit, "fr"), _amount(credit, "fr"), "", "", day, "", "",
            ]  # fmt: skip


def journal_lines(rows: Iterable[Sequence[str]], *, separator: str = "|") -> Iterator[str]:
    """FEC text lines: fields joined by `|` or a tab, CRLF line ends; no field can run as a
    formula when the file is opened in a spreadsheet (`spreadsheet_safe`)."""
    if separator not in ("|", "\t"):
        raise ValueError("the FEC separator is '|' or a tab")
    for row in rows:
        fields = (spreadsheet_safe(_clean(field, separator)) for field in row)
        yield separator.join(fields) + "\r\n"


def journal_filename(company: Company, *, start: date, end: date) -> str:
    return f"{company.siren}-journal-ventes-{start:%Y%m%d}-{end:%Y%m%d}.txt"


# --- forecast ------------------------------------------------------------------------------

# The invoice CSV's column names for the same values (an invoice to come is issued on
# `issue_date`).
FORECAST_HEADER = [
    "issue_date", "subscription_id", "subscription", "customer", "period_start", "period_end",
    "currency", "total_net", "total_vat", "total_gross", "estimated",
]  # fmt: skip


def forecast_rows(
    items: Iterable[ForecastItem], *, currency: str = "EUR", style: Style = "fr"
) -> Iterator[Row]:
    """The header, then one row per invoice to come (never numbered: none exists yet)."""
    yield FORECAST_HEADER
    for item in items:
        yield [
            _date(item.on, style),
            str(item.subscription_id),
            item.subscription,
            item.customer,
            _date(item.period_start, style),
            _date(item.period_end, style),
            currency,
            _amount(item.net, style),
            _amount(item.vat, style),
            _amount(item.gross, style),
            "1" if item.estimated else "0",
        ]
