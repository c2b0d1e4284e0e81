"""Create and change companies, customers and products; every write validated first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from facturier.billing.core_messages import core_message
from facturier.billing.models import ChainHead, Company, Customer, NumberingSeries, Product
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput, from_validation_error
from facturier.billing.services.limits import check_text, check_visible
from facturier.core import identifiers, numbering

M = TypeVar("M", bound=models.Model)

DEFAULT_PATTERNS = {"invoice": "F{YYYY}-{SEQ:05}", "credit_note": "AV{YYYY}-{SEQ:05}"}

# Normalisers applied before validation, so "732 829 320" is stored as "732829320".
_CLEANERS: dict[str, Callable[[str], str]] = {
    "siren": identifiers.clean_siren,
    "siret": identifiers.clean_siret,
    "vat_number": identifiers.clean_eu_vat,
    "iban": identifiers.clean_iban,
    "bic": identifiers.clean_bic,
    "sepa_creditor_id": identifiers.clean_creditor_id,
}


def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for name, clean in _CLEANERS.items():
        value = out.get(name)
        if value:
            try:
                out[name] = clean(str(value))
            except ValueError as exc:
                raise InvalidInput(str(exc), field=name) from exc
    if "billing_emails" in out:
        emails = out["billing_emails"]
        if isinstance(emails, str):
            emails = emails.replace(";", ",").replace("\n", ",").split(",")
        out["billing_emails"] = [e.strip() for e in emails if e and e.strip()]
    return out


def _checked_texts(model: type[models.Model], fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` with every text checked (`limits.check_text`): no control or invisible
    character — a company's or customer's name and address, a code, an email, a product's
    name reach email headers, file names and PDFs — and not blank-looking when given. Only
    a product's description, a multi-line column (TextField), keeps its line breaks."""
    out = dict(fields)
    for name, value in fields.items():
        try:
            column = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue  # refused by _apply, naming it
        if name == "billing_emails" and isinstance(value, list):
            for email in value:
                check_text(str(email), name, max_length=None)
        elif isinstance(value, str) and isinstance(column, models.CharField | models.TextField):
            multiline = isinstance(column, models.TextField)
            out[name] = check_visible(
                check_text(value, name, max_length=None, multiline=multiline), name
            )
    return out


def _validated_save(obj: M, *, exclude: list[str] | None = None) -> M:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
    obj.save()
    return obj


def _apply(obj: M, fields: dict[str, Any]) -> None:
    known = {f.name for f in obj._meta.get_fields()}
    for name, value in fields.items():
        if name not in known:
            raise InvalidInput(f"unknown field '{name}'", field=name)
        setattr(obj, name, value)


@transaction.atomic
def company_create(*, actor: str = "system", **fields: Any) -> Company:
    """A new issuer with its numbering series and its audit chain."""
    company = Company()
    _apply(company, _checked_texts(Company, _normalise(fields)))
    _validated_save(company)
    ChainHead.objects.create(company=company)
    for doc_type, pattern in DEFAULT_PATTERNS.items():
        NumberingSeries.objects.create(
            company=company, doc_type=doc_type, pattern=pattern, yearly_reset=True
        )
    audit_record(
        company=company,
        actor=actor,
        action="company.created",
        object_type="company",
        object_id=company.pk,
        data={"legal_name": company.legal_name, "siren": company.siren},
    )
    return company


@transaction.atomic
def company_update(company: Company, *, actor: str, **fields: Any) -> Company:
    _apply(company, _checked_texts(Company, _normalise(fields)))
    _validated_save(company)
    audit_record(
        company=company,
        actor=actor,
        action="company.updated",
        object_type="company",
        object_id=company.pk,
        data={"fields": sorted(fields)},
    )
    return company


def customer_create(*, company: Company, **fields: Any) -> Customer:
    customer = Customer(company=company)
    if not fields.get("code"):
        fields["code"] = _next_customer_code(company)
    _apply(customer, _checked_texts(Customer, _normalise(fields)))
    return _validated_save(customer)


