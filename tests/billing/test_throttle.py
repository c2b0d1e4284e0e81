"""The attempt counter behind sign-in throttling: a sliding window, in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from facturier.billing.models import ThrottleHit
from facturier.billing.services.throttle import (
    throttle_blocked,
    throttle_clear,
    throttle_forget,
    throttle_hit,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
RULE = {"scope": "test", "limit": 3, "window": timedelta(minutes=15)}  # 3 per 15 minutes


def test_the_first_limit_attempts_pass_then_none_is_counted() -> None:
    ids = [throttle_hit(key="k", now=T0, **RULE) for _ in range(5)]
    assert [i is not None for i in ids] == [True, True, True, False, False]
    assert ThrottleHit.objects.count() == 3  # refused attempts are not recorded
    assert throttle_blocked(key="k", now=T0, **RULE)
    assert not throttle_blocked(key="other", now=T0, **RULE)
    assert throttle_hit(key="other", now=T0, **RULE) is not None


def test_the_window_slides_and_old_rows_are_pruned() -> None:
    for minute in (0, 5, 10):
        throttle_hit(key="k", now=T0 + timedelta(minutes=minute), **RULE)
    assert throttle_hit(key="k", now=T0 + timedelta(minutes=14), **RULE) is None
    # 15 minutes after the first attempt, it no longer counts: one more may come.
    later = T0 + timedelta(minutes=15)
    assert throttle_hit(key="k", now=later, **RULE) is not None
    assert throttle_hit(key="k", now=later, **RULE) is None
    # The expired attempt was deleted by the next hit of its scope.
    assert ThrottleHit.objects.filter(at=T0).count() == 0
    assert ThrottleHit.objects.count() == 3


def test_forgotten_and_cleared_attempts_no_longer_count() -> None:
    ids = [throttle_hit(key="k", now=T0, **RULE) for _ in range(3)]
    throttle_forget([i for i in ids[:2] if i is not None])
    assert not throttle_blocked(key="k", now=T0, **RULE)
    throttle_hit(key="k", now=T0, **RULE)
    throttle_clear(scope="test", key="k")
    assert ThrottleHit.objects.count() == 0


def test_keys_are_stored_hashed() -> None:
    throttle_hit(key="203.0.113.7\nmy secret password", now=T0, **RULE)
    stored = ThrottleHit.objects.get()
    assert "secret" not in stored.key and len(stored.key) == 64
