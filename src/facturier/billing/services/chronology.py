"""Chronology across a company's documents (invariant 2, whatever the machine's clock says).

Numbers are taken in order under the series lock, and the company's chain head lock orders
every document of the company, invoices and credit notes, every year. A machine whose clock
is behind (set back, NTP not yet synchronised, a VM restored from a snapshot) would give the
next number a date, or an issue time, before the previous document's: F2026-00004 dated
31/12 after F2027-00003 dated 01/01. Issuing refuses instead (ClockBehind, nothing issued)
and the owners are told once per last document, not on every attempt.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import DatabaseError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.models import ChainHead, Company, Invoice, OutboxMessage
from facturier.billing.services.errors import NotAllowed
from facturier.core.money import format_date


class ClockBehind(NotAllowed):
    """The clock is behind the company's last issued document: nothing was issued."""

    def __init__(self, message: str, *, company: Company, last: Invoice, now: datetime) -> None:
        super().__init__(message)
        self.company = company
        self.last = last
        self.now = now

    def alert(self) -> None:
        """Queue the owners' alert (once per last document, whoever calls it how often).
        Called after the refused transaction rolled back; a database that cannot take it
        now (it is down) leaves it to the next attempt."""
        assert self.last.issued_at is not None and self.last.issue_date is not None
        with contextlib.suppress(DatabaseError):
            OutboxMessage.objects.bulk_create(
                [
                    OutboxMessage(
                        company=self.company,
                        kind="notify.clock_behind",
                        key=f"clock-behind:{self.company.pk}:{self.last.pk}",
                        payload={
                            "number": self.last.number,
                            "issue_date": self.last.issue_date.isoformat(),
                            "issued_at": self.last.issued_at.isoformat(),
                            "now": self.now.isoformat(),
                        },
                        next_attempt_at=clock.now(),
                    )
                ],
                ignore_conflicts=True,
            )


def chronology_check(company: Company, head: ChainHead, *, today: date, now: datetime) -> None:
    """Refuse to issue on `today` at `now` before the company's last issued document (any
    series, any year). The caller holds the chain head lock and read `now` after taking it."""
    if not head.documents:
        return
    last = (
        Invoice.objects.filter(company=company, chain_index=head.documents)
        .only("pk", "number", "issue_date", "issued_at", "company_id")
        .first()
    )
    if last is None or last.issue_date is None or last.issued_at is None:
        return
    if today >= last.issue_date and now >= last.issued_at:
        return
    zone = ZoneInfo(company.timezone)
    lang = get_language() or "fr"
    at = last.issued_at.astimezone(zone)
    raise ClockBehind(
        _(
            "Cannot issue now (%(now)s): the last document issued, %(number)s, is dated "
            "%(date)s at %(time)s, later than this machine's clock. Is the clock behind? "
            "Nothing was issued."
        )
        % {
            "now": f"{format_date(today, locale=lang)} {now.astimezone(zone):%H:%M:%S}",
            "number": last.number,
            "date": format_date(last.issue_date, locale=lang),
            "time": f"{at:%H:%M:%S}",
        },
        company=company,
        last=last,
        now=now,
    )
