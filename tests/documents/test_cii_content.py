"""What the CII XML says: French mentions, identifiers, codes, totals, and refusals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from facturier.documents.cii import invoice_xml
from facturier.documents.cii_base import NSMAP
from tests.documents.builders import (
    BUYER_DE,
    BUYER_FR,
    CONSUMER,
    SELLER,
    document,
    line,
    matrix,
)

CASES = matrix()
AGREEMENT = "//ram:ApplicableHeaderTradeAgreement"


def xpath(doc: dict[str, Any], path: str) -> list[str]:
    """Texts (or attribute values) the XPath selects in the document's XML."""
    root = etree.fromstring(invoice_xml(doc))
    return [str(found).strip() if isinstance(found, str) else (found.text or "").strip()
            for found in root.xpath(path, namespaces=NSMAP)]  # fmt: skip


def notes(doc: dict[str, Any]) -> dict[str, list[str]]:
    root = etree.fromstring(invoice_xml(doc))
    result: dict[str, list[str]] = {}
    for note in root.xpath("//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NSMAP):
        subject = note.findtext("ram:SubjectCode", default="", namespaces=NSMAP)
        result.setdefault(subject, []).append(note.findtext("ram:Content", namespaces=NSMAP))
    return result


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [(["services"], "S1"), (["goods", "goods"], "B1"), (["services", "goods"], "M1")],
)
def test_bt23_tells_goods_services_or_both(kinds: list[str], expected: str) -> None:
    doc = document([line(kind=kind) for kind in kinds])
    assert xpath(doc, "//ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID") == [expected]
    assert xpath(doc, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [
        "urn:cen.eu:en16931:2017"
    ]


def test_business_notes_state_the_40_euro_indemnity_once() -> None:
    found = notes(CASES["b2b_fr"])
    assert [len(found[code]) for code in ("PMT", "PMD", "AAB", "BAR")] == [1, 1, 1, 1]
    assert "40,00\xa0€" in found["PMT"][0]
    assert "12,15 %" in found["PMD"][0]
    assert found["AAB"] == ["Pas d'escompte pour paiement anticipé."]
    assert found["BAR"] == ["B2B"]


def test_consumers_are_never_charged_the_40_euro_indemnity() -> None:
    found = notes(CASES["consumer"])
    # BR-FR-05 wants a PMT note on every document; for a consumer it says none is due.
    assert len(found["PMT"]) == 1
    assert "40" not in found["PMT"][0]
    assert "non professionnel" in found["PMT"][0]
    assert "L441-10" not in found["PMD"][0]
    assert found["BAR"] == ["B2C"]


@pytest.mark.parametrize(
    ("buyer", "expected"),
    [(BUYER_FR, "B2B"), (BUYER_DE, "B2BINT"), (CONSUMER, "B2C"),
     ({**CONSUMER, "country": "BE"}, "B2CINT")],
)  # fmt: skip
def test_bar_note_classifies_the_flow(buyer: dict[str, Any], expected: str) -> None:
    assert notes(document(buyer=buyer))["BAR"] == [expected]


def test_french_company_identifiers() -> None:
    doc = CASES["b2b_fr"]
    seller, buyer = f"{AGREEMENT}/ram:SellerTradeParty", f"{AGREEMENT}/ram:BuyerTradeParty"
    assert xpath(doc, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == [
        "732829320"
    ]
    assert xpath(doc, f"{seller}/ram:GlobalID[@schemeID='0009']") == ["73282932000074"]
    assert xpath(doc, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == [
        "FR44732829320"
    ]
    assert xpath(doc, f"{seller}/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["0225"]
    assert xpath(doc, f"{seller}/ram:URIUniversalCommunication/ram:URIID") == ["732829320"]
    assert xpath(doc, f"{seller}/ram:Description") == [
        "SAS au capital de 10\xa0000,00\xa0€ – RCS Paris 732829320"
    ]
    # BT-49 of a French business: schemeID 0225, starting with its SIREN (BR-FR-21).
    assert xpath(doc, f"{buyer}/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["0225"]
    assert xpath(doc, f"{buyer}/ram:URIUniversalCommunication/ram:URIID")[0].startswith("443061841")
    assert xpath(doc, f"{buyer}/ram:SpecifiedLegalOrganization/ram:ID") == ["443061841"]
    assert xpath(doc, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == ["BC-2026-118"]


@pytest.mark.parametrize(
    ("buyer", "scheme", "address"),
    [(BUYER_DE, "9930", "DE136695976"), (CONSUMER, "EM", "marie@example.org"),
     ({**BUYER_DE, "billing_emails": ["ap@muller.example"]}, "EM", "ap@muller.example")],
)  # fmt: skip
def test_other_buyers_electronic_address(buyer: dict[str, Any], scheme: str, address: str) -> None:
    uri = f"{AGREEMENT}/ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID"
    assert xpath(document(buyer=buyer), f"{uri}/@schemeID") == [scheme]
    assert xpath(document(buyer=buyer), uri) == [address]


def test_consumer_has_no_company_identifiers_and_gets_the_delivery_address() -> None:
    doc = CASES["consumer"]
    assert xpath(doc, f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization") == []
    assert xpath(doc, "//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:LineOne") == [
        "8 rue Neuve"
    ]


@pytest.mark.parametrize(
    ("case", "category", "code", "reason"),
    [("franchise", "E", "VATEX-FR-FRANCHISE", "TVA non applicable, art. 293 B du CGI"),
     ("reverse_charge_de", "AE", "VATEX-EU-AE", "Autoliquidation"),
     ("intra_eu_goods", "K", "VATEX-EU-IC", "Exonération de TVA, article 262 ter I du CGI")],
)  # fmt: skip
def test_exempt_breakdown_has_wording_and_vatex(
    case: str, category: str, code: str, reason: str
) -> None:
    tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert xpath(CASES[case], f"{tax}/ram:CategoryCode") == [category]
    assert xpath(CASES[case], f"{tax}/ram:ExemptionReasonCode") == [code]
    assert xpath(CASES[case], f"{tax}/ram:ExemptionReason")[0].startswith(reason)
    assert xpath(CASES[case], f"{tax}/ram:CalculatedAmount") == ["0.00"]


def test_franchise_seller_without_vat_number_is_identified_by_siren() -> None:
    registration = "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/@schemeID"
    assert xpath(CASES["franchise"], registration) == ["FC"]  # BR-E-02


@pytest.mark.parametrize(
    ("doc", "code"),
    [(CASES["b2b_fr"], "72"), (CASES["several_rates"], "5"),
     (document([line(kind="goods")]), "29")],
)  # fmt: skip
def test_vat_point_date_code(doc: dict[str, Any], code: str) -> None:
    codes = set(xpath(doc, "//ram:ApplicableTradeTax/ram:DueDateTypeCode"))
    assert codes == {code}
    debits_mention = "Option pour le paiement de la taxe d'après les débits"
    assert (debits_mention in notes(doc).get("", [])) == (code == "5")


def test_no_vat_point_date_code_under_franchise() -> None:
    assert xpath(CASES["franchise"], "//ram:DueDateTypeCode") == []


def test_several_rates_breakdown_and_discounts() -> None:
    doc = CASES["several_rates"]
    tax = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
    assert xpath(doc, f"{tax}/ram:RateApplicablePercent") == ["20.00", "10.00", "5.50"]
    # RND-02: two 1.24 € lines at 10 % with the meal: VAT on the group base, not per line.
    assert xpath(doc, f"{tax}/ram:BasisAmount") == ["378.00", "30.61", "57.47"]
    assert xpath(doc, f"{tax}/ram:CalculatedAmount") == ["75.60", "3.06", "3.16"]
    third_line = "//ram:IncludedSupplyChainTradeLineItem[.//ram:LineID='3']"
    allowances = f"{third_line}//ram:SpecifiedTradeAllowanceCharge"
    assert xpath(doc, f"{allowances}/ram:ActualAmount") == ["1.54", "1.00"]
    assert xpath(doc, f"{allowances}/ram:Reason") == ["Remise 5 %", "Remise"]
    assert xpath(doc, "//ram:NetPriceProductTradePrice/ram:ChargeAmount")[2] == "15.333333"
    assert xpath(doc, "//ram:BilledQuantity")[0] == "3.5"


def test_credit_note_references_the_corrected_invoice() -> None:
    doc = CASES["credit_note"]
    assert xpath(doc, "//rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    reference = "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceReferencedDocument"
    assert xpath(doc, f"{reference}/ram:IssuerAssignedID") == ["F2026-00031"]
    assert xpath(doc, f"{reference}/ram:FormattedIssueDateTime/qdt:DateTimeString") == ["20261031"]
    assert xpath(doc, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == ["1"]


def test_invoice_is_paid_by_sepa_transfer_to_the_seller_iban() -> None:
    means = "//ram:SpecifiedTradeSettlementPaymentMeans"
    assert xpath(CASES["b2b_fr"], f"{means}/ram:TypeCode") == ["58"]
    assert xpath(CASES["b2b_fr"], f"{means}//ram:IBANID") == ["FR7630006000011234567890189"]
    assert xpath(CASES["b2b_fr"], f"{means}//ram:BICID") == ["AGRIFRPP"]
    assert xpath(CASES["b2b_fr"], "//ram:DueDateDateTime/udt:DateTimeString") == ["20261230"]


def test_forty_lines_and_the_monetary_summation() -> None:
    doc = CASES["forty_lines"]
    assert len(xpath(doc, "//ram:IncludedSupplyChainTradeLineItem")) == 40
    nets = xpath(doc, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount")
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert xpath(doc, f"{summation}/ram:LineTotalAmount") == [str(sum(map(Decimal, nets)))]
    assert xpath(doc, f"{summation}/ram:GrandTotalAmount") == [str(doc["total_gross"])]
    assert xpath(doc, f"{summation}/ram:TotalPrepaidAmount") == ["100.00"]
    assert xpath(doc, f"{summation}/ram:DuePayableAmount") == [
        str(doc["total_gross"] - Decimal(100))
    ]


def test_a_document_read_back_from_json_gives_the_same_xml() -> None:
    for doc in CASES.values():
        assert invoice_xml(json.loads(json.dumps(doc, default=str))) == invoice_xml(doc)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"doc_type": "quote"}, "unknown document type"),
        ({"currency": "USD"}, "only EUR"),
        ({"number": None}, "no number"),
        ({"seller": {**SELLER, "siren": ""}}, "seller SIREN is missing"),
        ({"buyer": {**BUYER_FR, "siren": ""}}, "needs its SIREN"),
        ({"buyer": {**CONSUMER, "email": ""}}, "no electronic address"),
        ({"doc_type": "credit_note", "corrects": "F2026-00031"}, "corrected invoice"),
        ({"total_net": 49.9}, "not float"),
        ({"total_vat": Decimal("9.981")}, "more than 2 decimals"),
    ],
)
def test_refuses_what_the_rules_would_reject(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        invoice_xml({**document(), **change})


def test_intra_eu_goods_need_a_delivery_date_or_period() -> None:
    doc = {**CASES["intra_eu_goods"], "delivery_date": None}
    with pytest.raises(ValueError, match="BR-IC-11"):
        invoice_xml(doc)
    delivered = "//ram:ActualDeliverySupplyChainEvent//udt:DateTimeString"
    assert xpath(CASES["intra_eu_goods"], delivered) == [date(2026, 11, 20).strftime("%Y%m%d")]
