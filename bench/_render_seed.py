"""The Django side of the rendering benchmark, run in its own process with the case's
environment (DATABASE_URL, FACTURIER_DATA_DIR), like bench/_seed.py.

    python bench/_render_seed.py seed N [--layout classic]
    python bench/_render_seed.py check N

`seed` issues N one-line invoices through the billing run (each queues its `document.render`
outbox row, as in production) and stops there: nothing is rendered. Their subscriptions do not
send invoices, so the workers measured only render and archive. Each subcommand prints one
JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import _seed
from facturier.billing.services.actors import Actor

RENDER = "document.render"


def seed(n: int, layout: str) -> dict[str, Any]:
    from facturier.billing.models import Company, OutboxMessage, Subscription
    from facturier.billing.services import company_update
    from facturier.billing.services.billing_run import billing_run

    seeded = _seed.seed(n, customers=min(n, 200), lines=1)
    company = Company.objects.get(pk=seeded["company_id"])
    company_update(company, actor=Actor.system("bench"), invoice_layout=layout)
    # Render only: an invoice email would be queued after each render otherwise.
    Subscription.objects.filter(company=company).update(send_invoices=False)
    summary = billing_run(company=company, worker="bench-seed", keep_outcomes=False)
    queued = OutboxMessage.objects.filter(kind=RENDER, status="pending").count()
    if summary.issued != n or queued != n:
        raise SystemExit(f"seeding issued {summary.issued} and queued {queued} renders, not {n}")
    return {"issued": summary.issued, "queued": queued, "layout": layout}


def check(n: int) -> dict[str, Any]:
    """What the workers left: one archive row per invoice, every render row done."""
    from django.db.models import Count, Max, Min

    from facturier.billing.models import ArchivedDocument, OutboxMessage

    archived = ArchivedDocument.objects.aggregate(
        count=Count("id"), first=Min("created_at"), last=Max("created_at")
    )
    by_status = dict(
        OutboxMessage.objects.filter(kind=RENDER)
        .values_list("status")
        .annotate(c=Count("id"))
        .values_list("status", "c")
    )
    others = OutboxMessage.objects.exclude(kind=RENDER).count()
    problems = []
    if archived["count"] != n:
        problems.append(f"archived {archived['count']} != {n}")
    if by_status.get("sent", 0) != n:
        problems.append(f"render rows by status {by_status}")
    span = None
    if archived["count"] and archived["count"] > 1:
        span = (archived["last"] - archived["first"]).total_seconds()
    return {
        "archived": archived["count"],
        "render_rows": by_status,
        "other_outbox_rows": others,
        # Between the first and the last archive row: the rendering itself, without the
        # workers' start-up (Python, Django, fonts) and the first document.
        "span_s": round(span, 3) if span is not None else None,
        "ok": not problems,
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("n", type=int)
    p_seed.add_argument("--layout", default="classic")
    p_check = sub.add_parser("check")
    p_check.add_argument("n", type=int)
    args = parser.parse_args(argv)
    _seed._setup()
    result = seed(args.n, args.layout) if args.command == "seed" else check(args.n)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
