"""A worker killed (SIGKILL) between leasing a message and sending it: the lease expires and
the next worker delivers it, once, with the same Message-ID (at least once, recognisably)."""

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


@pytest.mark.django_db(transaction=True)
def test_worker_killed_after_leasing_then_next_worker_delivers(
    smtp, make_draft, children, tmp_path, monkeypatch
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
    doomed = children.start("doomed", [sys.executable, str(CHILD), str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert doomed.poll() is None, f"the worker ended early\n{children.report()}"
        assert time.monotonic() < deadline, f"the worker is too slow\n{children.report()}"
        time.sleep(0.01)
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert row.next_attempt_at > clock.now() + LEASE - timedelta(minutes=1)  # leased
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait(10) == -signal.SIGKILL
    assert smtp.received == []

    assert outbox_deliver() == 0  # the lease holds: nobody else sends it meanwhile
    later = clock.now() + LEASE + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert outbox_deliver() == 1  # the next worker, once the lease has expired
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    [got] = smtp.received
    assert got.message["Message-ID"] == marker.read_text() == f"<outbox-{row.pk}@facturier>"
    assert sorted(got.rcpt_tos) == ["compta@boulangerie.example", "compta@example.com"]
    assert DeliveryAttempt.objects.filter(message=row, outcome="sent").count() == 2
    assert outbox_deliver() == 0
    assert len(smtp.received) == 1
