"""The Factur-X PDF in every built-in layout: PDF/A-3 structure (FX-01..04), embedded XML,
rendered mentions (FX-06), repeated table header and page numbers."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import facturx
import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from facturier.core.money import format_amount
from facturier.documents.cii import invoice_xml
from facturier.documents.layouts import LAYOUTS
from facturier.documents.pdf import invoice_pdf
from tests.documents.builders import BUYER_DE, document, matrix

VALIDATOR = Path(__file__).resolve().parents[3] / "shared/validators/en16931/validate.py"
CASES = matrix()
layouts = pytest.mark.parametrize("layout", sorted(LAYOUTS))


Rendered = dict[str, dict[str, bytes]]  # layout → case → PDF


@pytest.fixture(scope="module")
def rendered() -> Rendered:
    return {
        layout: {name: invoice_pdf(doc, layout=layout) for name, doc in CASES.items()}
        for layout in LAYOUTS
    }


@pytest.fixture
def pdfs(rendered: Rendered, layout: str) -> dict[str, bytes]:
    return rendered[layout]


def _reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def _text(pdf: bytes) -> str:
    # Amounts use no-break spaces; extraction may give either kind back. Layouts wrap the
    # mentions at different places: compare texts with single spaces.
    return " ".join(page_text(page) for page in _reader(pdf).pages)


def page_text(page: Any) -> str:
    return " ".join(page.extract_text().replace("\u00a0", " ").split())


def _plain(value: str) -> str:
    return value.replace("\u00a0", " ")


def _catalog(pdf: bytes) -> DictionaryObject:
    root = _reader(pdf).trailer["/Root"].get_object()
    assert isinstance(root, DictionaryObject)
    return root


@layouts
def test_catalog_has_output_intent_and_associated_file(pdfs: dict[str, bytes]) -> None:
    catalog = _catalog(pdfs["b2b_fr"])
    intents = catalog["/OutputIntents"]
    assert len(intents) == 1
    intent = intents[0].get_object()
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/OutputConditionIdentifier"] == "sRGB IEC61966-2.1"
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3
    assert profile.get_data()[36:40] == b"acsp"  # an ICC profile
    assert len(catalog["/AF"]) == 1
    assert not _reader(pdfs["b2b_fr"]).is_encrypted


@pytest.mark.parametrize("case", sorted(CASES))
@layouts
def test_embedded_xml_is_the_documents(pdfs: dict[str, bytes], case: str) -> None:
    catalog = _catalog(pdfs[case])
    spec = catalog["/AF"][0].get_object()
    assert spec["/F"] == "factur-x.xml"
    assert spec["/AFRelationship"] == "/Alternative"
    stream = spec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/text/xml"
    assert stream.get_data() == invoice_xml(CASES[case])
    names = catalog["/Names"]["/EmbeddedFiles"]["/Names"]
    assert names[0::2] == ["factur-x.xml"]


@layouts
def test_get_xml_from_pdf_round_trips(pdfs: dict[str, bytes]) -> None:
    name, xml = facturx.get_xml_from_pdf(pdfs["several_rates"], check_xsd=True)
    assert name == "factur-x.xml"
    assert xml == invoice_xml(CASES["several_rates"])


@layouts
def test_given_xml_is_embedded_as_is(layout: str) -> None:
    doc = CASES["b2b_fr"]
    xml = invoice_xml(doc)
    pdf = invoice_pdf(doc, xml=xml, layout=layout)
    _, embedded = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert embedded == xml


@layouts
def test_xmp_declares_pdfa3b_and_factur_x_en16931(pdfs: dict[str, bytes]) -> None:
    metadata = _catalog(pdfs["b2b_fr"])["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in metadata
    assert "<pdfaid:conformance>B</pdfaid:conformance>" in metadata
    assert "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in metadata
    assert "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>" in metadata
    assert "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in metadata


@pytest.mark.parametrize("case", sorted(CASES))
@layouts
def test_every_font_is_embedded(pdfs: dict[str, bytes], case: str) -> None:
    seen = 0
    for page in _reader(pdfs[case]).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            if descendants is not None:
                font = descendants[0].get_object()
            assert "/FontFile2" in font["/FontDescriptor"], font["/BaseFont"]
            seen += 1
    assert seen >= 1


@layouts
def test_b2b_invoice_states_every_mandatory_mention(pdfs: dict[str, bytes]) -> None:
    doc, text = CASES["b2b_fr"], _text(pdfs["b2b_fr"])
    expected = [
        # the document (INV-05..08)
        "Facture",
        "N° F2026-00042",
        "Date d'émission : 30/11/2026",
        "Date d'échéance : 30/12/2026",
        "Période du 01/11/2026 au 30/11/2026",
        "Bon de commande : BC-2026-118",
        # the seller (INV-01..04)
        "Atelier Test",
        "SAS au capital de 10 000,00 € – RCS Paris 732829320",
        "12 rue de la Paix",
        "75002 Paris",
        "SIREN 732829320 – SIRET 73282932000074",
        "N° TVA FR44732829320",
        # the buyer
        "Boulangerie Martin",
        "3 place du Marché",
        "69001 Lyon",
        "SIREN 443061841",
        "N° TVA FR40443061841",
        # the line, the breakdown, the totals (INV-09..13)
        "Abonnement logiciel",
        "49,90 €",
        "20,0 %",
        "9,98 €",
        "Total HT",
        "Total TVA",
        "Total TTC",
        f"Net à payer {_plain(format_amount(doc['total_gross']))}",
        # payment and its terms (PAY-01..07)
        "IBAN FR76 3000 6000 0112 3456 7890 189 – BIC AGRIFRPP",
        "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : "
        f"{_plain(format_amount(Decimal(40)))} (art. L441-10 et D441-5 du Code de commerce).",
        "des pénalités au taux annuel de 12,15 % à compter du lendemain de la date d'échéance",
        "Pas d'escompte pour paiement anticipé.",
        "Merci de votre confiance.",
        "Page 1 / 1",
    ]
    assert [item for item in expected if item not in text] == []
    assert "d'après les débits" not in text


@layouts
def test_consumer_has_no_recovery_indemnity(pdfs: dict[str, bytes]) -> None:
    text = _text(pdfs["consumer"])
    assert "D441-5" not in text
    assert _plain(format_amount(Decimal(40))) not in text
    assert "Aucune indemnité forfaitaire" in text
    assert "Adresse de livraison" in text and "8 rue Neuve" in text


@layouts
def test_mentions_from_the_breakdown_and_debits_option(pdfs: dict[str, bytes]) -> None:
    assert "TVA non applicable, art. 293 B du CGI" in _text(pdfs["franchise"])
    assert "Autoliquidation" in _text(pdfs["reverse_charge_de"])
    assert "Option pour le paiement de la taxe d'après les débits" in _text(pdfs["several_rates"])


@layouts
def test_english_buyer_gets_english_labels(layout: str) -> None:
    text = _text(invoice_pdf(document(buyer=BUYER_DE, period=None), layout=layout))
    assert "Invoice" in text and "Facture" not in text
    assert "Amount due" in text


@layouts
def test_credit_note(pdfs: dict[str, bytes]) -> None:
    text = _text(pdfs["credit_note"])
    assert "Avoir" in text
    assert "F2026-00031" in text and "31/10/2026" in text


@layouts
def test_forty_lines_span_pages_with_numbering(pdfs: dict[str, bytes]) -> None:
    pdf = pdfs["forty_lines"]
    pages = _reader(pdf).pages
    assert len(pages) >= 2
    with_lines = 0
    for number, page in enumerate(pages, start=1):
        text = page_text(page)
        assert f"Page {number} / {len(pages)}" in text
        if "Ligne " in text:  # the table goes on on this page: its header row repeats
            with_lines += 1
            assert "Désignation Qté Unité PU HT TVA Montant HT" in text
    assert with_lines >= 2
    text = _text(pdf)
    assert all(f"Ligne {i} " in text for i in range(1, 41))
    assert "Déjà réglé" in text


@layouts
def test_logo_accent_and_footer(layout: str) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (200, 30, 30)).save(buffer, format="PNG")
    pdf = invoice_pdf(
        CASES["b2b_fr"], logo=buffer.getvalue(), accent="#aa3300", footer="Merci", layout=layout
    )
    assert "Merci" in _text(pdf)
    assert _reader(pdf).pages[0]["/Resources"]["/XObject"]


def test_shared_validator_accepts_the_pdfs_of_every_layout(
    rendered: Rendered, tmp_path: Path
) -> None:
    if not VALIDATOR.is_file():
        pytest.skip(f"the shared EN 16931 validator is not installed at {VALIDATOR}")
    if importlib.util.find_spec("saxonche") is None:
        pytest.skip("the validator needs saxonche, which is not installed")
    paths: list[Any] = []
    for layout, pdfs in rendered.items():
        for name, pdf in pdfs.items():
            path = tmp_path / f"{layout}-{name}.pdf"
            path.write_bytes(pdf)
            paths.append(str(path))
    assert len(paths) == len(LAYOUTS) * len(CASES)
    run = subprocess.run(
        [sys.executable, str(VALIDATOR), "--pdf", *paths],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == f"{len(paths)} passed, 0 failed"
