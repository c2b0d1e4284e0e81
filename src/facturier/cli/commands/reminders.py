"""`facturier reminders …`: the dunning pass, the reminder policy, reminders by hand."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from facturier.cli.main import cli, friendly_errors
from facturier.cli.params import (
    DATE,
    actor,
    company_option,
    resolve_company,
    resolve_customer,
    resolve_invoice,
)
from facturier.core.dunning import day_label
from facturier.core.money import format_amount, format_date


@cli.group()
def reminders() -> None:
    """Reminders (relances) of unpaid invoices."""


@reminders.command("run")
@click.option("--as-of", "as_of", type=DATE, help="Run as if today were this date.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; change nothing.")
@click.option("--company", "company_ref", metavar="SIREN|ID", help="Only this company.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as strings).")
@friendly_errors
def run(as_of: date | None, dry_run: bool, company_ref: str | None, as_json: bool) -> None:
    """Send each unpaid invoice the reminder due today (each level at most once)."""
    from facturier.billing.services.dunning import reminders_run

    company = resolve_company(company_ref) if company_ref is not None else None
    summary = reminders_run(as_of=as_of, company=company, dry_run=dry_run, actor=actor())
    if as_json:
        click.echo(json.dumps({
            "dry_run": dry_run,
            "sent": {str(k): v for k, v in sorted(summary.sent.items())},
            "skipped": dict(sorted(summary.skipped.items())),
            "outcomes": [
                {"invoice": o.number, "customer": o.customer, "outcome": o.outcome,
                 "level": o.level, "name": o.name, "reason": o.reason,
                 "days_late": o.days_late, "amount_due": str(o.amount_due),
                 "penalty": str(o.penalty), "indemnity": str(o.indemnity),
                 "reminder_id": o.reminder_id}
                for o in summary.outcomes
            ],
        }, indent=2, ensure_ascii=False))  # fmt: skip
    else:
        for o in summary.outcomes:
            what = "would send" if dry_run and o.outcome == "sent" else o.outcome
            click.echo(
                f"{what:<10} {o.number:<16} {o.customer[:26]:<26} {o.level or '':>2} "
                f"{o.name[:20]:<20} {o.days_late:>4} d late {format_amount(o.amount_due):>14} "
                f"{o.reason}"
            )
        levels = ", ".join(f"level {k}: {v}" for k, v in sorted(summary.sent.items()))
        skipped = ", ".join(f"{k}: {v}" for k, v in sorted(summary.skipped.items()))
        prefix = "Dry run (nothing changed): would send" if dry_run else "Sent"
        click.echo(
            f"{prefix} {summary.total_sent} reminders{f' ({levels})' if levels else ''}; "
            f"skipped {sum(summary.skipped.values())}{f' ({skipped})' if skipped else ''}."
        )


# --- the policy ---------------------------------------------------------------------------


def _policy_rows(levels: list[Any]) -> list[dict[str, Any]]:
    return [
        {"level": lv.level, "name": lv.name, "days": lv.days, "enabled": lv.enabled,
         "attach_invoice": lv.attach_invoice, "copy_sales_rep": lv.copy_sales_rep,
         "formal_notice": lv.formal_notice}
        for lv in levels
    ]  # fmt: skip


def _print_policy(levels: list[Any], as_json: bool) -> None:
    rows = _policy_rows(levels)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        flags = [
            "on" if r["enabled"] else "off",
            "invoice attached" if r["attach_invoice"] else "no attachment",
        ]
        flags += ["sales rep copied"] if r["copy_sales_rep"] else []
        flags += ["formal notice"] if r["formal_notice"] else []
        click.echo(
            f"{r['level']:>2}  {day_label(r['days']):<6} {r['name'][:30]:<30} {', '.join(flags)}"
        )


@reminders.group("policy", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@company_option
@click.pass_context
@friendly_errors
def policy(ctx: click.Context, as_json: bool, company_ref: str | None) -> None:
    """Show the reminder policy: one level per line, sent N days after the due date (J+N)."""
    if ctx.invoked_subcommand is not None:
        return
    from facturier.billing.services.dunning import reminder_policy

    _print_policy(reminder_policy(resolve_company(company_ref)), as_json)


@policy.command("set")
@click.option("--level", type=int, required=True, help="The level to change (see `policy`).")
@click.option("--name", help="Its name.")
@click.option("--days", type=int, help="Days after the due date (negative: before).")
@click.option("--enabled/--disabled", default=None, help="Send it or not.")
@click.option("--attach/--no-attach", default=None, help="Attach the invoice PDF.")
@click.option("--copy-rep/--no-copy-rep", default=None, help="Copy the sales rep.")
@click.option("--formal-notice/--no-formal-notice", default=None, help="Make it the formal notice.")
@company_option
@friendly_errors
def policy_set(
    level: int,
    name: str | None,
    days: int | None,
    enabled: bool | None,
    attach: bool | None,
    copy_rep: bool | None,
    formal_notice: bool | None,
    company_ref: str | None,
) -> None:
    """Change one level; the whole policy is checked again (days rising with the level, at
    most one formal notice and it comes last)."""
    from facturier.billing.services.dunning import reminder_level_change, reminder_policy

    given = {
        "name": name, "days": days, "enabled": enabled, "attach_invoice": attach,
        "copy_sales_rep": copy_rep, "formal_notice": formal_notice,
    }  # fmt: skip
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise click.UsageError("nothing to change: give --days, --name, --enabled/--disabled…")
    company = resolve_company(company_ref)
    reminder_level_change(company, level, by=actor(), **changes)
    _print_policy(reminder_policy(company), as_json=False)


@policy.command("load")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@company_option
@friendly_errors
def policy_load(path: Path, company_ref: str | None) -> None:
    """Replace the whole policy from a JSON file (the format `policy --json` prints)."""
    from facturier.billing.services.dunning import LevelData, reminder_policy_set

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
        rows = json.loads(text)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read a JSON policy: {exc}", param_hint="PATH") from exc
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise click.BadParameter("a JSON list of levels is expected", param_hint="PATH")
    fields = set(LevelData.__dataclass_fields__)
    levels = []
    for i, row in enumerate(rows, start=1):
        unknown = set(row) - fields
        missing = {"level", "name", "days"} - set(row)
        if unknown or missing:
            what = f"unknown {sorted(unknown)}" if unknown else f"missing {sorted(missing)}"
            raise click.BadParameter(f"level #{i}: {what}", param_hint="PATH")
        for key, value in row.items():
            wrong = _json_type_error(key, value)
            if wrong:
                raise click.BadParameter(f"level #{i}: '{key}' {wrong}", param_hint="PATH")
        levels.append(LevelData(**row))
    company = resolve_company(company_ref)
    _print_policy(reminder_policy_set(company, levels, by=actor()), as_json=False)


def _json_type_error(key: str, value: Any) -> str:
    """Why a level's JSON value has the wrong type ('' when right): named here, with its
    field, rather than as the database's bare "“no” value must be True or False"."""
    if key == "name":
        return "" if isinstance(value, str) else f"must be a text, not {json.dumps(value)}"
    if key in ("level", "days"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else f"must be a whole number, not {json.dumps(value)}"
    return "" if isinstance(value, bool) else f"must be true or false, not {json.dumps(value)}"


@policy.command("reset")
@company_option
@friendly_errors
def policy_reset(company_ref: str | None) -> None:
    """Put the default policy back (J-3 off, J+7, J+15, formal notice J+30)."""
    from facturier.billing.services.dunning import default_levels, reminder_policy_set

    company = resolve_company(company_ref)
    _print_policy(reminder_policy_set(company, default_levels(), by=actor()), as_json=False)


# --- by hand and lists --------------------------------------------------------------------


@reminders.command("send")
@click.argument("number")
@company_option
@friendly_errors
def send(number: str, company_ref: str | None) -> None:
    """Send a reminder for an unpaid invoice now, by hand."""
    from facturier.billing.services.dunning import reminder_send_now

    inv = resolve_invoice(resolve_company(company_ref), number)
    reminder = reminder_send_now(inv, by=actor())
    click.echo(
        f"Reminder queued for {inv.number}: {format_amount(reminder.amount_due, inv.currency)} "
        f"due, {_lateness(reminder.days_late, reminder.sent_on, inv.due_date)}."
    )


def _lateness(days_late: int, sent_on: date, due_date: date | None) -> str:
    """How late the invoice is ("12 days late"), or that it is not due yet: a reminder sent by
    hand before the due date is not "0 days late"."""
    if days_late > 0:
        return f"{days_late} day{'s' if days_late > 1 else ''} late"
    if due_date is None or sent_on >= due_date:
        return "due today, not late yet"
    return f"not due yet (due on {format_date(due_date)})"


def reminder_lines(reminders: Any) -> list[str]:
    """One line per reminder (also used by `invoices show`)."""
    out = []
    for r in reminders:
        what = "by hand" if r.manual else f"level {r.level}"
        claim = ""
        if r.penalty or r.indemnity:
            claim = (
                f", penalties {format_amount(r.penalty)}, indemnity {format_amount(r.indemnity)}"
            )
        state = r.message.status if r.message else ""
        out.append(
            f"{format_date(r.sent_on)}  {r.invoice.number:<16} {what:<8} {r.days_late:>4} d late, "
            f"{format_amount(r.amount_due)} due{claim}  {state} {r.created_by}"
        )
    return out


@reminders.command("list")
@click.argument("number", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@company_option
@friendly_errors
def list_(number: str | None, as_json: bool, company_ref: str | None) -> None:
    """The reminders sent (of one invoice, with where each level stands)."""
    from facturier.billing import clock
    from facturier.billing.services.dunning import reminder_schedule, reminders_list

    company = resolve_company(company_ref)
    inv = resolve_invoice(company, number) if number else None
    rows = list(reminders_list(company=company, invoice=inv))
    schedule = reminder_schedule(inv, clock.company_today(company)) if inv else []
    if as_json:
        click.echo(json.dumps({
            "reminders": [
                {"id": r.pk, "invoice": r.invoice.number, "level": r.level, "manual": r.manual,
                 "sent_on": r.sent_on.isoformat(), "days_late": r.days_late,
                 "amount_due": str(r.amount_due), "penalty": str(r.penalty),
                 "indemnity": str(r.indemnity), "by": r.created_by,
                 "email": r.message.status if r.message else None}
                for r in rows
            ],
            "schedule": [
                {"level": s.level, "name": s.name, "days": s.days, "date": s.on.isoformat(),
                 "status": s.status}
                for s in schedule
            ],
        }, indent=2, ensure_ascii=False))  # fmt: skip
        return
    for line in reminder_lines(rows) or ["No reminders."]:
        click.echo(line)
    for s in schedule:
        click.echo(
            f"  level {s.level} {day_label(s.days):<6} {s.name[:30]:<30} "
            f"{s.status} {format_date(s.on)}"
        )


@reminders.command("pause")
@click.argument("customer_ref", metavar="CUSTOMER")
@click.option("--resume", is_flag=True, help="Resume the automatic reminders.")
@company_option
@friendly_errors
def pause(customer_ref: str, resume: bool, company_ref: str | None) -> None:
    """Pause (or --resume) the automatic reminders of a customer (code or SIREN)."""
    from facturier.billing.services.dunning import customer_reminders_pause

    customer = resolve_customer(resolve_company(company_ref), customer_ref, option="CUSTOMER")
    customer_reminders_pause(customer, paused=not resume, by=actor())
    state = "resumed" if resume else "paused"
    click.echo(f"Automatic reminders {state} for {customer.legal_name}.")
