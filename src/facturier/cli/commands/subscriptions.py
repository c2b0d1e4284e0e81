"""`facturier subscriptions …`: recurring profiles from the command line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

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


def _parse_line(spec: str, option: str = "--line") -> SubscriptionLineData:
    from facturier.billing.services.subscriptions import SubscriptionLineData

    parts = [p.strip() for p in spec.split(";")]
    if not 3 <= len(parts) <= 5:
        raise click.BadParameter(
            f"expected 'DESCRIPTION;QUANTITY;UNIT PRICE[;VAT CODE[;MODE]]', not {len(parts)} "
            f"fields in '{spec}'",
            param_hint=option,
        )
    try:
        quantity = Decimal(parts[1].replace(",", "."))
        price = Decimal(parts[2].replace(",", ".").replace(" ", ""))
    except InvalidOperation as exc:
        raise click.BadParameter(f"not a number in '{spec}'", param_hint=option) from exc
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


@subscriptions.command("edit")
@click.argument("sub_id", type=int)
@click.option("--name", help="New name.")
@click.option(
    "--sales-rep", "sales_rep", metavar="USER", help="Username of the sales rep ('' for none)."
)
@click.option("--copy-sales-rep/--no-copy-sales-rep", default=None, help="Copy the sales rep.")
@click.option("--send/--no-send", "send", default=None, help="Email the invoices.")
@click.option("--payment-terms", "terms", type=int, metavar="N", help="Payment terms in days.")
@click.option("--po", help="Purchase order reference ('' for none).")
@click.option("--count", type=int, help="End after N invoices in all.")
@click.option("--until", type=DATE, help="Last day of service.")
@click.option("--never", is_flag=True, help="No end.")
@click.option(
    "--prorate-last/--no-prorate-last",
    default=None,
    help="With --until: cut and prorate the last period.",
)
@click.option("--review/--no-review", default=None, help="Keep each invoice as a draft for review.")
@click.option(
    "--add-line",
    "add",
    multiple=True,
    metavar="SPEC",
    help="Add a line from --from: DESCRIPTION;QUANTITY;UNIT PRICE[;VAT[;MODE]]. Repeatable.",
)
@click.option(
    "--remove-line",
    "remove",
    type=int,
    multiple=True,
    metavar="N",
    help="Stop billing line N from --from. Repeatable.",
)
@click.option(
    "--line", "position", type=int, metavar="N", help="Change line N (with --quantity/--price)."
)
@click.option("--quantity", type=AMOUNT, help="With --line: its new quantity from --from.")
@click.option("--price", type=AMOUNT, help="With --line: its new unit price from --from.")
@click.option("--from", "effective", type=DATE, help="The day the line changes take effect.")
@click.option(
    "--preview", is_flag=True, help="Show the next invoices with the change; save nothing."
)
@company_option
@friendly_errors
def edit(
    sub_id: int, name: str | None, sales_rep: str | None, copy_sales_rep: bool | None,
    send: bool | None, terms: int | None, po: str | None, count: int | None,
    until: date | None, never: bool, prorate_last: bool | None, review: bool | None,
    add: tuple[str, ...], remove: tuple[int, ...], position: int | None,
    quantity: Decimal | None, price: Decimal | None, effective: date | None,
    preview: bool, company_ref: str | None,
) -> None:  # fmt: skip
    """Edit a subscription; what was already invoiced never changes.

    Header options (name, sales rep, emailing, payment terms, purchase order, review) apply
    to every invoice not issued yet, drafts waiting included. Line changes take effect from
    --from: a line is added or removed from the first period not invoiced yet at the
    earliest; a quantity or price from the start of the last invoiced period (the prorated
    difference then goes on the next invoice).
    """
    from facturier.billing.services.subscription_edit import LineChange, subscription_update

    if sum([count is not None, until is not None, never]) > 1:
        raise click.UsageError("give one of --count, --until and --never")
    if (quantity is not None or price is not None) and position is None:
        raise click.UsageError("--quantity and --price go with --line N")
    if position is not None and quantity is None and price is None:
        raise click.UsageError("--line N needs --quantity or --price")
    company = resolve_company(company_ref)
    sub = _sub(company, sub_id)
    fields = _edit_fields(company, name=name, sales_rep=sales_rep, copy_sales_rep=copy_sales_rep,
                          send=send, terms=terms, po=po, review=review)  # fmt: skip
    if count is not None:
        fields.update(end_kind="count", end_count=count)
    elif until is not None:
        fields.update(end_kind="until", end_date=until)
    elif never:
        fields["end_kind"] = "never"
    if prorate_last is not None:
        fields["prorate_last"] = prorate_last
    changes = [LineChange(position, quantity, price)] if position is not None else []
    edits: dict[str, Any] = dict(
        effective=effective, add_lines=[_parse_line(x, "--add-line") for x in add],
        remove_lines=list(remove), line_changes=changes, **fields,
    )  # fmt: skip
    if preview:
        _print_preview(sub, edits)
        return
    before = sub.awaiting_approval
    updated = subscription_update(sub, actor=actor(), **edits)
    click.echo(f"Subscription {updated.pk} updated; next billing date {_next(updated)}.")
    if updated.awaiting_approval and not before:
        click.echo("It now awaits approval: its invoices are prepared as drafts until then.")


def _edit_fields(company: Company, **given: Any) -> dict[str, Any]:
    """The header fields given on the command line, as `subscription_update` takes them."""
    names = {
        "name": "name", "copy_sales_rep": "copy_sales_rep", "send": "send_invoices",
        "terms": "payment_terms_days", "po": "customer_po", "review": "review_before_issue",
    }  # fmt: skip
    fields = {names[k]: v for k, v in given.items() if k in names and v is not None}
    rep = given.get("sales_rep")
    if rep is not None:
        from django.contrib.auth.models import User

        user = User.objects.filter(username=rep, membership__company=company).first()
        if rep and user is None:
            raise click.BadParameter(f"no user '{rep}' in the company", param_hint="--sales-rep")
        fields["sales_rep"] = user
    return fields


def _print_preview(sub: Subscription, edits: dict[str, Any]) -> None:
    from facturier.billing import clock
    from facturier.billing.preview import subscription_edit_preview
    from facturier.core.money import format_amount

    today = clock.company_today(sub.company)
    for item in subscription_edit_preview(sub, today=today, **edits):
        was = (
            f"  (was {format_amount(item.was, sub.company.currency)})"
            if item.was is not None
            else ""
        )
        click.echo(
            f"{format_date(item.issue_on)}  {format_date(item.period_start)} → "
            f"{format_date(item.period_end)}  {format_amount(item.net, sub.company.currency):>14}"
            f" excl. VAT{was}"
        )
    click.echo("Nothing saved (--preview).")


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
