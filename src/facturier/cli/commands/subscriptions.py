"""`facturier subscriptions …`: recurring profiles from the command line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import click

from facturier.cli.main import cli, friendly_errors
from facturier.cli.params import (
    AMOUNT,
    DATE,
    actor,
    company_option,
    resolve_company,
    resolve_customer,
)
from facturier.core.money import format_date
from facturier.core.recurrence import PRESETS

if TYPE_CHECKING:
    from facturier.billing.models import Company, Subscription
    from facturier.billing.services.subscriptions import SubscriptionLineData

UNITS = ["day", "week", "month", "year", "semi_monthly"]


@cli.group()
def subscriptions() -> None:
    """Recurring invoices (abonnements)."""


def _sub(company: Company, sub_id: int) -> Subscription:
    from facturier.billing.models import Subscription

    sub = Subscription.objects.filter(company=company, pk=sub_id).first()
    if sub is None:
        raise click.ClickException(f"no subscription with id {sub_id}")
    return sub


@subscriptions.command("list")
@company_option
@friendly_errors
def list_(company_ref: str | None) -> None:
    """List subscriptions with their next billing date."""
    from facturier.billing.models import Subscription

    company = resolve_company(company_ref)
    qs = Subscription.objects.filter(company=company).select_related("customer").order_by("pk")
    for s in qs:
        nxt = format_date(s.next_billing_date) if s.next_billing_date else "-"
        every = f"{s.interval} {s.frequency_unit}"
        click.echo(
            f"{s.pk:>5} {s.status:<9} {s.customer.legal_name[:26]:<26} {s.name[:30]:<30} "
            f"{every:<14} next {nxt}" + ("  (awaiting approval)" if s.awaiting_approval else "")
        )


def _parse_line(spec: str) -> SubscriptionLineData:
    from facturier.billing.services.subscriptions import SubscriptionLineData

    parts = [p.strip() for p in spec.split(";")]
    if not 3 <= len(parts) <= 5:
        raise click.BadParameter(
            f"expected 'DESCRIPTION;QUANTITY;UNIT PRICE[;VAT CODE[;MODE]]', not {len(parts)} "
            f"fields in '{spec}'",
            param_hint="--line",
        )
    try:
        quantity = Decimal(parts[1].replace(",", "."))
        price = Decimal(parts[2].replace(",", ".").replace(" ", ""))
    except InvalidOperation as exc:
        raise click.BadParameter(f"not a number in '{spec}'", param_hint="--line") from exc
    return SubscriptionLineData(
        description=parts[0], quantity=quantity, unit_price=price,
        vat_code=parts[3] if len(parts) > 3 and parts[3] else None,
        mode=parts[4] if len(parts) > 4 and parts[4] else "fixed",
    )  # fmt: skip


@subscriptions.command("create")
@click.option("--customer", "customer_ref", required=True, help="Customer code or SIREN.")
@click.option("--name", required=True, help="What is billed, e.g. 'Hébergement Pro'.")
@click.option(
    "--line", "lines", multiple=True, required=True,
    help="DESCRIPTION;QUANTITY;UNIT PRICE[;VAT CODE[;fixed|metered|to_confirm]]. Repeatable.",
)  # fmt: skip
@click.option("--every", type=click.Choice(UNITS), default="month", show_default=True)
@click.option("--interval", type=click.IntRange(1, 99), default=1, show_default=True)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="Overrides --every/--interval.")
@click.option("--start", "anchor", type=DATE, required=True, help="First period start.")
@click.option("--arrears", is_flag=True, help="Bill after each period (default: in advance).")
@click.option(
    "--days-before",
    type=click.IntRange(0, 60),
    help="In advance: bill N days before each period (default 0).",
)
@click.option(
    "--days", "semi_days", metavar="D1,D2", help="Twice a month: the two days (default 1,15)."
)
@click.option(
    "--service-start", type=DATE, help="Service start before --start: a prorated first period."
)
@click.option("--count", type=click.IntRange(1), help="End after this many invoices.")
@click.option("--until", type=DATE, help="Last day of service.")
@click.option("--review", is_flag=True, help="Keep each invoice as a draft for review.")
@company_option
@friendly_errors
def create(
    customer_ref: str, name: str, lines: tuple[str, ...], every: str, interval: int,
    preset: str | None, anchor: date, arrears: bool, days_before: int | None,
    semi_days: str | None, service_start: date | None, count: int | None, until: date | None,
    review: bool, company_ref: str | None,
) -> None:  # fmt: skip
    """Create a recurring invoice; the billing run issues it from then on."""
    from facturier.billing.services.subscriptions import subscription_create

    if preset:
        freq = PRESETS[preset]
        every, interval = str(freq.unit), freq.interval
    if days_before is not None and arrears:
        raise click.UsageError(
            "--days-before is for billing in advance: it cannot go with --arrears"
        )
    end_kind = "count" if count else "until" if until else "never"
    extra = {}
    if semi_days is not None:
        try:
            day1, day2 = (int(x) for x in semi_days.split(","))
        except ValueError as exc:
            raise click.BadParameter("expected two days, e.g. 1,15", param_hint="--days") from exc
        if every != "semi_monthly":
            raise click.UsageError("--days is for twice a month: give --every semi_monthly too")
        extra = {"semi_monthly_day1": day1, "semi_monthly_day2": day2}
    parsed_lines = [_parse_line(x) for x in lines]
    company = resolve_company(company_ref)
    customer = resolve_customer(company, customer_ref)
    sub = subscription_create(
        customer=customer, name=name, lines=parsed_lines,
        frequency_unit=every, interval=interval, anchor=anchor, actor=actor(),
        timing="arrears" if arrears else "advance", end_kind=end_kind, end_count=count,
        end_date=until, review_before_issue=review, days_before=days_before or 0,
        start=service_start, **extra,
    )  # fmt: skip
    nxt = format_date(sub.next_billing_date) if sub.next_billing_date else "-"
    click.echo(f"Subscription {sub.pk} created; next billing date {nxt}.")
    due = sub.billed_periods.count() == 0 and _due_now(sub)
    if due:
        click.echo(
            f"{due} period(s) already due: the next billing run bills them at once "
            "(catch-up, each invoice states its period)."
        )


def _due_now(sub: Subscription) -> int:
    from facturier.billing import clock
    from facturier.billing.services.subscriptions import schedule_of
    from facturier.core.recurrence import periods_due

    return len(periods_due(schedule_of(sub), today=clock.company_today(sub.company)))


@subscriptions.command("approve")
@click.argument("sub_id", type=int)
@company_option
@friendly_errors
def approve(sub_id: int, company_ref: str | None) -> None:
    """Approve a subscription a sales rep set up or re-priced: from the next billing run its
    invoices are issued instead of prepared as drafts."""
    from facturier.billing.services.subscriptions import subscription_approve

    sub = _sub(resolve_company(company_ref), sub_id)
    if not sub.awaiting_approval:
        click.echo(f"Subscription {sub.pk} does not await approval: nothing to do.")
        return
    subscription_approve(sub, actor=actor())
    click.echo(f"Subscription {sub.pk} approved; next billing date {_next(sub)}.")


@subscriptions.command("pause")
@click.argument("sub_id", type=int)
@click.option("--from", "start", type=DATE, required=True)
@click.option("--until", "end", type=DATE, help="Last paused day (default: until resumed).")
@company_option
@friendly_errors
def pause(sub_id: int, start: date, end: date | None, company_ref: str | None) -> None:
    """Pause billing; the periods inside the pause are recorded as skipped."""
    from facturier.billing.services.subscriptions import subscription_pause

    sub = subscription_pause(
        _sub(resolve_company(company_ref), sub_id),
        start=start,
        end=end,
        actor=actor(),
    )
    click.echo(f"Paused; next billing date {_next(sub)}.")


@subscriptions.command("resume")
@click.argument("sub_id", type=int)
@click.option("--on", type=DATE, required=True, help="First day billed again.")
@company_option
@friendly_errors
def resume(sub_id: int, on: date, company_ref: str | None) -> None:
    """Resume a paused subscription on the same anchor."""
    from facturier.billing.services.subscriptions import subscription_resume

    sub = subscription_resume(_sub(resolve_company(company_ref), sub_id), on=on, actor=actor())
    click.echo(f"Resumed; next billing date {_next(sub)}.")


@subscriptions.command("cancel")
@click.argument("sub_id", type=int)
@click.option("--now", "now_", is_flag=True, help="Stop now instead of at the period end.")
@click.option("--credit", is_flag=True, help="With --now: credit the days already invoiced.")
@company_option
@friendly_errors
def cancel(sub_id: int, now_: bool, credit: bool, company_ref: str | None) -> None:
    """Cancel at the end of the current period (or now, optionally crediting the days
    already invoiced)."""
    from facturier.billing.services.subscriptions import subscription_cancel

    if credit and not now_:
        raise click.UsageError("--credit goes with --now")
    sub = subscription_cancel(
        _sub(resolve_company(company_ref), sub_id),
        actor=actor(),
        at_period_end=not now_,
        credit=credit,
    )
    cut = format_date(sub.cancelled_from) if sub.cancelled_from else "-"
    click.echo(f"Cancelled: nothing billed from {cut} on.")


@subscriptions.command("change")
@click.argument("sub_id", type=int)
@click.option("--line", "position", type=int, default=1, show_default=True)
@click.option("--from", "effective", type=DATE, required=True)
@click.option("--quantity", type=AMOUNT)
@click.option("--price", type=AMOUNT)
@company_option
@friendly_errors
def change(
    sub_id: int, position: int, effective: date, quantity: Decimal | None,
    price: Decimal | None, company_ref: str | None,
) -> None:  # fmt: skip
    """Change a line's quantity or price from a date (prorated by days)."""
    from facturier.billing.services.subscriptions import subscription_change

    sub = _sub(resolve_company(company_ref), sub_id)
    line = sub.lines.filter(position=position).first()
    if line is None:
        raise click.ClickException(f"no line {position}")
    subscription_change(
        line, effective=effective, actor=actor(), quantity=quantity, unit_price=price
    )
    click.echo(f"Line {position} changes from {format_date(effective)}.")


@subscriptions.command("usage")
@click.argument("sub_id", type=int)
@click.option("--line", "position", type=int, default=1, show_default=True)
@click.option("--date", "occurred_on", type=DATE, required=True)
@click.option("--quantity", type=AMOUNT, required=True)
@click.option("--key", required=True, help="Idempotency key: the same key is stored once.")
@company_option
@friendly_errors
def usage(
    sub_id: int, position: int, occurred_on: date, quantity: Decimal, key: str,
    company_ref: str | None,
) -> None:  # fmt: skip
    """Record usage on a metered line."""
    from facturier.billing.services.subscriptions import usage_record

    sub = _sub(resolve_company(company_ref), sub_id)
    line = sub.lines.filter(position=position).first()
    if line is None:
        raise click.ClickException(f"no line {position}")
    _record, created = usage_record(
        line, occurred_on=occurred_on, quantity=quantity, idempotency_key=key
    )
    click.echo("Recorded." if created else "Already recorded (same key): ignored.")


def _next(sub: Subscription) -> str:
    return format_date(sub.next_billing_date) if sub.next_billing_date else "-"
