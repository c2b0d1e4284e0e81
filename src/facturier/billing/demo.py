"""The demo company that `make setup` loads into an empty database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from facturier.billing import clock
from facturier.billing.models import Company
from facturier.billing.services import (
    LineData,
    company_create,
    customer_create,
    invoice_create,
    invoice_issue,
    payment_record,
    product_create,
    user_create,
)
from facturier.billing.services.actors import Actor
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_create,
    usage_record,
)
from facturier.core.recurrence import add_months

DEMO_USER = "admin"
DEMO_PASSWORD = "facturier"
ACTOR = Actor.system("demo")


@dataclass(frozen=True)
class DemoLoaded:
    company: str  # the demo company's name
    owner: str  # the username of its owner (DEMO_USER unless that name was taken)
    password: str  # the owner's: DEMO_PASSWORD in an empty database, else a random one


def _free_username(name: str) -> str:
    """`name`, or `name2`, `name3`… when a user has it already: a forced load adds a company
    with its own users and never touches (nor resets the password of) an existing account."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    candidate, n = name, 1
    while users.filter(username=candidate).exists():
        n += 1
        candidate = f"{name}{n}"
    return candidate


def _password(*, into_use: bool) -> str:
    """The well-known DEMO_PASSWORD is for the local demo of an empty database only. Forced
    into a database in use, the demo's users get passwords nobody can guess (the owner's is
    shown once by `demo load`, the others' never)."""
    return secrets.token_urlsafe(12) if into_use else DEMO_PASSWORD


@transaction.atomic
def demo_load(*, force: bool = False) -> DemoLoaded | None:
    """Create the demo company unless a company exists (or `force`); None when not loaded."""
    existing = Company.objects.exists()
    if existing and not force:
        return None
    owner_password = _password(into_use=existing)
    company = company_create(
        actor=ACTOR.name,
        legal_name="Atelier Numérique",
        legal_form="SAS",
        share_capital=Decimal("10000.00"),
        address_line1="12 rue de la Paix",
        postcode="75002",
        city="Paris",
        siren="732829320",
        siret="73282932000074",
        rcs_city="Paris",
        vat_number="FR44732829320",
        iban="FR7630006000011234567890189",
        bic="AGRIFRPP",
        sepa_creditor_id="FR72ZZZ123456",
        email="factures@atelier-numerique.example",
        accounting_email="compta@atelier-numerique.example",
    )
    owner = user_create(
        company=company, username=_free_username(DEMO_USER), password=owner_password,
        role="owner", email="direction@atelier-numerique.example",
    )  # fmt: skip
    sales = user_create(
        company=company, username=_free_username("claire"), password=_password(into_use=existing),
        role="sales", email="claire@atelier-numerique.example",
    )  # fmt: skip
    user_create(
        company=company, username=_free_username("compta"), password=_password(into_use=existing),
        role="accountant",
    )  # fmt: skip
    hosting = product_create(
        company=company, sku="HEB-PRO", name="Hébergement Pro (mensuel)",
        unit_code="MON", unit_price=Decimal("49.90"), vat_code="FR-20",
    )  # fmt: skip
    support = product_create(
        company=company, sku="SUP-H", name="Support technique",
        unit_code="HUR", unit_price=Decimal("85.00"), vat_code="FR-20",
    )  # fmt: skip
    training = product_create(
        company=company, sku="FORM-J", name="Formation (journée)",
        unit_code="DAY", unit_price=Decimal("650.00"), vat_code="FR-0-E",
    )  # fmt: skip
    boulangerie = customer_create(
        company=company, kind="business", legal_name="Boulangerie Martin SARL",
        siren="443061841", vat_number="FR64443061841", address_line1="3 place du Marché",
        postcode="69001", city="Lyon", billing_emails=["compta@boulangerie-martin.example"],
        sales_rep=sales,
    )  # fmt: skip
    cabinet = customer_create(
        company=company, kind="business", legal_name="Cabinet Durand & Associés",
        siren="512345679", address_line1="8 avenue Jean Jaurès", postcode="31000",
        city="Toulouse", billing_emails=["facturation@cabinet-durand.example"],
        payment_terms_days=45,
    )  # fmt: skip
    berlin = customer_create(
        company=company, kind="business", legal_name="Berlin Digital GmbH",
        vat_number="DE136695976", address_line1="Friedrichstraße 10", postcode="10117",
        city="Berlin", country="DE", language="en", billing_emails=["invoices@berlin.example"],
    )  # fmt: skip
    dupont = customer_create(
        company=company, kind="consumer", legal_name="Marie Dupont",
        address_line1="5 rue des Lilas", postcode="33000", city="Bordeaux",
        billing_emails=["marie.dupont@example.org"],
    )  # fmt: skip
    today = clock.company_today(company)
    first = invoice_issue(
        invoice_create(
            actor=ACTOR,
            company=company,
            customer=boulangerie,
            lines=[LineData(product=hosting), LineData(product=support, quantity=Decimal(2))],
        ),
        actor=ACTOR,
    )
    second = invoice_issue(
        invoice_create(
            actor=ACTOR,
            company=company,
            customer=cabinet,
            lines=[LineData(product=training, quantity=Decimal(2))],
        ),
        actor=ACTOR,
    )
    invoice_issue(
        invoice_create(
            actor=ACTOR,
            company=company,
            customer=berlin,
            lines=[LineData(product=support, quantity=Decimal(10), vat_code="FR-0-AE")],
        ),
        actor=ACTOR,
    )
    invoice_issue(
        invoice_create(
            actor=ACTOR, company=company, customer=dupont, lines=[LineData(product=hosting)]
        ),
        actor=ACTOR,
    )
    invoice_create(
        actor=ACTOR,
        company=company,
        customer=cabinet,
        lines=[LineData(product=support, quantity=Decimal(3))],
    )
    payment_record(
        customer=boulangerie, amount=first.total_gross, received_on=today,
        method="transfer", reference="VIR BOULANGERIE MARTIN", actor=ACTOR,
    )  # fmt: skip
    payment_record(
        customer=cabinet, amount=Decimal("500.00"), received_on=today, method="cheque",
        reference="CHQ 0001234", allocations=[(second, Decimal("500.00"))], actor=ACTOR,
    )  # fmt: skip
    _demo_subscriptions(today, hosting, support, boulangerie, cabinet, berlin, dupont, sales)
    return DemoLoaded(
        company=company.legal_name, owner=owner.get_username(), password=owner_password
    )


