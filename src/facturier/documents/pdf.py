"""The Factur-X PDF (PDF/A-3b + embedded EN 16931 XML) of an issued invoice or credit note.

:func:`invoice_pdf` renders the same plain dict as :func:`facturier.documents.cii.invoice_xml`
(FX-06: one source for both) with the chosen layout (:mod:`facturier.documents.layouts`), then
lets the factur-x library embed ``factur-x.xml`` (``/AFRelationship /Alternative``, FX-02) and
write the XMP metadata with ``pdfaid:part=3`` and the ``fx:`` extension schema (FX-01, FX-03).
The sRGB output intent is added to the catalog first; factur-x keeps the catalog of the PDF it
is given. Every layout goes through the same steps, so each one is as conformant as the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import facturx

from facturier.core.money import format_date
from facturier.documents.cii import invoice_xml
from facturier.documents.cii_base import to_date
from facturier.documents.layouts import DEFAULT_LAYOUT, layout_class
from facturier.documents.pdf_content import Content
from facturier.documents.pdf_layout import add_output_intent


def invoice_pdf(
    doc: Mapping[str, Any],
    *,
    xml: bytes | None = None,
    logo: bytes | None = None,
    accent: str = "#1f4e79",
    footer: str = "",
    layout: str = DEFAULT_LAYOUT,
) -> bytes:
    """The Factur-X (EN 16931) PDF/A-3b of an issued document, as bytes.

    ``xml`` is the CII XML to embed (built with :func:`invoice_xml` when None); ``logo`` an
    image (PNG/JPEG bytes) drawn in the header; ``accent`` the colour of titles and rules;
    ``footer`` a line on every page; ``layout`` a built-in layout's name (``UnknownLayout``,
    a ValueError, otherwise).
    """
    renderer = layout_class(layout)
    if xml is None:
        xml = invoice_xml(doc)
    content = Content(doc)
    rendered = renderer(content, accent=accent, logo=logo, footer=footer).render()
    seller = str(doc["seller"].get("legal_name") or "")
    title, number = content.title, str(doc["number"])
    result: bytes = facturx.generate_from_binary(
        add_output_intent(rendered),
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        afrelationship="alternative",
        pdf_metadata={
            "author": seller,
            "keywords": f"Factur-X, {title}",
            "title": f"{seller}: {title} {number}",
            "subject": f"{title} {number} – {format_date(to_date(doc['issue_date']))}",
        },
        lang="en-GB" if content.language == "en" else "fr-FR",
    )
    return result
