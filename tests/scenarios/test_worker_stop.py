"""SIGTERM stops a worker within one message, whatever is queued (systemd's stop timeout is
90 s; a pass over a thousand messages used to run to its end first).

A real `facturier worker` process delivers a long queue into the embedded mailbox; the test
sends SIGTERM mid-way and counts the messages handled after it: at most the one in flight.
The rows it had leased but not tried are handed back, due at once for the next worker.
"""

from __future__ import annotations

import signal
import time

import pytest

from facturier.billing import clock
from facturier.billing.models import Company, MailboxMessage, OutboxMessage, OutboxStatus
from tests.processes import Children, facturier_command

QUEUED = 600


def queue_notices(company: Company, count: int) -> None:
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            company=company, kind="notify.draft_waiting", key=f"stop-test:{k}",
            payload={
                "to": ["owner@example.com"], "subscription": f"Sub {k}", "customer": "Client",
                "invoice_id": k, "period_start": None, "period_end": None, "total": "12.00",
            },
            next_attempt_at=clock.now(),
        )
        for k in range(count)
    )  # fmt: skip


def handled() -> int:
    return OutboxMessage.objects.exclude(status=OutboxStatus.PENDING).count()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_worker_after_the_message_in_flight(
    company: Company, children: Children
) -> None:
    queue_notices(company, QUEUED)
    children.env.pop("FACTURIER_SMTP_HOST", None)  # the embedded mailbox
    worker = children.start("worker", facturier_command("worker", "--tick", "0.2"))

    deadline = time.monotonic() + 60
    while handled() < 20:
        assert worker.poll() is None, f"the worker ended early\n{children.report()}"
        assert time.monotonic() < deadline, f"the worker is too slow\n{children.report()}"
        time.sleep(0.005)
    worker.send_signal(signal.SIGTERM)
    at_signal = handled()  # counted after the signal: at least what was done before it

    assert children.wait_all(timeout=60) == {"worker": 0}, children.report()
    after = handled() - at_signal
    assert after <= 1, f"{after} messages handled after SIGTERM\n{children.report()}"
    assert handled() < QUEUED  # it did stop mid-way
    assert MailboxMessage.objects.count() == handled()
    # Nothing left leased: the next worker takes the rest at once.
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
    assert pending.count() == QUEUED - handled()
    assert not pending.filter(next_attempt_at__gt=clock.now()).exists()
