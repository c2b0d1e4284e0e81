"""A worker whose lease expired (a slow batch) does not deliver a row that another worker
has leased since: the lease's expiry time is its token, checked when each attempt starts."""

from __future__ import annotations

from datetime import timedelta

from facturier.billing.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from facturier.worker.outbox import BATCH_LEASE, _attempt, _lease, outbox_deliver


def test_an_expired_lease_does_not_deliver(smtp, frozen, issued):
    issued()
    assert outbox_deliver() == 1  # the render; the email is queued
    row = OutboxMessage.objects.get(kind="email.invoice")
    [slow], lease_a = _lease(20, frozen.now, row.pk)  # worker A leases it, then stalls
    frozen.advance(BATCH_LEASE + timedelta(seconds=1))
    [fast], lease_b = _lease(20, frozen.now, row.pk)  # the lease expired: worker B takes it
    assert lease_b > lease_a

    assert _attempt(slow, lease=lease_a) is None  # A wakes up: not its row any more
    assert smtp.received == []
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == (OutboxStatus.PENDING, 0, lease_b)
    assert not DeliveryAttempt.objects.filter(message=row).exists()

    assert _attempt(fast, lease=lease_b) == OutboxStatus.SENT
    assert len(smtp.received) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