def _demo_subscriptions(
    today: date, hosting: Any, support: Any, boulangerie: Any, cabinet: Any, berlin: Any,
    dupont: Any, sales: Any,
) -> None:  # fmt: skip
    """Several frequencies and timings: some due today, some with missed periods to catch
    up, one waiting for review, one metered, one not yet due (seen in the forecast)."""
    first_of_month = today.replace(day=1)
    subscription_create(
        customer=boulangerie, name="Hébergement Pro", actor=ACTOR,
        lines=[SubscriptionLineData(product=hosting)], frequency_unit="month",
        anchor=add_months(first_of_month, -2), sales_rep=sales,
    )  # fmt: skip
    subscription_create(
        customer=cabinet, name="Contrat de maintenance", actor=ACTOR,
        lines=[SubscriptionLineData(product=support, quantity=Decimal(6))],
        frequency_unit="month", interval=3, anchor=today, payment_terms_days=45,
    )  # fmt: skip
    api = subscription_create(
        customer=berlin, name="API usage", actor=ACTOR, timing="arrears",
        lines=[
            SubscriptionLineData(description="Platform fee", unit_price=Decimal("99.00"),
                                 vat_code="FR-0-AE"),
            SubscriptionLineData(description="API calls (per 1,000)", quantity=Decimal(0),
                                 unit_price=Decimal("0.40"), vat_code="FR-0-AE", mode="metered"),
        ],
        frequency_unit="month", anchor=add_months(first_of_month, -2),
    )  # fmt: skip
    metered = api.lines.get(mode="metered")
    for months_back, calls in ((2, 1840), (1, 2210)):
        usage_record(
            metered, occurred_on=add_months(first_of_month, -months_back) + timedelta(days=10),
            quantity=Decimal(calls), idempotency_key=f"demo-{months_back}",
        )  # fmt: skip
    subscription_create(
        customer=cabinet, name="Nettoyage des locaux", actor=ACTOR, review_before_issue=True,
        lines=[SubscriptionLineData(description="Nettoyage", unit_price=Decimal("180.00"))],
        frequency_unit="semi_monthly", anchor=first_of_month,
    )  # fmt: skip
    subscription_create(
        customer=dupont, name="Abonnement annuel", actor=ACTOR,
        lines=[SubscriptionLineData(product=hosting, quantity=Decimal(12),
                                    discount_percent=Decimal(15))],
        frequency_unit="year", anchor=add_months(first_of_month, 1), end_kind="count",
        end_count=3,
    )  # fmt: skip
    subscription_create(
        customer=boulangerie, name="Livraison hebdomadaire", actor=ACTOR,
        lines=[SubscriptionLineData(description="Forfait livraison", unit_price=Decimal(25))],
        frequency_unit="week", anchor=today - timedelta(days=15),
    )  # fmt: skip
