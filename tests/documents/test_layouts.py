"""The built-in layouts: one registry agreeing with core, distinct looks, the company's choice
validated and used by the worker (the PDF checks of every layout are in test_pdf.py)."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader
from reportlab.lib.enums import TA_RIGHT
from reportlab.platypus import Paragraph

from facturier.billing.models import ArchivedDocument, Company
from facturier.billing.services import InvalidInput, company_update, invoice_issue
from facturier.core import layouts as core_layouts
from facturier.documents import layouts
from facturier.documents.layouts import LAYOUTS, UnknownLayout, layout_class
from facturier.documents.pdf import invoice_pdf
from facturier.documents.pdf_content import Content
from facturier.documents.renderer import InvoiceLayout
from facturier.worker import render
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS
from tests.documents.builders import document, line, matrix

CASES = matrix()


def _pages(pdf: bytes) -> list[str]:
    return [
        " ".join(page.extract_text().replace("\u00a0", " ").split())
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def test_registry_is_the_core_list() -> None:
    assert {name: cls.label for name, cls in LAYOUTS.items()} == core_layouts.LAYOUTS
    assert list(LAYOUTS) == list(core_layouts.LAYOUTS)
    assert layouts.DEFAULT_LAYOUT in LAYOUTS
    assert all(issubclass(cls, InvoiceLayout) and cls.name == name for name, cls in LAYOUTS.items())
    assert len(LAYOUTS) >= 3


def test_unknown_layout_refused() -> None:
    with pytest.raises(UnknownLayout, match="unknown invoice layout 'fancy'"):
        layout_class("fancy")
    with pytest.raises(ValueError, match="classic, modern, compact"):
        invoice_pdf(CASES["b2b_fr"], layout="Modern")


def test_compact_fits_more_lines_on_a_page() -> None:
    pages = {name: _pages(invoice_pdf(CASES["forty_lines"], layout=name)) for name in LAYOUTS}
    first_page = {
        name: sum(f"Ligne {i} " in texts[0] for i in range(1, 41)) for name, texts in pages.items()
    }
    assert first_page["compact"] > first_page["classic"] >= 10
    assert len(pages["compact"]) < len(pages["classic"])


def test_modern_names_the_document_on_continuation_pages() -> None:
    pages = _pages(invoice_pdf(CASES["forty_lines"], layout="modern"))
    assert len(pages) >= 2
    assert all("Facture F2026-00042" in page for page in pages[1:])
    classic = _pages(invoice_pdf(CASES["forty_lines"], layout="classic"))
    assert "Facture F2026-00042" not in classic[1]


def test_a_new_layout_overrides_only_what_differs() -> None:
    class Boxed(InvoiceLayout):
        name, label = "boxed", "Boxed"

        def grid_style(self) -> list[tuple[Any, ...]]:
            return [*super().grid_style(), ("BOX", (0, 0), (-1, -1), 1, self.accent)]

    pdf = Boxed(Content(CASES["b2b_fr"]), footer="Pied de page").render()
    text = " ".join(_pages(pdf))
    assert "Net à payer 59,88 €" in text
    assert "Indemnité forfaitaire pour frais de recouvrement" in text
    assert "Pied de page" in text and "Page 1 / 1" in text


# The company's choice -----------------------------------------------------------------------


def test_company_layout_choices_are_the_built_in_ones(company: Company) -> None:
    field = Company._meta.get_field("invoice_layout")
    assert [name for name, _ in field.choices] == list(LAYOUTS)
    assert company.invoice_layout == "classic"


def test_unknown_company_layout_refused_and_nothing_changes(company: Company) -> None:
    with pytest.raises(InvalidInput) as err:
        company_update(company, actor=SYS, invoice_layout="fancy", invoice_footer="Changed")
    assert err.value.field == "invoice_layout"
    stored = Company.objects.get(pk=company.pk)
    assert (stored.invoice_layout, stored.invoice_footer) == ("classic", "")


def test_the_schema_matches_the_layout_choices(db: None) -> None:
    call_command("makemigrations", "billing", "--check", "--dry-run", verbosity=0)


@pytest.fixture
def layouts_used(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The layout each invoice_pdf call of the worker used (the real function still runs)."""
    used: list[str] = []
    real = render.invoice_pdf

    def spy(*args: Any, **kwargs: Any) -> bytes:
        used.append(kwargs["layout"])
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "invoice_pdf", spy)
    return used


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.usefixtures("media")
def test_worker_renders_with_the_company_layout(
    company: Company, make_draft: Any, layouts_used: list[str]
) -> None:
    company_update(company, actor=SYS, invoice_layout="compact")
    invoice_issue(make_draft(), actor=SYS)
    assert outbox_deliver() == 1
    assert layouts_used == ["compact"]
    assert ArchivedDocument.objects.count() == 1


@pytest.mark.usefixtures("media")
def test_worker_falls_back_to_classic_for_an_unknown_name(
    company: Company, make_draft: Any, layouts_used: list[str], caplog: Any
) -> None:
    Company.objects.filter(pk=company.pk).update(invoice_layout="removed")  # around the services
    inv = invoice_issue(make_draft(), actor=SYS)
    with caplog.at_level(logging.WARNING, logger="facturier.worker.render"):
        assert outbox_deliver() == 1
    assert layouts_used == ["classic"]
    assert ArchivedDocument.objects.filter(invoice=inv).exists()
    assert "unknown invoice layout 'removed'" in caplog.text


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize(
    ("quantity", "price"),
    [("1", "123456.78"), ("1", "833333333333.333333"), ("99999999.9999", "8333.333333")],
)
def test_amounts_never_wrap(name: str, quantity: str, price: str) -> None:
    """123 456,78 € wrapped onto two lines in the unit-price column, and larger amounts
    split their digits: every amount the database can hold stays on one line (the column
    widens, the text column gives room, the font shrinks as a last resort)."""
    doc = document([line("Maintenance", quantity=quantity, unit_price=price)])
    layout = LAYOUTS[name](Content(doc))
    checked = 0
    for table in (layout.lines(), layout.totals(), layout.breakdown()):
        widths = table._colWidths
        assert round(sum(widths)) <= round(layout.width)
        for r, row in enumerate(table._cellvalues):
            if r < table.repeatRows:
                continue  # a column title may wrap
            for column, cell in enumerate(row):
                if isinstance(cell, Paragraph) and cell.style.alignment == TA_RIGHT:
                    cell.wrap(widths[column] - 12, 1000)  # the cell's paddings
                    assert len(cell.blPara.lines) == 1, f"'{cell.getPlainText()}' wraps"
                    checked += 1
    assert checked >= 7  # quantity, VAT rate, unit price, net; base, VAT; totals
