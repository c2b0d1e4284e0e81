"""The Django side of the page benchmark (bench/pages.py), run in its own process with the
case's environment (DATABASE_URL, FACTURIER_DATA_DIR).

    python bench/_pages_seed.py seed [--customers 10000] [--months 10]
    python bench/_pages_seed.py measure --pages '[{"name": …, "view": …}]' [--requests 50]

Each subcommand prints one JSON object as its last line on stdout.

The seeded company looks like a real one after `months` months of use: customers made by
the services, one monthly subscription each (a hundred for the largest customer), billed by
the real billing run, week after week, with the clock moved by time-machine. So every
invoice is issued as the engine issues it (gapless numbers, frozen totals and parties,
chained hashes, ledger rows, audit events), on its own date. Payments are then bulk-inserted
(one transfer per paid invoice, most on time, some late, some partial) and the invoices'
settlement columns set with one UPDATE per row, the columns the immutability guards allow.
What is due and unpaid at the end is overdue, as in life.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

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
    "billing_hour": 0,
}
USERNAME = "bench"
PASSWORD = "bench-pages-2026"
# The largest customer has this many subscriptions (ten times as many invoices).
BIG_CUSTOMER_SUBSCRIPTIONS = 100
PRICES = [Decimal(p) for p in ("19.90", "29.00", "49.90", "89.00", "149.00", "390.00")]
CHUNK = 2000
SLOW_MS = 5000
PARIS = ZoneInfo("Europe/Paris")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
    import django

    django.setup()


def _siren(i: int) -> str:
    from stdnum import luhn

    body = f"{40000000 + i * 7:08d}"
    return body + luhn.calc_check_digit(body)


def _customers(company: Any, n: int) -> list[Any]:
    from faker import Faker

    from facturier.billing.services import customer_create

    fake = Faker("fr_FR")
    fake.seed_instance(2026)
    out = []
    for i in range(n):
        business = i % 4 != 3  # three in four are businesses
        fields: dict[str, Any] = {
            "kind": "business" if business else "consumer",
            "legal_name": fake.company() if business else fake.name(),
            "address_line1": fake.street_address(),
            "postcode": fake.postcode(),
            "city": fake.city(),
            "billing_emails": [f"compta{i}@{fake.domain_name()}"],
            "code": f"C{i + 1:05d}",
        }
        if business:
            fields["siren"] = _siren(i)
        out.append(customer_create(company=company, **fields))
    return out


def _subscriptions(company: Any, customers: list[Any], first: date) -> int:
    """One monthly subscription per customer but the last hundred, which have none; the
    first customer has BIG_CUSTOMER_SUBSCRIPTIONS. Anchors spread over 28 days from
    `first`, so invoices are issued every day of the month."""
    from django.db import transaction

    from facturier.billing.models import Subscription, SubscriptionLine

    owners = [customers[0]] * BIG_CUSTOMER_SUBSCRIPTIONS
    owners += customers[1 : len(customers) - BIG_CUSTOMER_SUBSCRIPTIONS + 1]
    for start in range(0, len(owners), CHUNK):
        with transaction.atomic():
            subs = Subscription.objects.bulk_create(
                [
                    Subscription(
                        company=company,
                        customer=owners[i],
                        name=f"Abonnement {i + 1:05d}",
                        status="active",
                        frequency_unit="month",
                        interval=1,
                        anchor=first + timedelta(days=i % 28),
                        timing="advance",
                        end_kind="never",
                        next_billing_date=first + timedelta(days=i % 28),
                    )
                    for i in range(start, min(start + CHUNK, len(owners)))
                ],
                batch_size=500,
            )
            SubscriptionLine.objects.bulk_create(
                [
                    SubscriptionLine(
                        subscription=sub,
                        position=p,
                        description="Hébergement" if p == 1 else "Support",
                        quantity=Decimal(1 + (sub.pk + p) % 3),
                        unit_price=PRICES[(sub.pk * p) % len(PRICES)],
                        vat_code="FR-20",
                    )
                    for sub in subs
                    for p in range(1, 2 + (sub.pk % 3 == 0))  # a third have two lines
                ],
                batch_size=500,
            )
    return len(owners)


def _bill(first: date, today: date) -> dict[str, Any]:
    """Billing runs every week at 06:00 Paris time from `first` to today, as a worker would
    have run them (a week's due periods are billed by the next run)."""
    import time_machine

    from facturier.billing.services.billing_run import billing_run

    runs, issued, failed = 0, 0, 0
    day = first
    while day < today:
        at = datetime.combine(day, dtime(6), tzinfo=PARIS).astimezone(UTC)
        with time_machine.travel(at, tick=True):
            summary = billing_run(keep_outcomes=False, worker="bench-seed")
        runs, issued, failed = runs + 1, issued + summary.issued, failed + summary.failed
        day += timedelta(days=7)
    summary = billing_run(keep_outcomes=False, worker="bench-seed")  # today, real clock
    return {"runs": runs + 1, "issued": issued + summary.issued, "failed": failed + summary.failed}


def _payments(company: Any, today: date) -> dict[str, int]:
    """One transfer per paid invoice. Of the invoices already due: 80 % paid in full (most
    before the due date, some up to 3 weeks late), 6 % paid in part, the rest unpaid (so
    overdue). Of those not yet due, a third is already paid."""
    from django.db import transaction

    from facturier.billing.bulk import rows_update
    from facturier.billing.models import Invoice, Payment, PaymentAllocation

    counts = {"paid": 0, "partial": 0, "open": 0}
    rows = list(
        Invoice.objects.filter(company=company, status="issued")
        .order_by("pk")
        .values_list("pk", "customer_id", "total_gross", "due_date", "issue_date", "number")
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        plans: list[tuple[int, int, Decimal, date, str]] = []
        for pk, customer_id, total, due, issued, number in chunk:
            roll = pk * 7919 % 100
            if due < today:
                if roll < 80:
                    late = pk % 10 == 0
                    day = due + timedelta(days=pk % 21) if late else due - timedelta(pk % 20)
                    amount = total
                elif roll < 86:
                    day, amount = (
                        due + timedelta(days=pk % 15),
                        (total / 2).quantize(Decimal("0.01")),
                    )
                else:
                    counts["open"] += 1
                    continue
            elif roll < 33:
                day, amount = issued + timedelta(days=pk % 10), total
            else:
                counts["open"] += 1
                continue
            day = max(issued, min(day, today))
            plans.append((pk, customer_id, amount, day, number))
            counts["paid" if amount == total else "partial"] += 1
        with transaction.atomic():
            payments = Payment.objects.bulk_create(
                [
                    Payment(
                        company=company,
                        customer_id=customer_id,
                        received_on=day,
                        amount=amount,
                        currency="EUR",
                        method="transfer",
                        reference=f"VIR {number}",
                        recorded_by="bench-seed",
                    )
                    for _pk, customer_id, amount, day, number in plans
                ],
                batch_size=500,
            )
            PaymentAllocation.objects.bulk_create(
                [
                    PaymentAllocation(payment=payment, invoice_id=plan[0], amount=plan[2])
                    for payment, plan in zip(payments, plans, strict=True)
                ],
                batch_size=500,
            )
            totals = {pk: total for pk, _c, total, _d, _i, _n in chunk}
            rows_update(
                [
                    Invoice(
                        pk=pk,
                        settled_amount=amount,
                        settlement="paid" if amount == totals[pk] else "partial",
                    )
                    for pk, _c, amount, _d, _n in plans
                ],
                ["settled_amount", "settlement"],
            )
    return counts


def seed(customers: int, months: int) -> dict[str, Any]:
    from django.db import connection

    from facturier.billing import clock
    from facturier.billing.models import Invoice, OutboxMessage
    from facturier.billing.services import company_create, user_create
    from facturier.core.recurrence import add_months

    started = time.monotonic()
    company = company_create(actor=Actor.system("bench"), **COMPANY_FIELDS)
    user_create(company=company, username=USERNAME, password=PASSWORD, role="owner")
    today = clock.company_today(company)
    # A subscription anchored at `first` + 27 days still has exactly `months` periods due.
    first = add_months(today, -months) + timedelta(days=1)
    buyers = _customers(company, customers)
    t_customers = time.monotonic()
    subscriptions = _subscriptions(company, buyers, first)
    billed = _bill(first, today)
    t_billed = time.monotonic()
    # The worker would have rendered every document; the benchmark does not need the files.
    OutboxMessage.objects.filter(status="pending").update(status="sent", sent_at=clock.now())
    paid = _payments(company, today)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")  # what autovacuum does by the time it is in use
    issued = Invoice.objects.filter(status="issued")
    return {
        "company_id": company.pk,
        "today": today.isoformat(),
        "first_billing_date": first.isoformat(),
        "customers": customers,
        "subscriptions": subscriptions,
        "invoices": issued.count(),
        "overdue": issued.filter(due_date__lt=today, settlement__in=["open", "partial"]).count(),
        **{f"billing_{k}": v for k, v in billed.items()},
        **{f"settlement_{k}": v for k, v in paid.items()},
        "seconds_customers": round(t_customers - started, 1),
        "seconds_billing": round(t_billed - t_customers, 1),
        "seconds": round(time.monotonic() - started, 1),
    }


def _ids() -> dict[str, Any]:
    """Objects the page URLs are built from: the largest customer, a typical one."""
    from django.db.models import Count

    from facturier.billing.models import Company, Customer, Invoice

    company = Company.objects.get(legal_name=COMPANY_FIELDS["legal_name"])
    ranked = (
        Customer.objects.filter(company=company)
        .annotate(n=Count("invoices"))
        .order_by("-n", "pk")
        .values_list("pk", "n")
    )
    big, big_n = ranked[0]
    typical = Customer.objects.filter(company=company).order_by("pk").values_list("pk", flat=True)
    typical_pk = typical[len(typical) // 2]
    invoice = Invoice.objects.filter(company=company, status="issued").order_by("-pk").first()
    name = Customer.objects.get(pk=typical_pk).legal_name
    return {
        "customer_name": quote_plus(name.split()[0]),  # a word of a name, as people search
        "company": company.pk,
        "big_customer": big,
        "big_customer_invoices": big_n,
        "customer": typical_pk,
        "customer_invoices": Invoice.objects.filter(customer_id=typical_pk).count(),
        "invoice": invoice.pk if invoice else None,
    }


def _url(page: dict[str, Any], ids: dict[str, Any]) -> str:
    """A page's URL from its view name, e.g. {"view": "web:customer_detail", "args":
    ["{customer}"], "query": "?page=2"}; the braces name one of `_ids()`."""
    from django.urls import reverse

    args = [str(a).format(**ids) for a in page.get("args", [])]
    return reverse(page["view"], args=args) + page.get("query", "").format(**ids)


class _Queries:
    """A database execute wrapper: counts the queries of a request and times each one."""

    def __init__(self) -> None:
        self.count = 0
        self.timed: list[tuple[float, str]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.timed.append(((time.perf_counter() - t0) * 1000, sql))


def measure(pages: list[dict[str, Any]], requests: int, warmup: int) -> dict[str, Any]:
    """GET each page `warmup` + `requests` times through Django's test Client, signed in as
    the owner; times from before the request to the full response (middleware, sessions,
    templates, all queries included; no network)."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    ids = _ids()
    # A page that fails is reported (its status, no figures) and the others still measured.
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=USERNAME))
    out: list[dict[str, Any]] = []
    for page in pages:
        url = _url(page, ids)
        t0 = time.perf_counter()
        first = client.get(url)  # the first request: cold caches (e.g. the cash forecast)
        first_ms = (time.perf_counter() - t0) * 1000
        if first.status_code != 200:
            out.append({"name": page["name"], "url": url, "status": first.status_code})
            continue
        # A page that takes seconds is measured a few times only (the bench must end).
        repeat = requests if first_ms < SLOW_MS else 1
        for _ in range(warmup - 1 if repeat == requests else 0):
            client.get(url)
        # The queries of one request: an extra one, or a slow page's timed request.
        queries, slow = _Queries(), repeat < requests
        times = []
        for _ in range(repeat):
            with connection.execute_wrapper(queries) if slow else contextlib.nullcontext():
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
        if not slow:
            with connection.execute_wrapper(queries):
                response = client.get(url)
        slowest = sorted(queries.timed, reverse=True)[:3]
        times.sort()
        out.append(
            {
                "name": page["name"],
                "url": url,
                "status": response.status_code,
                "bytes": len(response.content),
                "queries": queries.count,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[max(0, round(0.95 * len(times)) - 1)], 1),
                "max_ms": round(times[-1], 1),
                "first_ms": round(first_ms, 1),
                "requests": repeat,
                "slowest_queries": [{"ms": round(ms, 1), "sql": sql[:600]} for ms, sql in slowest],
            }
        )
    return {"ids": ids, "vendor": connection.vendor, "pages": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--customers", type=int, default=10_000)
    p_seed.add_argument("--months", type=int, default=10)
    p_measure = sub.add_parser("measure")
    p_measure.add_argument("--pages", required=True, help="JSON list of {name, view, args, query}")
    p_measure.add_argument("--requests", type=int, default=50)
    p_measure.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    _setup()
    if args.command == "seed":
        result = seed(args.customers, args.months)
    else:
        result = measure(json.loads(args.pages), args.requests, args.warmup)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
