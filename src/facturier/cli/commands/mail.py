"""`facturier mail …`: the outbox (what was sent, is pending or failed, with the delivery log),
the embedded mailbox, and the companies' email templates."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from django.utils.translation import gettext as _

from facturier.cli.main import cli, friendly_errors
from facturier.cli.params import actor, company_option, resolve_company
from facturier.core.money import format_date

RENDER = "document.render"


@cli.group()
def mail() -> None:
    """Emails: the outbox and its delivery log, the local mailbox, the templates."""


def _when(dt: datetime | None, tz: str) -> str:
    if dt is None:
        return ""
    from zoneinfo import ZoneInfo

    local = dt.astimezone(ZoneInfo(tz))
    return f"{format_date(local.date())} {local:%H:%M:%S}"


def _recipients(msg: Any) -> list[str]:
    """Who the message was for, as the delivery log tells it (or the payload's `to`)."""
    seen: list[str] = []
    for a in msg.attempts_log.all():
        if a.recipient not in seen:
            seen.append(a.recipient)
    return seen or list(msg.payload.get("to", []))


def _outbox_row(msg: Any) -> dict[str, Any]:
    return {
        "id": msg.pk,
        "kind": msg.kind,
        "status": msg.status,
        "attempts": msg.attempts,
        "invoice": msg.invoice.number if msg.invoice else None,
        "recipients": _recipients(msg),
        "created_at": msg.created_at.isoformat(),
        "next_attempt_at": msg.next_attempt_at.isoformat(),
        "sent_at": msg.sent_at.isoformat() if msg.sent_at else None,
        "last_error": msg.last_error,
    }


@mail.command("list")
@company_option
@click.option("--failed", is_flag=True, help="Only messages that could not be delivered.")
@click.option("--pending", is_flag=True, help="Only messages waiting to be sent (or retried).")
@click.option("--mailbox", is_flag=True, help="List the local mailbox instead of the outbox.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1), help="At most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def list_(
    company_ref: str | None,
    failed: bool,
    pending: bool,
    mailbox: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List emails and notifications, newest first, with their delivery status."""
    from facturier.billing.models import OutboxMessage, OutboxStatus

    company = resolve_company(company_ref)
    if mailbox:
        _list_mailbox(company, limit, as_json)
        return
    qs = OutboxMessage.objects.filter(company=company).exclude(kind=RENDER)
    if failed:
        qs = qs.filter(status=OutboxStatus.FAILED)
    if pending:
        qs = qs.filter(status=OutboxStatus.PENDING)
    msgs = list(
        qs.select_related("invoice").prefetch_related("attempts_log").order_by("-pk")[:limit]
    )
    rows = [_outbox_row(m) for m in msgs]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(_("No messages."))
        return
    click.echo(
        f"{'ID':>6} {'Kind':<24} {'Status':<8} {'Tries':>5} {'Invoice':<14} {'Created':<19} "
        "Recipients"
    )
    for m, r in zip(msgs, rows, strict=True):
        click.echo(
            f"{r['id']:>6} {r['kind']:<24} {r['status']:<8} {r['attempts']:>5} "
            f"{(r['invoice'] or ''):<14} {_when(m.created_at, company.timezone):<19} "
            f"{', '.join(r['recipients'])}"
        )
        if r["last_error"] and r["status"] != OutboxStatus.SENT:
            click.echo(f"{'':>6} ! {r['last_error'][:150]}")
    failed_count = qs.model.objects.filter(company=company, status=OutboxStatus.FAILED).count()
    if failed_count and not failed:
        click.echo(
            _("%(n)d message(s) could not be delivered: facturier mail list --failed")
            % {"n": failed_count}
        )


def _mailbox_qs(company: Any) -> Any:
    from django.db.models import Q

    from facturier.billing.models import MailboxMessage

    return MailboxMessage.objects.filter(Q(company=company) | Q(company__isnull=True))


def _list_mailbox(company: Any, limit: int, as_json: bool) -> None:
    rows = list(_mailbox_qs(company).defer("raw").order_by("-pk")[:limit])
    if as_json:
        data = [
            {
                "id": m.pk,
                "message_id": m.message_id,
                "created_at": m.created_at.isoformat(),
                "from": m.sender,
                "to": m.to,
                "cc": m.cc,
                "bcc": m.bcc,
                "subject": m.subject,
            }
            for m in rows
        ]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo(_("The mailbox is empty."))
        return
    click.echo(f"{'ID':>6} {'Received':<19} {'To':<34} Subject")
    for m in rows:
        to = ", ".join(m.to + m.cc + m.bcc)
        click.echo(
            f"{m.pk:>6} {_when(m.created_at, company.timezone):<19} {to[:34]:<34} {m.subject}"
        )
    click.echo(_("Read one with: facturier mail show --mailbox ID"))


@mail.command("show")
@click.argument("message_id", type=int)
@company_option
@click.option("--mailbox", is_flag=True, help="ID is a mailbox message (see list --mailbox).")
@click.option("--raw", is_flag=True, help="Write the message as sent (RFC 5322 bytes).")
@friendly_errors
def show(message_id: int, company_ref: str | None, mailbox: bool, raw: bool) -> None:
    """Show one message: its status, its delivery log and, from the mailbox, its content."""
    from facturier.billing.models import OutboxMessage
    from facturier.mail.compose import message_id as outbox_message_id

    company = resolve_company(company_ref)
    if mailbox:
        box = _mailbox_qs(company).filter(pk=message_id).first()
        if box is None:
            raise click.ClickException(
                _("no message %(id)d in the local mailbox (see: facturier mail list --mailbox)")
                % {"id": message_id}
            )
        _print_mailbox(box, raw)
        return
    msg = (
        OutboxMessage.objects.filter(company=company, pk=message_id)
        .exclude(kind=RENDER)
        .select_related("invoice")
        .first()
    )
    if msg is None:
        raise click.ClickException(_("no message %(id)d") % {"id": message_id})
    box = _mailbox_qs(company).filter(message_id=outbox_message_id(msg)).order_by("-pk").first()
    if raw:
        if box is None:
            raise click.ClickException(
                _("message %(id)d is not in the local mailbox (sent through SMTP, or not yet)")
                % {"id": message_id}
            )
        _print_mailbox(box, raw=True)
        return
    tz = company.timezone
    click.echo(f"Message #{msg.pk} {msg.kind}  {outbox_message_id(msg)}")
    if msg.invoice:
        click.echo(f"Invoice: {msg.invoice.number}")
    click.echo(f"Status: {msg.status}, {msg.attempts} attempt(s)")
    click.echo(f"Created: {_when(msg.created_at, tz)}")
    if msg.sent_at:
        click.echo(f"Sent: {_when(msg.sent_at, tz)}")
    elif msg.status == "pending":
        click.echo(f"Next attempt: {_when(msg.next_attempt_at, tz)}")
    if msg.last_error:
        click.echo(f"Last error: {msg.last_error}")
    for line in attempt_lines(msg.attempts_log.order_by("attempted_at", "pk"), tz):
        click.echo(line)
    if box is not None:
        click.echo("")
        _print_mailbox(box, raw=False)


def attempt_lines(attempts: Any, tz: str, indent: str = "  ") -> list[str]:
    return [
        f"{indent}{_when(a.attempted_at, tz)} {a.field:<3} {a.recipient}: "
        + ("attempt started, outcome unknown" if a.outcome == "started" else a.outcome)
        + (f" ({a.error[:150]})" if a.error else "")
        for a in attempts
    ]


def _print_mailbox(box: Any, raw: bool) -> None:
    from email import policy
    from email.message import EmailMessage
    from email.parser import BytesParser

    data = bytes(box.raw)
    if raw:
        sys.stdout.buffer.write(data)
        return
    parsed = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(parsed, EmailMessage)
    for header in ("Message-ID", "Date", "From", "Reply-To", "To", "Cc", "Subject"):
        if parsed[header]:
            click.echo(f"{header}: {str(parsed[header]).strip()}")
    if box.bcc:
        click.echo(f"Bcc (envelope): {', '.join(box.bcc)}")
    body = parsed.get_body(preferencelist=("plain",))
    if body is not None:
        assert isinstance(body, EmailMessage)
        click.echo("")
        click.echo(body.get_content().rstrip())
    for part in parsed.iter_attachments():
        assert isinstance(part, EmailMessage)
        size = len(part.get_payload(decode=True) or b"")
        click.echo(f"[attachment] {part.get_filename()} ({part.get_content_type()}, {size} bytes)")


# --- templates -----------------------------------------------------------------------------


@mail.command("templates")
@company_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly_errors
def templates(company_ref: str | None, as_json: bool) -> None:
    """List the kinds of messages, their placeholders, and the company's own wordings."""
    from facturier.billing.models import EmailTemplate
    from facturier.mail import texts

    company = resolve_company(company_ref)
    own = {(t.kind, t.language) for t in EmailTemplate.objects.filter(company=company)}
    levels = sorted({k for k, _lang in [*texts.BUILTIN, *own] if k not in texts.KINDS})
    names = [*texts.KINDS, *levels]
    rows = [
        {
            "kind": name,
            "label": texts.kind_of(name).label,
            "placeholders": sorted(texts.kind_of(name).placeholders),
            "required": sorted(texts.kind_of(name).required),
            "custom": sorted(lang for k, lang in own if k == name),
        }
        for name in names
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        custom = f"  [own wording: {', '.join(r['custom'])}]" if r["custom"] else ""
        click.echo(f"{r['kind']}: {r['label']}{custom}")
        click.echo("    " + " ".join(f"{{{p}}}" for p in r["placeholders"]))
    click.echo(
        "Any reminder level may have its own text (reminder.<level>); without one the generic "
        "'reminder' text is used."
    )


@mail.command("template")
@click.argument("kind")
@click.argument("language", type=click.Choice(["fr", "en"]))
@company_option
@click.option("--subject", help="The new subject (one line, with placeholders).")
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="A file with the new body ('-' for standard input).",
)
@click.option("--reset", is_flag=True, help="Go back to the built-in wording.")
@friendly_errors
def template(
    kind: str,
    language: str,
    company_ref: str | None,
    subject: str | None,
    body_file: str | None,
    reset: bool,
) -> None:
    """Show the wording of KIND in LANGUAGE, or set the company's own (--subject and/or
    --body-file; an unknown placeholder is refused), or --reset it."""
    from facturier.mail import texts
    from facturier.mail.templates import email_template_reset, email_template_save, text_for

    company = resolve_company(company_ref)
    try:
        texts.kind_of(kind)
    except texts.TemplateError as exc:
        raise click.ClickException(str(exc)) from exc
    if reset:
        done = email_template_reset(company, kind=kind, language=language, actor=actor().name)
        click.echo(_("Back to the built-in wording.") if done else _("No own wording to reset."))
        return
    current = text_for(company, kind, language)
    if subject is None and body_file is None:
        origin = _("own wording") if current.custom else _("built-in wording")
        if current.kind != kind:
            origin += f", from '{current.kind}'"
        click.echo(f"[{kind} / {language}: {origin}]")
        click.echo(f"Subject: {current.subject}\n\n{current.body}")
        return
    if body_file == "-":
        body = sys.stdin.read()
    elif body_file is not None:
        try:
            body = Path(body_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{body_file}: {exc}") from exc
    else:
        body = current.body
    email_template_save(
        company,
        kind=kind,
        language=language,
        subject=subject if subject is not None else current.subject,
        body=body,
        actor=actor().name,
    )
    click.echo(_("Saved the company's wording of %(k)s (%(l)s).") % {"k": kind, "l": language})


# --- for `facturier invoices show` ---------------------------------------------------------


def delivery_lines(inv: Any) -> list[str]:
    """The emails of a document (invoice email, reminders) with their delivery log, or why
    it has not been emailed."""
    from facturier.billing.models import ArchivedDocument, OutboxMessage
    from facturier.billing.services.outbox import INVOICE_EMAIL, invoice_email_hold

    if not inv.is_issued:
        return []
    tz = inv.company.timezone
    msgs = list(
        OutboxMessage.objects.filter(invoice=inv)
        .exclude(kind=RENDER)
        .prefetch_related("attempts_log")
        .order_by("pk")
    )
    lines = []
    if not any(m.kind == INVOICE_EMAIL for m in msgs):
        hold = invoice_email_hold(inv)
        if hold:
            lines.append(
                _("Email: not sent (%(why)s); send it with: facturier invoices send %(n)s")
                % {"why": hold, "n": inv.number}
            )
        elif not ArchivedDocument.objects.filter(invoice=inv).exists():
            lines.append(_("Email: sent once the worker has archived the PDF."))
        else:
            lines.append(
                _("Email: not sent; send it with: facturier invoices send %(n)s")
                % {"n": inv.number}
            )
    for m in msgs:
        how = " (by hand)" if m.payload.get("by_hand") else ""
        lines.append(f"Email #{m.pk} {m.kind}{how}: {m.status}, {m.attempts} attempt(s)")
        tried = sorted(m.attempts_log.all(), key=lambda a: (a.attempted_at, a.pk))
        lines += attempt_lines(tried, tz, indent="    ")
    return lines
