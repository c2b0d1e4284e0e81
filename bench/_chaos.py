"""The Django side of the chaos run (bench/chaos.py), run in its own process with the run's
DATABASE_URL and FACTURIER_DATA_DIR: the harness never imports Django (its connection would
not survive the PostgreSQL restart it causes).

    python bench/_chaos.py seed N
    python bench/_chaos.py verify RECEIVED.json

Each subcommand prints one JSON object on stdout. `verify` reads the Message-IDs the SMTP
server received (a JSON object: Message-ID → copies) and checks every invariant the chaos
must not break; `violations` lists what broke.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
    import django

    django.setup()


def seed(n: int) -> dict[str, Any]:
    """One company, 200 customers (each with a billing email, the company with an accounting
    address), `n` monthly subscriptions with one period due today."""
    from bench._seed import seed as bench_seed

    return bench_seed(n, customers=200, lines=1)


def _numbering(violations: list[str]) -> dict[str, int]:
    """Gapless, and ordered by date and time, in every series and year (invariants 1, 2)."""
    from facturier.billing.models import Invoice

    rows = (
        Invoice.objects.filter(status="issued")
        .order_by("series_id", "series_year", "sequence")
        .values_list("series_id", "series_year", "sequence", "issue_date", "issued_at", "number")
    )
    gaps = disorder = 0
    for _key, group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        seqs = list(group)
        expected = list(range(1, len(seqs) + 1))
        if [r[2] for r in seqs] != expected:
            gaps += len(set(expected) ^ {r[2] for r in seqs})
        for before, after in itertools.pairwise(seqs):
            if after[3] < before[3] or after[4] < before[4]:
                disorder += 1
                if disorder <= 3:
                    violations.append(f"{after[5]} is dated before {before[5]}")
    if gaps:
        violations.append(f"{gaps} gaps or duplicates in the numbers")
    return {"gaps": gaps, "disorder": disorder}


def _billing(n: int, violations: list[str]) -> dict[str, int]:
    """Each due period billed exactly once, each by an issued invoice (invariant 5)."""
    from django.db.models import Count

    from facturier.billing import clock
    from facturier.billing.models import BilledPeriod, Company, Invoice, RunItem, Subscription

    periods = BilledPeriod.objects.count()
    billed_twice = (
        BilledPeriod.objects.values("subscription_id", "start")
        .annotate(c=Count("pk"))
        .filter(c__gt=1)
        .count()
    )
    subs = Subscription.objects.count()
    unbilled = Subscription.objects.exclude(billed_periods__isnull=False).count()
    still_due = sum(
        Subscription.objects.filter(
            company=c, status="active", next_billing_date__lte=clock.company_today(c)
        ).count()
        for c in Company.objects.all()
    )
    issued = Invoice.objects.filter(status="issued").count()
    drafts = Invoice.objects.filter(status="draft").count()
    invoiced_items = Counter(
        RunItem.objects.filter(outcome="invoiced").values_list("subscription_id", "period_start")
    )
    out = {
        "subscriptions": subs, "periods": periods, "invoices": issued, "drafts": drafts,
        "billed_twice": billed_twice, "unbilled": unbilled, "still_due": still_due,
        "failed_items": RunItem.objects.filter(outcome="failed").count(),
        "run_items_twice": sum(1 for c in invoiced_items.values() if c > 1),
    }  # fmt: skip
    if subs != n or periods != n or issued != n:
        violations.append(f"{n} periods due: {periods} billed, {issued} invoices issued")
    for name in ("drafts", "billed_twice", "unbilled", "still_due", "failed_items"):
        if out[name]:
            violations.append(f"{name}: {out[name]}")
    if out["run_items_twice"]:
        violations.append(f"{out['run_items_twice']} periods invoiced by two runs' ledgers")
    return out


def _archives(violations: list[str]) -> dict[str, int]:
    """One archive per document, and no file in the archive that no row names."""
    from django.conf import settings

    from facturier.billing.models import ArchivedDocument, Invoice

    issued = Invoice.objects.filter(status="issued")
    missing = issued.filter(archive__isnull=True).count()
    names = set()
    for pdf, xml in ArchivedDocument.objects.values_list("pdf_name", "xml_name"):
        names.update((pdf, xml))
    root = Path(settings.MEDIA_ROOT)
    files = {str(p.relative_to(root)) for p in (root / "invoices").rglob("*") if p.is_file()}
    strays = sorted(files - names)
    absent = sorted(names - files)
    out = {
        "archives": ArchivedDocument.objects.count(), "archives_missing": missing,
        "stray_files": len(strays), "archive_files_absent": len(absent),
    }  # fmt: skip
    if missing:
        violations.append(f"{missing} issued documents without their archive")
    if strays:
        violations.append(f"stray_files: {len(strays)} stray archive files, e.g. {strays[:3]}")
    if absent:
        violations.append(f"{len(absent)} archived files missing, e.g. {absent[:3]}")
    return out


def _emails(received: dict[str, int], violations: list[str]) -> dict[str, int]:
    """Every invoice email delivered at least once (counted at the SMTP server by
    Message-ID); the copies beyond the first are the duplicates at-least-once allows."""
    from facturier.billing.models import DeliveryAttempt, Invoice, OutboxMessage

    rows = list(
        OutboxMessage.objects.filter(kind="email.invoice").values_list("pk", "status", "attempts")
    )
    ids = {f"<outbox-{pk}@facturier>" for pk, _s, _a in rows}
    lost = sorted(i for i in ids if received.get(i, 0) == 0)
    invoices = Invoice.objects.filter(status="issued").count()
    statuses = Counter(s for _pk, s, _a in rows)
    # The log never under-reports: the row counts an attempt for every copy received.
    under = sum(1 for pk, _s, a in rows if a < received.get(f"<outbox-{pk}@facturier>", 0))
    out = {
        "invoice_emails": len(rows), "delivered": len(ids) - len(lost), "lost": len(lost),
        "duplicates": sum(max(0, received.get(i, 0) - 1) for i in ids),
        "emails_pending": statuses.get("pending", 0), "emails_failed": statuses.get("failed", 0),
        "log_under_reports": under, "max_attempts": max((a for *_x, a in rows), default=0),
        "started_unknown": DeliveryAttempt.objects.filter(outcome="started").count(),
    }  # fmt: skip
    if len(rows) != invoices:
        violations.append(f"{invoices} invoices but {len(rows)} invoice emails queued")
    if lost:
        violations.append(f"{len(lost)} invoice emails never delivered, e.g. {lost[:3]}")
    if out["emails_failed"] or out["emails_pending"]:
        violations.append(f"{statuses} invoice emails not all sent")
    if under:
        violations.append(f"{under} emails received more often than the log shows attempts")
    return out


def _runs(violations: list[str]) -> dict[str, int]:
    """No run left running; an interrupted run's counts are what it committed."""
    from django.db.models import Count, Q

    from facturier.billing.models import BillingRun

    runs = BillingRun.objects.annotate(
        committed=Count("items", filter=Q(items__outcome="invoiced"))
    )
    by_status = Counter(r.status for r in runs)
    miscounted = [r.pk for r in runs if r.issued != r.committed]
    out = {
        "runs": len(runs), "runs_running": by_status.get("running", 0),
        "runs_interrupted": by_status.get("interrupted", 0),
        "runs_miscounted": len(miscounted),
    }  # fmt: skip
    if out["runs_running"]:
        violations.append(f"{out['runs_running']} billing runs left running")
    if miscounted:
        violations.append(f"runs {miscounted[:5]} count other than what they committed")
    return out


def verify(n: int, received_path: Path) -> dict[str, Any]:
    received: dict[str, int] = json.loads(received_path.read_text())
    violations: list[str] = []
    out: dict[str, Any] = {}
    out |= _billing(n, violations)
    out |= _numbering(violations)
    out |= _archives(violations)
    out |= _emails(received, violations)
    out |= _runs(violations)
    out["violations"] = violations
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("seed").add_argument("n", type=int)
    p_verify = sub.add_parser("verify")
    p_verify.add_argument("n", type=int)
    p_verify.add_argument("received", type=Path)
    args = parser.parse_args(argv)
    _setup()
    result = seed(args.n) if args.command == "seed" else verify(args.n, args.received)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
