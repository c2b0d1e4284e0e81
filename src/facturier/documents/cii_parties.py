"""Seller (BG-4), buyer (BG-7) and deliver-to (BG-13/BG-15) parties of the CII XML.

French identifiers as the CTC rules want them: SIREN as legal registration (BT-30/BT-47,
schemeID 0002, BR-FR-10/11), SIRET as global identifier (schemeID 0009, BR-FR-09), VAT
numbers (schemeID VA). Both parties need an electronic address (BT-34/BT-49, BR-FR-12/13):
for a French company it is its SIREN in the French directory (schemeID 0225, BR-FR-21).

>>> electronic_address({"kind": "business", "country": "FR", "siren": "443061841"})
('0225', '443061841')
>>> electronic_address({"kind": "business", "country": "DE", "vat_number": "DE136695976"})
('9930', 'DE136695976')
>>> electronic_address({"kind": "consumer", "country": "FR", "email": "marie@example.org"})
('EM', 'marie@example.org')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from facturier.core.money import format_amount
from facturier.documents.cii_base import Node, add, to_decimal

FR_DIRECTORY = "0225"  # EAS code of the French e-invoicing directory (annuaire)
SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
EMAIL_SCHEME = "EM"

# EAS codes (CEF code list) of the VAT numbers a buyer can be addressed by, per VAT prefix.
_VAT_EAS = {
    "AT": "9914", "BE": "9925", "BG": "9926", "CY": "9928", "CZ": "9929", "DE": "9930",
    "EE": "9931", "ES": "9920", "FR": "9957", "GR": "9933", "EL": "9933", "HR": "9934",
    "HU": "9910", "IE": "9935", "LT": "9937", "LU": "9938", "LV": "9939", "MT": "9943",
    "NL": "9944", "PL": "9945", "PT": "9946", "RO": "9947", "SI": "9949", "SK": "9950",
    "FI": "0213", "IT": "0211", "CH": "9927", "GB": "9932", "MC": "9940",
}  # fmt: skip
_SIREN = re.compile(r"^\d{9}$")
_SIRET = re.compile(r"^\d{14}$")


def _text(party: Mapping[str, Any], key: str) -> str:
    value = party.get(key)
    return str(value).strip() if value is not None else ""


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).upper()


def siren_of(party: Mapping[str, Any], role: str) -> str:
    siren = _compact(_text(party, "siren"))
    if siren and not _SIREN.match(siren):
        raise ValueError(f"{role} SIREN must have 9 digits: {siren!r}")
    return siren


def _email(party: Mapping[str, Any]) -> str:
    emails = party.get("billing_emails") or []
    return _text(party, "email") or (str(emails[0]).strip() if emails else "")


def electronic_address(party: Mapping[str, Any], role: str = "buyer") -> tuple[str, str]:
    """(scheme, address) of a party's electronic address, BT-34 or BT-49.

    An explicit ``electronic_address`` (with ``electronic_address_scheme``, default 0225) wins;
    then a French company's SIREN, an email, a VAT number with an EAS code.
    """
    explicit = _text(party, "electronic_address")
    if explicit:
        return _text(party, "electronic_address_scheme") or FR_DIRECTORY, explicit
    siren = siren_of(party, role)
    french_company = (party.get("country") or "FR") == "FR" and party.get("kind") != "consumer"
    if french_company and siren:
        return FR_DIRECTORY, siren
    email = _email(party)
    if email:
        return EMAIL_SCHEME, email
    vat = _compact(_text(party, "vat_number"))
    if vat[:2] in _VAT_EAS:
        return _VAT_EAS[vat[:2]], vat
    raise ValueError(f"the {role} has no electronic address (BT-34/BT-49: SIREN, email or VAT)")


def _address(parent: Node, line1: str, line2: str, postcode: str, city: str, country: str) -> None:
    if not country:
        raise ValueError("an address needs a country code (BR-9, BR-11, BR-57)")
    node = add(parent, "ram:PostalTradeAddress")
    for tag, value in (("ram:PostcodeCode", postcode), ("ram:LineOne", line1)):
        if value:
            add(node, tag, value)
    if line2:
        add(node, "ram:LineTwo", line2)
    if city:
        add(node, "ram:CityName", city)
    add(node, "ram:CountryID", country.upper())


def _party_address(parent: Node, party: Mapping[str, Any]) -> None:
    _address(
        parent,
        _text(party, "address_line1"),
        _text(party, "address_line2"),
        _text(party, "postcode"),
        _text(party, "city"),
        _text(party, "country") or "FR",
    )


def legal_info(seller: Mapping[str, Any]) -> str:
    """BT-33: legal form, share capital and RCS registration (INV-03).

    >>> legal_info({"legal_form": "SAS", "share_capital": "10000.00", "rcs_city": "Paris",
    ...             "siren": "732829320"})
    'SAS au capital de 10\\xa0000,00\\xa0€ – RCS Paris 732829320'
    """
    parts = []
    form = _text(seller, "legal_form")
    capital = _text(seller, "share_capital")
    if seller.get("capital_variable"):
        parts.append(f"{form} à capital variable".strip())
    elif capital and to_decimal(capital, "share capital") > Decimal(0):
        parts.append(f"{form} au capital de {format_amount(to_decimal(capital))}".strip())
    elif form and form != "OTHER":
        parts.append(form)
    rcs_city = _text(seller, "rcs_city")
    if rcs_city:
        parts.append(f"RCS {rcs_city} {_text(seller, 'siren')}")
    return " – ".join(parts)


def _identity(node: Node, party: Mapping[str, Any], siren: str, role: str) -> None:
    """SIRET (BT-29/BT-46), then name (BT-27/BT-44)."""
    siret = _compact(_text(party, "siret"))
    if siret:
        if not (_SIRET.match(siret) and siret.startswith(siren)):
            raise ValueError(
                f"{role} SIRET must have 14 digits and start with the SIREN (BR-FR-09)"
            )
        add(node, "ram:GlobalID", siret, schemeID=SIRET_SCHEME)
    name = _text(party, "legal_name")
    if not name:
        raise ValueError(f"the {role} has no name (BT-27/BT-44)")
    add(node, "ram:Name", name)


def add_seller(parent: Node, seller: Mapping[str, Any], *, vat_ids: bool, tax_id: bool) -> None:
    """BG-4. ``tax_id``: state the SIREN as tax registration (BT-32, schemeID FC) when the
    seller has no VAT number but an exempt line needs one of the two (BR-E-02)."""
    siren = siren_of(seller, "seller")
    if not siren:
        raise ValueError("the seller SIREN is missing (INV-02, BR-FR-10)")
    node = add(parent, "ram:SellerTradeParty")
    _identity(node, seller, siren, "seller")
    info = legal_info(seller)
    if info:
        add(node, "ram:Description", info)
    organization = add(node, "ram:SpecifiedLegalOrganization")
    add(organization, "ram:ID", siren, schemeID=SIREN_SCHEME)
    if _text(seller, "trade_name"):
        add(organization, "ram:TradingBusinessName", _text(seller, "trade_name"))
    phone, email = _text(seller, "phone"), _text(seller, "email")
    if phone or email:
        contact = add(node, "ram:DefinedTradeContact")
        if phone:
            add(add(contact, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber", phone)
        if email:
            add(add(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", email)
    _party_address(node, seller)
    scheme, address = electronic_address({**seller, "kind": "business"}, "seller")
    add(add(node, "ram:URIUniversalCommunication"), "ram:URIID", address, schemeID=scheme)
    vat = _compact(_text(seller, "vat_number"))
    if vat and vat_ids:
        add(add(node, "ram:SpecifiedTaxRegistration"), "ram:ID", vat, schemeID="VA")
    elif tax_id:
        add(add(node, "ram:SpecifiedTaxRegistration"), "ram:ID", siren, schemeID="FC")


def add_buyer(parent: Node, buyer: Mapping[str, Any], *, vat_ids: bool) -> None:
    """BG-7, with the buyer code as buyer identifier (BT-46)."""
    siren = siren_of(buyer, "buyer") if buyer.get("kind") == "business" else ""
    if buyer.get("kind") == "business" and (buyer.get("country") or "FR") == "FR" and not siren:
        raise ValueError("a French business buyer needs its SIREN (INV-06, BR-FR-11)")
    node = add(parent, "ram:BuyerTradeParty")
    if _text(buyer, "code") and not _text(buyer, "siret"):
        # CII-SR-450: one buyer identifier only, and the SIRET is the better one.
        add(node, "ram:ID", _text(buyer, "code"))
    _identity(node, buyer, siren, "buyer")
    if siren:
        add(add(node, "ram:SpecifiedLegalOrganization"), "ram:ID", siren, schemeID=SIREN_SCHEME)
    _party_address(node, buyer)
    scheme, address = electronic_address(buyer, "buyer")
    add(add(node, "ram:URIUniversalCommunication"), "ram:URIID", address, schemeID=scheme)
    vat = _compact(_text(buyer, "vat_number"))
    if vat and vat_ids:
        add(add(node, "ram:SpecifiedTaxRegistration"), "ram:ID", vat, schemeID="VA")


def delivery_address(buyer: Mapping[str, Any]) -> tuple[str, str, str, str, str] | None:
    """The deliver-to address (BG-15) when one is given and differs from the billing one."""
    country = (_text(buyer, "country") or "FR").upper()
    delivery = (
        _text(buyer, "delivery_line1"),
        _text(buyer, "delivery_line2"),
        _text(buyer, "delivery_postcode"),
        _text(buyer, "delivery_city"),
        (_text(buyer, "delivery_country") or country).upper(),
    )
    billing = (
        _text(buyer, "address_line1"),
        _text(buyer, "address_line2"),
        _text(buyer, "postcode"),
        _text(buyer, "city"),
        country,
    )
    if not delivery[0] or delivery == billing:
        return None
    return delivery


def add_ship_to(parent: Node, buyer: Mapping[str, Any]) -> None:
    """BG-13 deliver-to party: the delivery address if different (EINV-M-02), else the
    billing address. Always stated: the rules want a deliver-to country for intra-EU goods
    (BR-IC-12), and an empty delivery element is flagged (PEPPOL-EN16931-R008)."""
    delivery = delivery_address(buyer)
    node = add(parent, "ram:ShipToTradeParty")
    add(node, "ram:Name", _text(buyer, "legal_name"))
    if delivery is None:
        _party_address(node, buyer)
    else:
        _address(node, *delivery)
