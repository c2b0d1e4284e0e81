"""Limits on attempts (wrong passwords today, public pages later), counted in the database.

A caller records each attempt *before* acting on it, with `throttle_hit`, which refuses (and
records nothing) once `limit` attempts of the same key were counted in the last `window`.
When the attempt turns out to be fine (the right password), `throttle_forget` takes it back,
so only failures count. Recording first makes simultaneous attempts count one another, so a
burst sent at once cannot slip past the limit; an attempt refused is not counted, so the key
is free again `window` after its last counted attempt, even if refused ones keep coming.

Keys are stored hashed (SHA-256). One scope has one window: a hit deletes the rows of its
scope that are older than that, which keeps the table small without any scheduled job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from facturier.billing import clock
from facturier.billing.models import ThrottleHit


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def throttle_hit(
    *, scope: str, key: str, limit: int, window: timedelta, now: datetime | None = None
) -> int | None:
    """Count one attempt of `key`; its id (for `throttle_forget`), or None — nothing
    recorded — when `limit` attempts were already counted in the last `window`."""
    now = now or clock.now()
    digest = _digest(key)
    ThrottleHit.objects.filter(scope=scope, at__lte=now - window).delete()
    hit = ThrottleHit.objects.create(scope=scope, key=digest, at=now)
    # This attempt and those counted before it (a lower id) within the window: of a burst,
    # the first `limit` pass.
    counted = ThrottleHit.objects.filter(
        scope=scope, key=digest, at__gt=now - window, pk__lte=hit.pk
    ).count()
    if counted > limit:
        hit.delete()
        return None
    return hit.pk


def throttle_blocked(
    *, scope: str, key: str, limit: int, window: timedelta, now: datetime | None = None
) -> bool:
    """Whether the next attempt of `key` would be refused (nothing recorded)."""
    now = now or clock.now()
    recent = ThrottleHit.objects.filter(scope=scope, key=_digest(key), at__gt=now - window)
    return recent.count() >= limit


def throttle_forget(ids: Iterable[int]) -> None:
    """Take back attempts that turned out fine: they no longer count."""
    ThrottleHit.objects.filter(pk__in=list(ids)).delete()


def throttle_clear(*, scope: str, key: str) -> None:
    """Forget every attempt of `key` (e.g. a successful sign-in clears its username's count)."""
    ThrottleHit.objects.filter(scope=scope, key=_digest(key)).delete()