@dataclass(frozen=True)
class Duplicate:
    """An existing customer (or the company itself, `customer` None) that has the same
    SIREN, VAT number or billing email as a customer being created or changed."""

    field: str  # "siren", "vat_number" or "billing_emails"
    value: str
    customer: Customer | None


DUPLICATES_SHOWN = 10  # customers named at most (a sign of a data problem beyond that)


def customer_duplicates(
    *,
    company: Company,
    siren: str = "",
    siret: str = "",
    vat_number: str = "",
    billing_emails: Sequence[str] = (),
    exclude: Customer | None = None,
) -> list[Duplicate]:
    """The company's customers — and the company itself — that share an identity with the
    values given: same SIREN (a SIRET's first 9 digits count), same VAT number, or one of the
    same billing emails (case ignored). Values that do not parse are ignored here (the
    form or the service refuses them). A read: the caller decides (the web asks for an
    explicit "create anyway"; two branches of one business may share a SIREN)."""
    siren = _clean_or_blank(identifiers.clean_siren, siren or siret[:9])
    vat = _clean_or_blank(identifiers.clean_eu_vat, vat_number)
    emails = {e.strip().lower() for e in billing_emails if e and e.strip()}
    found: list[Duplicate] = []
    if siren and company.siren == siren:
        found.append(Duplicate("siren", siren, None))
    if vat and company.vat_number == vat:
        found.append(Duplicate("vat_number", vat, None))
    for own in sorted({company.email.lower(), company.accounting_email.lower()} & emails):
        found.append(Duplicate("billing_emails", own, None))
    others = Customer.objects.filter(company=company)
    if exclude is not None and exclude.pk is not None:
        others = others.exclude(pk=exclude.pk)
    match = Q(pk__in=[])
    if siren:
        match |= Q(siren=siren)
    if vat:
        match |= Q(vat_number=vat)
    for email in emails:
        # A first sieve in SQL on the list's JSON text (stored addresses are ASCII: the
        # email check refuses other letters, a domain is kept in its ASCII form); the exact
        # check is below.
        match |= Q(emails_text__icontains=email)
    candidates = others.annotate(emails_text=Cast("billing_emails", TextField())).filter(match)
    for customer in candidates.order_by("legal_name", "pk")[:DUPLICATES_SHOWN]:
        if siren and customer.siren == siren:
            found.append(Duplicate("siren", siren, customer))
        if vat and customer.vat_number == vat:
            found.append(Duplicate("vat_number", vat, customer))
        for email in sorted({e.lower() for e in customer.billing_emails or []} & emails):
            found.append(Duplicate("billing_emails", email, customer))
    return found


def _clean_or_blank(clean: Callable[[str], str], value: str) -> str:
    try:
        return clean(value) if value and value.strip() else ""
    except ValueError:
        return ""


def customer_update(customer: Customer, **fields: Any) -> Customer:
    _apply(customer, _checked_texts(Customer, _normalise(fields)))
    return _validated_save(customer)


def _next_customer_code(company: Company) -> str:
    # Accounting auxiliary codes C00001, C00002…; a human may choose another code.
    return f"C{Customer.objects.filter(company=company).count() + 1:05d}"


def product_create(*, company: Company, **fields: Any) -> Product:
    product = Product(company=company)
    _apply(product, _checked_texts(Product, fields))
    return _validated_save(product)


@transaction.atomic
def series_update(series: NumberingSeries, *, pattern: str, yearly_reset: bool) -> None:
    """Change a series' pattern, refused once a number was issued in it (NUM-03)."""
    series = NumberingSeries.objects.select_for_update().get(pk=series.pk)
    if series.counters.filter(last_value__gt=0).exists():
        raise InvalidInput("numbers were already issued in this series", field="pattern")
    try:
        numbering.validate_pattern(pattern)
    except ValueError as exc:
        raise InvalidInput(core_message(exc), field="pattern") from exc
    if yearly_reset and not numbering.has_year_token(pattern):
        raise InvalidInput("a yearly counter needs {YYYY} or {YY} in the pattern", field="pattern")
    series.pattern = pattern
    series.yearly_reset = yearly_reset
    series.save()
