"""Django field validators wrapping the pure checks of `facturier.core.identifiers`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from facturier.core import identifiers

_CHECKS: dict[str, Callable[[str], str]] = {
    "siren": identifiers.clean_siren,
    "siret": identifiers.clean_siret,
    "eu_vat": identifiers.clean_eu_vat,
    "iban": identifiers.clean_iban,
    "bic": identifiers.clean_bic,
    "creditor_id": identifiers.clean_creditor_id,
}


@deconstructible
class IdentifierValidator:
    """Refuses a value that the named identifier check rejects (blank values pass)."""

    def __init__(self, kind: str) -> None:
        if kind not in _CHECKS:
            raise ValueError(f"unknown identifier kind {kind!r}")
        self.kind = kind

    def __call__(self, value: Any) -> None:
        if value in (None, ""):
            return
        try:
            _CHECKS[self.kind](str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdentifierValidator) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)


validate_siren = IdentifierValidator("siren")
validate_siret = IdentifierValidator("siret")
validate_eu_vat = IdentifierValidator("eu_vat")
validate_iban = IdentifierValidator("iban")
validate_bic = IdentifierValidator("bic")
validate_creditor_id = IdentifierValidator("creditor_id")


def validate_email_list(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Expected a list of email addresses.")
    for email in value:
        try:
            identifiers.clean_email(email)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def address_errors(
    country: str, postcode: str, *, prefix: str = "", required: bool = True
) -> tuple[dict[str, str], str, str]:
    """Errors of an address's country and postcode fields (named with `prefix`), and the
    normalised values ("fr" → "FR"). A blank address passes when it is not `required`."""
    from django.utils.translation import gettext as _

    errors: dict[str, str] = {}
    if not required and not (country or "").strip() and not (postcode or "").strip():
        return errors, "", ""
    try:
        country = identifiers.clean_country(country or "")
    except ValueError:
        errors[f"{prefix}country"] = _("Unknown country: give its two-letter code, such as FR.")
        return errors, country, postcode
    try:
        postcode = identifiers.clean_postcode(postcode or "", country)
    except ValueError:
        errors[f"{prefix}postcode"] = _("This is not a postcode of %(country)s.") % {
            "country": country
        }
    return errors, country, postcode
