"""`facturier billing run`, `facturier billing runs`, `facturier worker`, `facturier forecast`."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click

from facturier.cli.main import EXIT_FAILED, cli, friendly_errors
from facturier.cli.params import DATE, SECONDS, actor, company_option, resolve_company
from facturier.core.money import format_amount, format_date


@cli.group()
def billing() -> None:
    """The billing run: turn due periods into invoices."""


@billing.command("run")
@click.option("--as-of", "as_of", type=DATE, help="Bill as if today were this date.")
@click.option("--dry-run", is_flag=True, help="Show what would be issued; change nothing.")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 2000))
@click.option("--company", "company_ref", metavar="SIREN|ID", help="Only this company.")
@click.option("--quiet", "-q", is_flag=True, help="Print the summary only.")
@friendly_errors
def run(
    as_of: date | None, dry_run: bool, batch_size: int, company_ref: str | None, quiet: bool
) -> None:
    """Issue every invoice due (catching up missed periods); exit 1 if anything failed."""
    from facturier.billing import clock
    from facturier.billing.models import Company
    from facturier.billing.services.billing_run import billing_run, subscriptions_due

    company = resolve_company(company_ref) if company_ref is not None else None
    companies = [company] if company else list(Company.objects.all())
    due = sum(subscriptions_due(c, as_of or clock.company_today(c)) for c in companies)
    with click.progressbar(
        length=due, label="Billing", file=sys.stderr, show_pos=True, hidden=not sys.stderr.isatty()
    ) as bar:
        summary = billing_run(
            as_of=as_of, company=company, dry_run=dry_run, batch_size=batch_size,
            progress=bar.update, keep_outcomes=not quiet, worker=actor().name,
        )  # fmt: skip
    for o in summary.outcomes:  # with --quiet, only the failures were kept
        period = (
            f"{format_date(o.period_start)}–{format_date(o.period_end)}"
            if o.period_start and o.period_end
            else ""
        )
        amount = format_amount(_dec(o.total)) if o.total else ""
        # A dry run numbers inside a rolled-back transaction: its numbers mean nothing.
        label = "(would issue)" if dry_run and o.outcome == "invoiced" else o.number or ""
        click.echo(
            f"{o.outcome:<9} {label:<16} {o.customer[:26]:<26} {o.subscription[:24]:<24} "
            f"{period:<23} {amount:>14} {o.reason}"
        )
    prefix = "Dry run (nothing changed): would issue" if dry_run else "Issued"
    click.echo(
        f"{prefix} {summary.issued}, drafted {summary.drafted}, skipped {summary.skipped}, "
        f"failed {summary.failed}."
    )
    if summary.failed:
        sys.exit(EXIT_FAILED)


@billing.command("runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.option("--status", type=click.Choice(["running", "finished", "interrupted"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def runs(limit: int, status: str | None, as_json: bool) -> None:
    """The billing runs, newest first: status (running, finished, or interrupted when its
    process died), who ran it and what it did. Runs whose process died are closed first."""
    from facturier.billing.models import BillingRun
    from facturier.billing.services.run_ledger import runs_close_abandoned

    runs_close_abandoned()
    qs = BillingRun.objects.filter(dry_run=False).order_by("-started_at", "-pk")
    if status:
        qs = qs.filter(status=status)
    rows = list(qs[:limit])
    if as_json:
        click.echo(json.dumps([
            {"id": r.pk, "status": r.status, "started_at": r.started_at.isoformat(),
             "finished_at": r.finished_at.isoformat() if r.finished_at else None,
             "worker": r.worker, "host": r.host, "pid": r.pid, "due": r.due,
             "issued": r.issued, "drafted": r.drafted, "skipped": r.skipped, "failed": r.failed}
            for r in rows
        ], indent=2))  # fmt: skip
        return
    for r in rows:
        click.echo(
            f"{r.pk:>6} {r.started_at:%Y-%m-%d %H:%M:%S} UTC {r.status:<11} "
            f"issued {r.issued:>6}  drafted {r.drafted:>4}  skipped {r.skipped:>4}  "
            f"failed {r.failed:>4}  {r.worker}"
        )


def _dec(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


@cli.command()
@click.option("--until-idle", is_flag=True, help="Do all due work, then exit.")
@click.option(
    "--tick", type=SECONDS, default=30.0, show_default=True, help="Seconds between idle checks."
)
def worker(until_idle: bool, tick: float) -> None:
    """Run due work: billing at each company's hour, and the outbox. SIGTERM stops it cleanly
    after the current unit; any number of workers can run at once."""
    from facturier.worker.loop import run_worker

    done = run_worker(until_idle=until_idle, tick=tick)
    if until_idle:
        click.echo(f"Idle: {done} units of work done.")


@cli.command()
@click.option("--months", default=6, show_default=True, type=click.IntRange(1, 24))
@click.option("--as-of", "as_of", type=DATE, help="Forecast from this date (default today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@company_option
@friendly_errors
def forecast(months: int, as_of: date | None, as_json: bool, company_ref: str | None) -> None:
    """The invoices to come (never numbered) and their totals per month."""
    from facturier.billing import clock
    from facturier.billing.forecast import forecast as compute
    from facturier.core.forecast import monthly_totals

    company = resolve_company(company_ref)
    items = compute(company=company, today=as_of or clock.company_today(company), months=months)
    totals = monthly_totals(items)
    if as_json:
        click.echo(json.dumps({
            "invoices": [
                {"date": i.on.isoformat(), "subscription": i.subscription,
                 "customer": i.customer, "net": str(i.net), "vat": str(i.vat),
                 "total": str(i.gross), "estimated": i.estimated}
                for i in items
            ],
            "months": [
                {"month": m.month, "count": m.count, "net": str(m.net), "vat": str(m.vat),
                 "total": str(m.gross)}
                for m in totals
            ],
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return
    for i in items:
        mark = " (estimated)" if i.estimated else ""
        click.echo(
            f"{format_date(i.on)}  {i.customer[:28]:<28} {i.subscription[:28]:<28} "
            f"{format_amount(i.net):>14} {format_amount(i.vat):>12} {format_amount(i.gross):>14}"
            f"{mark}"
        )
    click.echo("")
    for m in totals:
        click.echo(
            f"{m.month}  {m.count:>4} invoices  {format_amount(m.net):>14} excl. VAT  "
            f"{format_amount(m.gross):>14} incl. VAT"
        )
