"""Fixtures of the mail tests: a real SMTP server, a clock the tests move, archived PDFs in
a temporary media directory, and helpers that run the worker's delivery passes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from facturier.billing import clock
from facturier.billing.models import Customer, Invoice
from facturier.billing.services import invoice_issue, user_create
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS
from tests.mail.smtp import SMTPServer


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


class Clock:
    """The outbox's clock (facturier.billing.clock.now), moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # 10:00 in Paris, a Monday
    monkeypatch.setattr(clock, "now", lambda: c.now)
    return c


@pytest.fixture
def smtp(settings: Any) -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mailbox(settings: Any) -> None:
    """The embedded default: no SMTP server configured."""
    settings.EMAIL_BACKEND = "facturier.mail.backends.MailboxBackend"


def deliver_all(limit: int = 20) -> int:
    """Run delivery passes until one handles nothing (what `worker --until-idle` does)."""
    total = 0
    for _ in range(limit):
        done = outbox_deliver()
        if not done:
            return total
        total += done
    raise AssertionError("the outbox never became idle")


@pytest.fixture
def rep(company: Any) -> Any:
    return user_create(
        company=company, username="claire", password="x-123456", role="sales",
        email="claire@atelier.example",
    )  # fmt: skip


@pytest.fixture
def issued(make_draft: Callable[..., Invoice]) -> Callable[..., Invoice]:
    def issue(**kwargs: Any) -> Invoice:
        return invoice_issue(make_draft(**kwargs), actor=SYS)

    return issue


def set_rep(customer: Customer, user: Any) -> None:
    Customer.objects.filter(pk=customer.pk).update(sales_rep=user)
    customer.refresh_from_db()


D = Decimal
