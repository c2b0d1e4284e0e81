"""Shared fixtures: a valid company, customers and products, built through the services."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from facturier.billing.models import Company, Customer, Invoice, Product
from facturier.billing.services import (
    LineData,
    company_create,
    customer_create,
    invoice_create,
    product_create,
)
from tests.actors import SYS
from tests.guards import guards_lifted
from tests.processes import Children

# Property tests draw new examples on every run of `make test`, so a developer's runs keep
# exploring; CI (HYPOTHESIS_PROFILE=ci in .ci/run) draws the same ones each time, so `main`
# stays green for what it holds and a new finding comes from a run that can be replayed.
# No deadline: speed is measured in bench/, never asserted on a loaded machine.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

COMPANY_FIELDS: dict[str, Any] = {
    "legal_name": "Atelier Test",
    "legal_form": "SAS",
    "share_capital": Decimal("10000.00"),
    "address_line1": "12 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "siren": "732829320",
    "rcs_city": "Paris",
    "vat_number": "FR44732829320",
    "iban": "FR7630006000011234567890189",
    "accounting_email": "compta@example.com",
}


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    """The static files directory exists (as `make run`'s collectstatic leaves it), so the
    static file middleware does not warn on every test client it is built for."""
    from django.conf import settings as django_settings

    Path(django_settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _no_checkpoints_of_earlier_tests() -> None:
    """Each test starts with an empty database, but the archive storage outlives it: the
    checkpoint files an earlier test's worker signed for its company 1 would be reported as
    missing from this test's database by `audit verify`."""
    import shutil

    from django.conf import settings as django_settings

    shutil.rmtree(Path(django_settings.MEDIA_ROOT) / "checkpoints", ignore_errors=True)


@pytest.fixture
def company(db: None) -> Company:
    return company_create(**COMPANY_FIELDS)


@pytest.fixture
def customer(company: Company) -> Customer:
    return customer_create(
        company=company,
        kind="business",
        legal_name="Boulangerie Martin",
        siren="443061841",
        address_line1="3 place du Marché",
        postcode="69001",
        city="Lyon",
        billing_emails=["compta@boulangerie.example"],
    )


@pytest.fixture
def consumer(company: Company) -> Customer:
    return customer_create(
        company=company,
        kind="consumer",
        legal_name="Marie Dupont",
        address_line1="5 rue des Lilas",
        postcode="33000",
        city="Bordeaux",
        billing_emails=["marie@example.org"],
    )


@pytest.fixture
def product(company: Company) -> Product:
    return product_create(
        company=company,
        sku="HEB",
        name="Hébergement",
        unit_code="MON",
        unit_price=Decimal("49.90"),
        vat_code="FR-20",
    )


@pytest.fixture
def make_draft(company: Company, customer: Customer) -> Callable[..., Invoice]:
    def make(lines: list[LineData] | None = None, **kwargs: Any) -> Invoice:
        return invoice_create(
            actor=SYS,
            company=company,
            customer=kwargs.pop("customer", customer),
            lines=lines
            or [LineData(description="Service", quantity=Decimal(1), unit_price=Decimal(100))],
            **kwargs,
        )

    return make


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_guards() -> Any:
    """Transactional tests end with a flush (DELETE or TRUNCATE of every table), which the
    immutability guards rightly refuse. Lift them for the flush only, then put them back."""
    from django.db import connection

    ops_class = type(connection.ops)
    original = ops_class.execute_sql_flush

    def flush(self: Any, sql_list: list[str]) -> None:
        with guards_lifted(self.connection):
            original(self, sql_list)

    ops_class.execute_sql_flush = flush
    yield
    ops_class.execute_sql_flush = original


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    """Child processes on the test database, killed at the end of the test."""
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        kids.kill_all()
