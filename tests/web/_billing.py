"""Helpers of the billing pages' tests (subscriptions, invoices, payments, forecast, runs,
exports): a second customer, the "sales reps see their own customers" switch, a stranger
from another company."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from facturier.billing.models import Company, Customer
from facturier.billing.services import (
    company_create,
    customer_create,
    customer_update,
    user_create,
)
from facturier.billing.services.actors import Actor
from facturier.billing.services.parties import company_update
from tests.conftest import COMPANY_FIELDS
from tests.web.conftest import PASSWORD, OnceClient


def other_customer(company: Company) -> Customer:
    return customer_create(
        company=company, kind="consumer", legal_name="Autre Client", address_line1="1 rue Neuve",
        postcode="75001", city="Paris", billing_emails=["autre@example.org"],
    )  # fmt: skip


def restrict_sales(company: Company, *, own: Customer, sales: User) -> None:
    """Sales reps see only their customers; `sales` is in charge of `own`."""
    company_update(company, actor=Actor.system("test"), sales_see_own_customers_only=True)
    customer_update(own, sales_rep=sales)


def stranger_client() -> Client:
    """The owner of another company, signed in."""
    elsewhere = company_create(
        **{**COMPANY_FIELDS, "siren": "552100554", "vat_number": "FR96552100554"}
    )
    user = user_create(
        company=elsewhere, username="eve", password=PASSWORD, role="owner",
        email="eve@example.com",
    )  # fmt: skip
    client = OnceClient()
    client.force_login(user)
    return client
