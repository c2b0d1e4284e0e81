"""Tests of facturier.core.identifiers (ID-01..03, SDD-02, BR-FR-09)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from facturier.core.identifiers import (
    clean_bic,
    clean_creditor_id,
    clean_email,
    clean_eu_vat,
    clean_fr_vat,
    clean_iban,
    clean_siren,
    clean_siret,
    format_iban,
    fr_vat_from_siren,
    vat_country,
)

# Each case: function, input, normalised output.
VALID: list[tuple[Callable[[str], str], str, str]] = [
    (clean_siren, "732829320", "732829320"),
    (clean_siren, "552 100 554", "552100554"),
    (clean_siret, "732 829 320 00074", "73282932000074"),
    (clean_siret, "55210055400013", "55210055400013"),
    (clean_fr_vat, "FR40303265045", "FR40303265045"),
    (clean_fr_vat, "fr 40 303 265 045", "FR40303265045"),
    (clean_eu_vat, "FR40303265045", "FR40303265045"),
    (clean_eu_vat, "DE 136 695 976", "DE136695976"),
    (clean_iban, "FR7630006000011234567890189", "FR7630006000011234567890189"),
    (clean_iban, "de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    (clean_bic, "BNPAFRPP", "BNPAFRPP"),
    (clean_bic, "agrifrppxxx", "AGRIFRPPXXX"),
    (clean_creditor_id, "FR72ZZZ123456", "FR72ZZZ123456"),
    (clean_creditor_id, "DE98ZZZ09999999999", "DE98ZZZ09999999999"),
    (clean_email, "  contact@Exemple.FR ", "contact@exemple.fr"),
    (clean_email, "Jean.Dupont+factures@mail.example.com", "Jean.Dupont+factures@mail.example.com"),
    (clean_email, "compta@société.fr", "compta@xn--socit-esab.fr"),
]

# Each case: function, input, start of the error message.
INVALID: list[tuple[Callable[[str], str], str, str]] = [
    (clean_siren, "", "SIREN: empty"),
    (clean_siren, "732829321", "SIREN: wrong check digits: '732829321'"),
    (clean_siren, "73282932", "SIREN: wrong length"),
    (clean_siren, "73282932A", "SIREN: invalid format"),
    (clean_siret, "73282932000075", "SIRET: wrong check digits"),
    (clean_siret, "7328293200007", "SIRET: wrong length"),
    (clean_fr_vat, "FR41303265045", "French VAT number: wrong check digits"),
    (clean_fr_vat, "FR4030326504", "French VAT number: wrong length"),
    (clean_eu_vat, "XX123456789", "VAT number: unknown country or component"),
    (clean_eu_vat, "GB980780684", "VAT number: unknown country or component"),
    (clean_eu_vat, "DE136695977", "VAT number: wrong check digits"),
    (clean_iban, "", "IBAN: empty"),
    (clean_iban, "FR7630006000011234567890188", "IBAN: wrong check digits"),
    (clean_iban, "FR0630006000011234567890188", "IBAN: wrong national check digits"),
    (clean_iban, "FR76300060000112345678901", "IBAN: wrong length"),
    (clean_iban, "XX89370400440532013000", "IBAN: unknown country"),
    (clean_bic, "BNPAFRP", "BIC: must have 8 or 11 characters"),
    (clean_bic, "BNPAXXPP", "BIC: unknown country"),
    (clean_bic, "", "BIC: empty"),
    (clean_creditor_id, "FR12ZZZ123456", "creditor identifier: wrong check digits"),
    (clean_creditor_id, "FR72ZZZ1234567", "creditor identifier: wrong length"),
    (clean_creditor_id, "FR72ZZ", "creditor identifier: invalid format"),
    (clean_creditor_id, "", "creditor identifier: invalid format"),
    (clean_email, "", "email: invalid address"),
    (clean_email, "jean", "email: invalid address"),
    (clean_email, "jean@", "email: invalid domain"),
    (clean_email, "jean@@exemple.fr", "email: invalid address"),
    (clean_email, "jean dupont@exemple.fr", "email: invalid address"),
    (clean_email, ".jean@exemple.fr", "email: invalid address"),
    (clean_email, "jean..dupont@exemple.fr", "email: invalid address"),
    (clean_email, "jean@localhost", "email: invalid domain"),
    (clean_email, "jean@exemple..fr", "email: invalid domain"),
    (clean_email, "jean@-exemple.fr", "email: invalid domain"),
    (clean_email, "jean@192.168.0.1", "email: invalid domain"),
    (clean_email, "jéan@exemple.fr", "email: invalid address"),
]


@pytest.mark.parametrize(("clean", "value", "expected"), VALID)
def test_valid_identifiers_are_normalised(
    clean: Callable[[str], str], value: str, expected: str
) -> None:
    assert clean(value) == expected
    assert clean(expected) == expected  # idempotent


@pytest.mark.parametrize(("clean", "value", "message"), INVALID)
def test_invalid_identifiers_are_refused_with_a_short_message(
    clean: Callable[[str], str], value: str, message: str
) -> None:
    with pytest.raises(ValueError) as error:
        clean(value)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_siret_must_start_with_the_siren() -> None:
    assert clean_siret("73282932000074", siren="732 829 320") == "73282932000074"
    with pytest.raises(ValueError, match="SIRET: does not start with SIREN 552100554"):
        clean_siret("73282932000074", siren="552100554")
    with pytest.raises(ValueError, match="SIREN: wrong check digits"):
        clean_siret("73282932000074", siren="732829321")


@pytest.mark.parametrize("siren", ["303265045", "732829320", "552100554"])
def test_fr_vat_from_siren_gives_a_valid_number(siren: str) -> None:
    vat = fr_vat_from_siren(siren)
    assert clean_fr_vat(vat) == vat
    assert vat.endswith(siren)
    # The formula the brief quotes is the same key: 100 ≡ 3 (mod 97).
    assert int(vat[2:4]) == (12 + 3 * (int(siren) % 97)) % 97


def test_fr_vat_from_siren_checks_the_siren() -> None:
    assert fr_vat_from_siren("303265045") == "FR40303265045"
    with pytest.raises(ValueError, match="SIREN: wrong check digits"):
        fr_vat_from_siren("303265046")


def test_vat_country() -> None:
    assert vat_country("FR40303265045") == "FR"
    assert vat_country("de136695976") == "DE"
    assert vat_country("EL094259216") == "GR"
    with pytest.raises(ValueError, match="VAT number: wrong check digits"):
        vat_country("DE136695977")


def test_format_iban() -> None:
    assert format_iban("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"
    assert format_iban("de89370400440532013000") == "DE89 3704 0044 0532 0130 00"
    with pytest.raises(ValueError, match="IBAN: wrong check digits"):
        format_iban("DE88370400440532013000")
