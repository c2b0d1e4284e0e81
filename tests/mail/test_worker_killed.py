"""A worker killed (SIGKILL) in the middle of a delivery: the lease expires and the next
worker delivers the message, with the same Message-ID (at least once, recognisably), and the
delivery log never under-reports: the killed attempt is counted and logged as "started"
(outcome unknown), because it was recorded before the message was handed to the server."""

from __future__ import annotations

import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from facturier.billing import clock
from facturier.billing.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from facturier.billing.services import invoice_issue
from facturier.worker.outbox import LEASE, outbox_deliver
from tests.actors import SYS

CHILD = Path(__file__).with_name("_outbox_child.py")
RECIPIENTS = ["compta@boulangerie.example", "compta@example.com"]


def log_of(row: OutboxMessage) -> list[tuple[str, str]]:
    return [
        (a.recipient, a.outcome) for a in DeliveryAttempt.objects.filter(message=row).order_by("pk")
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("moment", ["before", "after"])
def test_worker_killed_mid_delivery_then_next_worker_delivers(
    moment, smtp, make_draft, children, tmp_path, monkeypatch
):
    inv = invoice_issue(make_draft(), actor=SYS)
    assert outbox_deliver() == 1  # rendered and archived here; the email is queued
    row = OutboxMessage.objects.get(kind="email.invoice", invoice=inv)

    # The child finds the archived PDF where this test put it, and sends through our server.
    children.env |= {
        "FACTURIER_DATA_DIR": str(tmp_path),
        "FACTURIER_SMTP_HOST": "127.0.0.1",
        "FACTURIER_SMTP_PORT": str(smtp.port),
        "FACTURIER_SMTP_STARTTLS": "0",
    }
    marker = tmp_path / "holding"
    doomed = children.start("doomed", [sys.executable, str(CHILD), str(marker), moment])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert doomed.poll() is None, f"the worker ended early\n{children.report()}"
        assert time.monotonic() < deadline, f"the worker is too slow\n{children.report()}"
        time.sleep(0.01)
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait(10) == -signal.SIGKILL
    message_id = f"<outbox-{row.pk}@facturier>"
    assert marker.read_text() == message_id
    assert len(smtp.received) == (1 if moment == "after" else 0)

    # What the dead worker left: its attempt counted, each recipient "started" (unknown).
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.next_attempt_at > clock.now() + LEASE - timedelta(minutes=1)  # leased
    assert log_of(row) == [(r, "started") for r in RECIPIENTS]

    assert outbox_deliver() == 0  # the lease holds: nobody else sends it meanwhile
    later = clock.now() + LEASE + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert outbox_deliver() == 1  # the next worker, once the lease has expired
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert log_of(row) == [(r, "started") for r in RECIPIENTS] + [(r, "sent") for r in RECIPIENTS]
    # Killed after the server had it: delivered twice, both copies with one Message-ID.
    copies = smtp.received
    assert len(copies) == (2 if moment == "after" else 1)
    assert {got.message["Message-ID"] for got in copies} == {message_id}
    assert all(sorted(got.rcpt_tos) == RECIPIENTS for got in copies)
    assert outbox_deliver() == 0
    assert len(smtp.received) == len(copies)
