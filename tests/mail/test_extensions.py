"""The hooks that packages built on billing use (billing/extensions.py): domain events sent in
the change's transaction, outbox handlers of their own kinds, periodic jobs, reminder holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from facturier.billing import extensions
from facturier.billing.models import OutboxMessage, OutboxStatus
from facturier.billing.services import payment_record
from facturier.billing.services.dunning import invoice_state
from facturier.billing.services.payment_corrections import payment_reverse
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_create,
)
from facturier.worker.loop import Worker, run_extension_jobs
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS

D = Decimal


@pytest.fixture
def events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    got: list[tuple[str, dict[str, Any]]] = []
    signals = {
        name: getattr(extensions, name)
        for name in (
            "documents_issued", "document_archived", "invoice_sent", "payment_recorded",
            "payment_reversed", "subscription_changed", "billing_run_finished",
        )
    }  # fmt: skip
    receivers = {}
    for name, signal in signals.items():

        def receive(sender: Any, _name: str = name, **kwargs: Any) -> None:
            kwargs.pop("signal", None)
            got.append((_name, kwargs))

        receivers[name] = receive
        signal.connect(receive, weak=False)
    yield got
    for name, signal in signals.items():
        signal.disconnect(receivers[name])


def _names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [n for n, _ in events]


def test_issue_archive_send_pay_reverse_send_their_events(smtp, frozen, customer, issued, events):
    inv = issued()
    assert _names(events) == ["documents_issued"]
    assert events[0][1]["invoices"] == [inv]
    outbox_deliver()  # render and archive
    assert _names(events)[-1] == "document_archived"
    assert events[-1][1]["archive"].invoice_id == inv.pk
    outbox_deliver()  # the email
    assert _names(events)[-1] == "invoice_sent"
    assert events[-1][1]["invoice"].pk == inv.pk

    payment = payment_record(
        customer=customer, amount=D("120.00"), received_on=frozen.now.date(), method="transfer",
        actor=SYS,
    )  # fmt: skip
    assert _names(events)[-1] == "payment_recorded"
    assert events[-1][1]["payment"] == payment
    assert events[-1][1]["allocations"] == [(inv, D("120.00"))]
    payment_reverse(payment, reversed_on=frozen.now.date(), reason="bounced", actor=SYS)
    assert _names(events)[-1] == "payment_reversed"
    assert events[-1][1]["released"] == {inv.pk: D("120.00")}


def test_an_event_receiver_that_fails_rolls_the_change_back(customer, issued, frozen):
    inv = issued()

    def refuse(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver failed")

    extensions.payment_recorded.connect(refuse, weak=False)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            payment_record(
                customer=customer, amount=D("120.00"), received_on=frozen.now.date(),
                method="transfer", actor=SYS,
            )  # fmt: skip
    finally:
        extensions.payment_recorded.disconnect(refuse)
    inv.refresh_from_db()
    assert inv.settlement != "paid"


def test_subscription_changes_send_their_events(company, customer, events):
    sub = subscription_create(
        customer=customer, name="Maintenance", frequency_unit="month",
        anchor=date(2026, 12, 1),
        lines=[SubscriptionLineData(description="Forfait", quantity=D(1), unit_price=D(50))],
        actor=SYS,
    )  # fmt: skip
    subscription_cancel(sub, at_period_end=True, actor=SYS)
    changes = [k["change"] for n, k in events if n == "subscription_changed"]
    assert changes == ["created", "cancelled"]


def test_outbox_rows_of_a_registered_kind_go_to_their_handler(company, frozen):
    handled: list[int] = []
    calls = {"n": 0}

    def handler(msg: OutboxMessage) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("receiver down")  # retried later, like an email
        handled.append(msg.pk)

    extensions.register_outbox_handler("test.hook", handler)
    try:
        row = OutboxMessage.objects.create(
            company=company, kind="test.hook.ping", key="test-hook-1", payload={},
            next_attempt_at=frozen.now,
        )  # fmt: skip
        assert outbox_deliver() == 1
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
        assert "receiver down" in row.last_error
        frozen.advance(timedelta(minutes=5))
        assert outbox_deliver() == 1
        row.refresh_from_db()
        assert row.status == OutboxStatus.SENT
        assert handled == [row.pk]
    finally:
        extensions._handlers.pop("test.hook")


def test_periodic_jobs_run_on_each_tick_and_stop_when_asked(db):
    import threading

    seen: list[bool] = []

    def job(should_stop: Any) -> int:
        seen.append(should_stop())
        return 3

    extensions.register_periodic_job("test-job", job)
    try:
        worker = Worker(name="t", stop=threading.Event())
        assert run_extension_jobs(worker) == 3
        worker.stop.set()
        assert run_extension_jobs(worker) == 0
        assert seen == [False]
    finally:
        extensions._jobs.pop("test-job")


def test_a_reminder_hold_stops_dunning_for_that_invoice(issued):
    inv = issued()
    assert invoice_state(inv).debit_in_collection is False

    def hold(invoice: Any) -> bool:
        return invoice.pk == inv.pk

    extensions.register_reminder_hold(hold)
    try:
        assert invoice_state(inv).debit_in_collection is True
    finally:
        extensions._holds.remove(hold)
