"""Subscription edits and lines to confirm.

- SubscriptionLine.starts_on / ends_on: a line added or removed from a period on.
- InvoiceLine.placeholder_quantity: a line "to confirm" still has its placeholder quantity.
  SQLite adds this column by rebuilding billing_invoiceline, which drops its triggers: the
  immutability guards are installed again (the invoice's columns are unchanged).
- Twice a month, an anchor between the two chosen days now starts a prorated stub (it used
  to be silently skipped up to the next chosen day). A subscription already billed keeps
  what it billed: its anchor moves to that next chosen day, as its invoices show. One not
  billed yet gets its stub: its next billing date moves to the stub's.
"""

import calendar
from datetime import date, timedelta
from typing import Any

from django.db import migrations, models

from facturier.billing import db_guards

INVOICE_COLUMNS = [
    "id", "company_id", "customer_id", "doc_type", "status", "number", "series_id",
    "sequence", "series_year", "issue_date", "due_date", "period_start", "period_end",
    "currency", "customer_po", "notes", "payment_terms_days", "corrects_id", "subscription_id",
    "seller", "buyer", "total_net", "total_vat", "total_gross", "vat_breakdown", "chain_index",
    "previous_hash", "content_hash", "issued_at", "issued_by", "created_at", "settled_amount",
    "settlement", "disputed",
]  # fmt: skip
MUTABLE = ["settled_amount", "settlement", "disputed"]


def guards(apps: Any, schema_editor: Any) -> None:
    db_guards.install(schema_editor, mutable_columns=MUTABLE, columns=INVOICE_COLUMNS)


def _day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _next_chosen_day(anchor: date, first: int, second: int) -> date:
    """The first of the two chosen days on or after `anchor` (clamped to the month end)."""
    for day in (first, second):
        chosen = _day(anchor.year, anchor.month, day)
        if anchor <= chosen:
            return chosen
    year, month = (anchor.year + 1, 1) if anchor.month == 12 else (anchor.year, anchor.month + 1)
    return _day(year, month, first)


def semi_monthly_stubs(apps: Any, schema_editor: Any) -> None:
    Subscription = apps.get_model("billing", "Subscription")
    BilledPeriod = apps.get_model("billing", "BilledPeriod")
    subs = Subscription.objects.filter(frequency_unit="semi_monthly", start__isnull=True)
    for sub in subs:
        chosen = _next_chosen_day(sub.anchor, sub.semi_monthly_day1, sub.semi_monthly_day2)
        if chosen == sub.anchor:
            continue
        if BilledPeriod.objects.filter(subscription=sub).exists():
            sub.anchor = chosen
            sub.save(update_fields=["anchor"])
        elif sub.next_billing_date is not None:
            if sub.timing == "arrears":
                due = chosen
            else:
                due = sub.anchor - timedelta(days=sub.days_before)
            sub.next_billing_date = min(sub.next_billing_date, due)
            sub.save(update_fields=["next_billing_date"])


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0017_throttle"),
    ]

    operations = [
        # Backwards, the guards are installed again once the column is gone (the last step).
        migrations.RunPython(migrations.RunPython.noop, guards),
        migrations.AddField(
            model_name="invoiceline",
            name="placeholder_quantity",
            field=models.BooleanField(default=False, verbose_name="quantity to confirm"),
        ),
        migrations.RunPython(guards, migrations.RunPython.noop),
        migrations.AddField(
            model_name="subscriptionline",
            name="ends_on",
            field=models.DateField(blank=True, null=True, verbose_name="billed until"),
        ),
        migrations.AddField(
            model_name="subscriptionline",
            name="starts_on",
            field=models.DateField(blank=True, null=True, verbose_name="billed from"),
        ),
        migrations.RunPython(semi_monthly_stubs, migrations.RunPython.noop),
    ]
