"""Business and bank identifiers: check them and return their compact, normalised form.

Thin wrappers over python-stdnum and schwifty (ID-01..03, SDD-02, BR-FR-09) that turn their
exceptions into one-line ``ValueError("<field>: <why>: '<value>'")`` messages a form can show.

>>> clean_siren("732 829 320")
'732829320'
>>> clean_iban("fr76 3000 6000 0112 3456 7890 189")
'FR7630006000011234567890189'
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pycountry
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors
from stdnum import exceptions as stdnum_errors
from stdnum.eu import at_02
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.fr import tva as fr_tva

# AT-02 checks only the mod 97-10 digits; the shape is checked here: country, check digits,
# creditor business code, national identifier; 35 characters at most (SEPA Max35Text).
_CREDITOR_ID_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{3}[A-Z0-9]{1,28}")
_FR_CREDITOR_ID_LENGTH = 13  # FRkkZZZnnnnnn

# Dot-atom local part (RFC 5322) and an LDH host name with at least two labels.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

# The VAT prefix of Greece is EL, its ISO 3166 code GR.
_VAT_PREFIX_COUNTRY = {"EL": "GR"}


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _stdnum(field: str, validate: Callable[[str], str], value: str) -> str:
    """Run a python-stdnum validator and reword its exception."""
    if not value.strip():
        raise ValueError(f"{field}: empty")
    try:
        return validate(value)
    except stdnum_errors.InvalidLength:
        raise ValueError(f"{field}: wrong length: {_show(value)}") from None
    except stdnum_errors.InvalidChecksum:
        raise ValueError(f"{field}: wrong check digits: {_show(value)}") from None
    except stdnum_errors.InvalidComponent:
        raise ValueError(f"{field}: unknown country or component: {_show(value)}") from None
    except stdnum_errors.ValidationError:
        raise ValueError(f"{field}: invalid format: {_show(value)}") from None


def clean_siren(value: str) -> str:
    """SIREN: 9 digits with a Luhn check digit.

    >>> clean_siren("732829321")
    Traceback (most recent call last):
    ...
    ValueError: SIREN: wrong check digits: '732829321'
    """
    return _stdnum("SIREN", fr_siren.validate, value)


def clean_siret(value: str, siren: str | None = None) -> str:
    """SIRET: 14 digits; when the company's SIREN is given, it must be its prefix (BR-FR-09).

    >>> clean_siret("552 100 554 00013", siren="552100554")
    '55210055400013'
    >>> clean_siret("55210055400013", siren="732829320")
    Traceback (most recent call last):
    ...
    ValueError: SIRET: does not start with SIREN 732829320: '55210055400013'
    """
    compact = _stdnum("SIRET", fr_siret.validate, value)
    if siren is not None:
        expected = clean_siren(siren)
        if not compact.startswith(expected):
            raise ValueError(f"SIRET: does not start with SIREN {expected}: {_show(value)}")
    return compact


def clean_fr_vat(value: str) -> str:
    """French VAT number, returned with its "FR" prefix like :func:`clean_eu_vat`.

    >>> clean_fr_vat("40 303 265 045")
    'FR40303265045'
    """
    return "FR" + _stdnum("French VAT number", fr_tva.validate, value)


def clean_eu_vat(value: str) -> str:
    """VAT number of an EU member state (or XI, Northern Ireland), with its country prefix.

    >>> clean_eu_vat("de 136 695 976")
    'DE136695976'
    >>> clean_eu_vat("GB980780684")
    Traceback (most recent call last):
    ...
    ValueError: VAT number: unknown country or component: 'GB980780684'
    """
    return _stdnum("VAT number", eu_vat.validate, value)


def vat_country(value: str) -> str:
    """Country of a valid EU VAT number, as an ISO 3166 code (EL → GR; XI is kept).

    >>> vat_country("FR40303265045"), vat_country("EL094259216")
    ('FR', 'GR')
    """
    prefix = clean_eu_vat(value)[:2]
    return _VAT_PREFIX_COUNTRY.get(prefix, prefix)


def fr_vat_from_siren(siren: str) -> str:
    """The numeric French VAT number of a company: key = (SIREN × 100 + 12) mod 97.

    That is the formula python-stdnum checks (``int(siren + "12") % 97``); it equals
    (12 + 3 × (SIREN mod 97)) mod 97 because 100 ≡ 3 (mod 97).

    >>> fr_vat_from_siren("303265045")
    'FR40303265045'
    """
    compact = clean_siren(siren)
    return f"FR{int(compact + '12') % 97:02d}{compact}"


def _iban(value: str) -> IBAN:
    if not value.strip():
        raise ValueError("IBAN: empty")
    try:
        # validate_bban also checks national check digits such as the French RIB key.
        return IBAN(value, validate_bban=True)
    except iban_errors.InvalidChecksumDigits:
        raise ValueError(f"IBAN: wrong check digits: {_show(value)}") from None
    except iban_errors.InvalidBBANChecksum:
        raise ValueError(f"IBAN: wrong national check digits: {_show(value)}") from None
    except iban_errors.InvalidCountryCode:
        raise ValueError(f"IBAN: unknown country: {_show(value)}") from None
    except iban_errors.InvalidLength:
        raise ValueError(f"IBAN: wrong length: {_show(value)}") from None
    except ValueError:  # the other schwifty errors, all ValueError subclasses
        raise ValueError(f"IBAN: invalid format: {_show(value)}") from None


def clean_iban(value: str) -> str:
    """IBAN in compact upper-case form, check digits and national key verified.

    >>> clean_iban("FR7630006000011234567890188")
    Traceback (most recent call last):
    ...
    ValueError: IBAN: wrong check digits: 'FR7630006000011234567890188'
    """
    return str(_iban(value).compact)


def format_iban(value: str) -> str:
    """IBAN in groups of four, as printed on invoices and mandates.

    >>> format_iban("DE89370400440532013000")
    'DE89 3704 0044 0532 0130 00'
    """
    compact = clean_iban(value)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def clean_bic(value: str) -> str:
    """BIC of 8 or 11 characters, upper case, kept at the length given.

    The format and country are checked, not presence in schwifty's bank registry: the
    registry is a snapshot that misses some banks, and the BIC is optional in SEPA anyway.

    >>> clean_bic("agrifrppxxx")
    'AGRIFRPPXXX'
    >>> clean_bic("BNPAFRP")
    Traceback (most recent call last):
    ...
    ValueError: BIC: must have 8 or 11 characters: 'BNPAFRP'
    """
    if not value.strip():
        raise ValueError("BIC: empty")
    try:
        return str(BIC(value).compact)
    except iban_errors.InvalidLength:
        raise ValueError(f"BIC: must have 8 or 11 characters: {_show(value)}") from None
    except iban_errors.InvalidCountryCode:
        raise ValueError(f"BIC: unknown country: {_show(value)}") from None
    except ValueError:
        raise ValueError(f"BIC: invalid format: {_show(value)}") from None


def clean_creditor_id(value: str) -> str:
    """SEPA creditor identifier (ICS in France), checked with ISO 7064 mod 97-10 (SDD-02).

    >>> clean_creditor_id("fr72 zzz 123456")
    'FR72ZZZ123456'
    >>> clean_creditor_id("FR12ZZZ123456")
    Traceback (most recent call last):
    ...
    ValueError: creditor identifier: wrong check digits: 'FR12ZZZ123456'
    """
    field = "creditor identifier"
    compact = at_02.compact(value)
    if not _CREDITOR_ID_RE.fullmatch(compact) or len(compact) > 35:
        raise ValueError(f"{field}: invalid format: {_show(value)}")
    if compact.startswith("FR") and len(compact) != _FR_CREDITOR_ID_LENGTH:
        raise ValueError(f"{field}: wrong length: {_show(value)}")
    return _stdnum(field, at_02.validate, compact)


def clean_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper case.

    >>> clean_country(" be ")
    'BE'
    >>> clean_country("ZZ")
    Traceback (most recent call last):
    ...
    ValueError: country: unknown country: 'ZZ'
    """
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"country: invalid format: {_show(value)}")
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"country: unknown country: {_show(value)}")
    return code


