"""Argument types and lookups shared by the commands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from facturier.core.money import parse_amount, parse_date

if TYPE_CHECKING:
    from facturier.billing.services.actors import Actor


class AmountType(click.ParamType):  # type: ignore[type-arg]
    name = "amount"

    def convert(self, value: Any, param: Any, ctx: Any) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            return parse_amount(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class DateType(click.ParamType):  # type: ignore[type-arg]
    name = "date"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        if isinstance(value, date):
            return value
        try:
            return parse_date(str(value))
        except ValueError as exc:
            self.fail(f"{exc} (use 28/11/2026 or 2026-11-28)", param, ctx)


class SecondsType(click.FloatRange):
    """A positive, finite number of seconds (at most a day): not 0, -1, nan or inf."""

    name = "seconds"

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True, max=86400)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        import math

        rv = super().convert(value, param, ctx)  # nan passes the range check: refuse it here
        if math.isnan(rv):
            self.fail("expected a number of seconds, not nan", param, ctx)
        return rv


AMOUNT = AmountType()
DATE = DateType()
SECONDS = SecondsType()

company_option = click.option(
    "--company",
    "company_ref",
    metavar="SIREN|ID",
    help="The issuing company (needed only when there are several).",
)


def _reference(ref: str, what: str, option: str) -> str:
    """The reference without surrounding spaces; an empty one names nothing (it would match a
    record whose SIREN or code is blank), so it is refused."""
    ref = ref.strip()
    if not ref:
        raise click.BadParameter(
            f"give the {what}'s reference, not an empty one", param_hint=option
        )
    return ref


def resolve_company(ref: str | None) -> Any:
    from facturier.billing.models import Company

    companies = Company.objects.all()
    if ref is not None:
        ref = _reference(ref, "company", "--company")
        same_siren = list(companies.filter(siren=ref).order_by("pk")[:2])
        if len(same_siren) > 1:  # e.g. a second demo company: never pick one silently
            raise click.ClickException(
                f"several companies have SIREN {ref}: choose one by its id with --company ID"
            )
        company = same_siren[0] if same_siren else None
        if company is None and ref.isdigit():
            company = companies.filter(pk=int(ref)).first()
        if company is None:
            raise click.ClickException(f"no company with SIREN or id '{ref}'")
        return company
    count = companies.count()
    if count == 1:
        return companies.get()
    if count == 0:
        raise click.ClickException("no company yet: run `facturier demo load` or create one")
    raise click.ClickException("several companies: choose one with --company SIREN (or its id)")


def resolve_invoice(company: Any, number: str) -> Any:
    """The company's issued document with this number, or a usage error naming it."""
    from facturier.billing.selectors import invoice_by_number

    invoice = invoice_by_number(number, company=company)
    if invoice is None:
        raise click.ClickException(f"no document numbered '{number}'")
    return invoice


def resolve_customer(company: Any, ref: str, *, option: str = "--customer") -> Any:
    ref = _reference(ref, "customer", option)
    customer = (
        company.customers.filter(code=ref).first() or company.customers.filter(siren=ref).first()
    )
    if customer is None:
        raise click.ClickException(f"no customer with code or SIREN '{ref}'")
    return customer


def actor() -> Actor:
    """The command line acts as the operator of the server (the system: every right); the
    name recorded says which account ran it."""
    import getpass

    from facturier.billing.services.actors import Actor

    return Actor.system(f"cli:{getpass.getuser()}")
