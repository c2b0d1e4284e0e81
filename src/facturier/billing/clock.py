"""The only reader of the real clock. Everything else takes `now` / `today` as a parameter,
so tests and the billing run can travel in time (`--as-of`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from django.utils import timezone


class HasTimezone(Protocol):
    timezone: str


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return timezone.now()


def today_in(tz_name: str, *, at: datetime | None = None) -> date:
    """The calendar date in a time zone at an instant (now by default)."""
    return (at or now()).astimezone(ZoneInfo(tz_name)).date()


def company_today(company: HasTimezone, *, at: datetime | None = None) -> date:
    """Billing dates are calendar dates in the company's zone: DST never moves them."""
    return today_in(company.timezone, at=at)
