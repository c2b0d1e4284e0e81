"""The Django side of the benchmark, run in its own process with the case's environment
(DATABASE_URL, FACTURIER_DATA_DIR): the harness itself never imports Django, so each case
talks to its own database.

    python bench/_seed.py seed N [--customers 200] [--lines 1]
    python bench/_seed.py check N
    python bench/_seed.py versions

Each subcommand prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from decimal import Decimal
from typing import Any

from facturier.billing.services.actors import Actor

COMPANY_FIELDS: dict[str, Any] = {
    "legal_name": "Atelier Bench",
    "legal_form": "SAS",
    "share_capital": Decimal("10000.00"),
    "address_line1": "12 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "siren": "732829320",
    "rcs_city": "Paris",
    "vat_number": "FR44732829320",
    "iban": "FR7630006000011234567890189",
    "accounting_email": "compta@example.com",
    # The worker bills from this local hour on: 0 bills at once, whatever the time.
    "billing_hour": 0,
}

CHUNK = 2000


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
    import django

    django.setup()


def seed(n: int, customers: int, lines: int) -> dict[str, Any]:
    """One company, `customers` customers (through the services) and `n` active monthly
    subscriptions due today, `lines` fixed lines each (bulk-inserted: seeding is not timed)."""
    from django.db import transaction

    from facturier.billing import clock
    from facturier.billing.models import Subscription, SubscriptionLine
    from facturier.billing.services import company_create, customer_create

    started = time.monotonic()
    company = company_create(actor=Actor.system("bench"), **COMPANY_FIELDS)
    today = clock.company_today(company)
    buyers = [
        customer_create(
            company=company,
            kind="business",
            legal_name=f"Client {i:04d}",
            siren="443061841",
            address_line1=f"{i} place du Marché",
            postcode="69001",
            city="Lyon",
            billing_emails=[f"compta{i}@client.example"],
        )
        for i in range(1, customers + 1)
    ]
    for start in range(0, n, CHUNK):
        with transaction.atomic():
            subs = Subscription.objects.bulk_create(
                [
                    Subscription(
                        company=company,
                        customer=buyers[i % len(buyers)],
                        name=f"Abonnement {i + 1:06d}",
                        status="active",
                        frequency_unit="month",
                        interval=1,
                        anchor=today,
                        timing="advance",
                        end_kind="never",
                        next_billing_date=today,
                    )
                    for i in range(start, min(start + CHUNK, n))
                ],
                batch_size=500,
            )
            SubscriptionLine.objects.bulk_create(
                [
                    SubscriptionLine(
                        subscription=sub,
                        position=p,
                        description=f"Service {p}",
                        quantity=Decimal(1 + p),
                        unit_price=Decimal("49.90"),
                        vat_code="FR-20",
                    )
                    for sub in subs
                    for p in range(1, lines + 1)
                ],
                batch_size=500,
            )
    return {
        "company_id": company.pk,
        "today": today.isoformat(),
        "subscriptions": Subscription.objects.filter(company=company).count(),
        "customers": customers,
        "lines_per_subscription": lines,
        "seconds": round(time.monotonic() - started, 1),
    }


def check(n: int) -> dict[str, Any]:
    """What the run left: issued invoices, their numbering, the ledger. `ok` when every
    subscription was billed exactly once and the sequence is exactly 1..N."""
    from django.db.models import Count, Max, Min

    from facturier.billing import clock
    from facturier.billing.models import (
        BilledPeriod,
        BillingRun,
        Company,
        Invoice,
        RunItem,
        Subscription,
    )

    issued = Invoice.objects.filter(status="issued")
    seq = issued.aggregate(
        lo=Min("sequence"), hi=Max("sequence"), distinct=Count("sequence", distinct=True)
    )
    numbers = issued.values("number").distinct().count()
    per_series = list(issued.values("series_id", "series_year").annotate(c=Count("id")))
    out = {
        "issued": issued.count(),
        "drafts": Invoice.objects.filter(status="draft").count(),
        "seq_min": seq["lo"],
        "seq_max": seq["hi"],
        "seq_distinct": seq["distinct"],
        "numbers_distinct": numbers,
        "series": len(per_series),
        "billed_periods": BilledPeriod.objects.count(),
        "billed_subscriptions": BilledPeriod.objects.values("subscription_id").distinct().count(),
        "failed_items": RunItem.objects.filter(outcome="failed").count(),
        "still_due": sum(
            Subscription.objects.filter(
                company=company,
                status="active",
                next_billing_date__lte=clock.company_today(company),
            ).count()
            for company in Company.objects.all()
        ),
    }
    problems = []
    if out["issued"] != n:
        problems.append(f"issued {out['issued']} != {n}")
    if out["drafts"]:
        problems.append(f"{out['drafts']} drafts left")
    if n and (out["seq_min"], out["seq_max"], out["seq_distinct"]) != (1, n, n):
        problems.append(
            f"sequences {out['seq_min']}..{out['seq_max']} ({out['seq_distinct']} distinct)"
        )
    if out["numbers_distinct"] != out["issued"]:
        problems.append("duplicate invoice numbers")
    if out["series"] > 1:
        problems.append(f"{out['series']} series/years used")
    if out["billed_periods"] != n or out["billed_subscriptions"] != n:
        problems.append(
            f"ledger {out['billed_periods']} periods / {out['billed_subscriptions']} subscriptions"
        )
    if out["failed_items"]:
        problems.append(f"{out['failed_items']} failed run items")
    if out["still_due"]:
        problems.append(f"{out['still_due']} subscriptions still due")
    runs = BillingRun.objects.filter(finished_at__isnull=False).aggregate(
        start=Min("started_at"), end=Max("finished_at"), count=Count("id")
    )
    # Inside the engine: from the first run's start to the last run's end (no process start).
    out["runs"] = runs["count"]
    out["engine_s"] = (
        round((runs["end"] - runs["start"]).total_seconds(), 3) if runs["count"] else None
    )
    out["ok"] = not problems
    out["problems"] = problems
    return out


def versions() -> dict[str, Any]:
    import django
    from django.db import connection

    out: dict[str, Any] = {"django": django.get_version(), "vendor": connection.vendor}
    out["batch_size_default"] = _default_batch_size()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SHOW server_version")
            out["server"] = cur.fetchone()[0]
        elif connection.vendor == "sqlite":
            cur.execute("select sqlite_version()")
            out["server"] = cur.fetchone()[0]
    return out


def _default_batch_size() -> int | None:
    """The batch size the workers use when not told (the billing run's own default)."""
    import inspect

    from facturier.billing.services.billing_run import billing_run

    default = inspect.signature(billing_run).parameters["batch_size"].default
    return default if isinstance(default, int) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("n", type=int)
    p_seed.add_argument("--customers", type=int, default=200)
    p_seed.add_argument("--lines", type=int, default=1)
    p_check = sub.add_parser("check")
    p_check.add_argument("n", type=int)
    sub.add_parser("versions")
    args = parser.parse_args(argv)
    _setup()
    if args.command == "seed":
        result = seed(args.n, args.customers, args.lines)
    elif args.command == "check":
        result = check(args.n)
    else:
        result = versions()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