# Postcodes whose format is checked: the countries most customers of a French business are in.
_POSTCODE_RE = {
    "FR": re.compile(r"[0-9]{5}"),
    "BE": re.compile(r"[1-9][0-9]{3}"),
    "DE": re.compile(r"[0-9]{5}"),
    "ES": re.compile(r"[0-9]{5}"),
    "IT": re.compile(r"[0-9]{5}"),
    "LU": re.compile(r"(L-)?[0-9]{4}"),
    "CH": re.compile(r"[1-9][0-9]{3}"),
    "MC": re.compile(r"980[0-9]{2}"),
    "NL": re.compile(r"[1-9][0-9]{3} ?[A-Z]{2}"),
}


def clean_postcode(value: str, country: str) -> str:
    """A postcode, its format checked for the countries of `_POSTCODE_RE` (others: as typed).

    >>> clean_postcode(" 75002 ", "FR"), clean_postcode("SW1A 1AA", "GB")
    ('75002', 'SW1A 1AA')
    >>> clean_postcode("ABCDE", "FR")
    Traceback (most recent call last):
    ...
    ValueError: postcode: invalid format: 'ABCDE'
    """
    code = " ".join(value.split()).upper()
    pattern = _POSTCODE_RE.get(country.strip().upper())
    if not code or (pattern is not None and not pattern.fullmatch(code)):
        raise ValueError(f"postcode: invalid format: {_show(value)}")
    return code


def clean_email(value: str) -> str:
    """E-mail address, trimmed, with its domain in lower case (and in ASCII for IDNs).

    A deliberately simple check: one ``@``, a dot-atom local part, a host name with a dot.
    Whether the mailbox exists is only known by sending to it.

    >>> clean_email(" Jean.Dupont@Exemple.FR ")
    'Jean.Dupont@exemple.fr'
    >>> clean_email("jean@localhost")
    Traceback (most recent call last):
    ...
    ValueError: email: invalid domain: 'jean@localhost'
    """
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254 or len(local) > 64 or not _LOCAL_RE.fullmatch(local):
        raise ValueError(f"email: invalid address: {_show(value)}")
    try:
        # The stdlib IDNA codec lower-cases and turns "société.fr" into "xn--socit-esab.fr".
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"email: invalid domain: {_show(value)}") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"email: invalid domain: {_show(value)}")
    if labels[-1].isdigit():
        raise ValueError(f"email: invalid domain: {_show(value)}")
    return f"{local}@{ascii_domain}"
