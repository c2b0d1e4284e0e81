"""Compose the email of an outbox row, from the database as it is at delivery time.

One function per kind (COMPOSERS). A composer returns None when there is nobody to tell;
it raises when the message cannot be built yet (a retry comes later).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.utils import translation

from facturier.billing.models import (
    ArchivedDocument,
    Company,
    DocType,
    Invoice,
    OutboxMessage,
    Payment,
    PaymentReversal,
    Reminder,
    ReminderLevel,
)
from facturier.billing.services.payment_corrections import payment_settled
from facturier.billing.services.payments import payment_unallocated
from facturier.core.money import format_amount, format_date
from facturier.mail import texts
from facturier.mail.templates import text_for


class Outgoing(EmailMessage):
    """An EmailMessage that knows its company (the mailbox files it under it)."""

    company_id: int | None = None


def message_id(msg: OutboxMessage) -> str:
    """Stable per outbox row: every retry of a message carries the same Message-ID."""
    return f"<outbox-{msg.pk}@facturier>"


def _sender(company: Company) -> str:
    return formataddr((company.trade_name or company.legal_name, settings.DEFAULT_FROM_EMAIL))


def _email(
    company: Company,
    kind: str,
    language: str,
    values: dict[str, str],
    *,
    to: list[str],
    cc: list[str] | None = None,
    bcc: list[str] | None = None,
) -> Outgoing:
    text = text_for(company, kind, language)
    email = Outgoing(
        subject=texts.fill(text.subject, values),
        body=texts.fill(text.body, values),
        from_email=_sender(company),
        to=_unique(to),
        cc=_unique(cc or []),
        bcc=_unique(bcc or []),
        reply_to=[company.email] if company.email else None,
    )
    email.company_id = company.pk
    return email


def _unique(addresses: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for a in addresses:
        if a and a.lower() not in seen:
            seen.add(a.lower())
            out.append(a)
    return out


def _money(amount: Decimal, currency: str, language: str) -> str:
    return format_amount(amount, currency, locale=language)


def _date(d: date | None, language: str) -> str:
    return format_date(d, locale=language) if d else "—"


def _iban(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def payment_instructions(invoice: Invoice, language: str) -> str:
    seller = invoice.seller or {}
    iban, bic = seller.get("iban", ""), seller.get("bic", "")
    n = invoice.number
    if language == "en":
        if iban:
            bank = f"IBAN {_iban(iban)}" + (f" (BIC {bic})" if bic else "")
            return f"Please pay by bank transfer to {bank}, quoting reference {n}."
        return f"Please quote reference {n} with your payment."
    if iban:
        bank = f"IBAN {_iban(iban)}" + (f" (BIC {bic})" if bic else "")
        return f"Merci de régler par virement sur le compte {bank} en indiquant la référence {n}."
    return f"Merci d'indiquer la référence {n} avec votre règlement."


def _period(invoice: Invoice, language: str) -> str:
    start, end = invoice.period_start, invoice.period_end
    if not start or not end:
        return "—"
    if language == "en":
        return f"{_date(start, 'en')} to {_date(end, 'en')}"
    return f"du {_date(start, 'fr')} au {_date(end, 'fr')}"


def _document_values(invoice: Invoice, language: str) -> dict[str, str]:
    buyer = invoice.buyer or {}
    seller = invoice.seller or {}
    return {
        "company": seller.get("trade_name") or seller.get("legal_name") or str(invoice.company),
        "customer": buyer.get("legal_name") or invoice.customer.legal_name,
        "number": invoice.number or "",
        "issue_date": _date(invoice.issue_date, language),
        "due_date": _date(invoice.due_date, language),
        "amount": _money(invoice.total_gross, invoice.currency, language),
        "amount_excl_vat": _money(invoice.total_net, invoice.currency, language),
        "period": _period(invoice, language),
        "payment_instructions": payment_instructions(invoice, language),
        "corrects": (invoice.corrects.number or "") if invoice.corrects else "",
    }


def _rep_of(invoice: Invoice, *, follow_subscription_setting: bool) -> str:
    sub = invoice.subscription
    if sub is not None and follow_subscription_setting and not sub.copy_sales_rep:
        return ""
    rep = (sub.sales_rep if sub else None) or invoice.customer.sales_rep
    return rep.email if rep and rep.email else ""


def _attach_archived_pdf(email: EmailMessage, invoice: Invoice) -> None:
    archive = ArchivedDocument.objects.filter(invoice=invoice).first()
    if archive is None:
        raise LookupError(f"{invoice.number} is not archived yet")
    with default_storage.open(archive.pdf_name, "rb") as f:
        data = f.read()
    email.attach(f"{(invoice.number or 'document').replace('/', '_')}.pdf", data, "application/pdf")


def _invoice_of(invoice_id: int) -> Invoice:
    return Invoice.objects.select_related(
        "company", "customer__sales_rep", "subscription__sales_rep", "corrects"
    ).get(pk=invoice_id)


def compose_invoice(msg: OutboxMessage) -> Outgoing | None:
    """An issued document to the customer's billing contacts, the sales rep in copy (per
    the subscription's setting), the accounting address in blind copy, the archived PDF
    attached byte for byte, in the customer's language."""
    invoice = _invoice_of(msg.payload["invoice_id"])
    language = invoice.customer.language
    kind = "credit_note" if invoice.doc_type == DocType.CREDIT_NOTE else "invoice"
    company = invoice.company
    email = _email(
        company,
        kind,
        language,
        _document_values(invoice, language),
        to=list(invoice.customer.billing_emails or []),
        cc=[_rep_of(invoice, follow_subscription_setting=True)],
        bcc=[company.accounting_email],
    )
    _attach_archived_pdf(email, invoice)
    return email


def late_charges(reminder: Reminder, invoice: Invoice, language: str) -> str:
    """The statement of penalties accrued to date and, when due, the recovery indemnity."""
    rate = Decimal(
        (invoice.seller or {}).get("late_penalty_rate") or invoice.company.late_penalty_rate
    )
    cur = invoice.currency
    penalty = _money(reminder.penalty, cur, language)
    indemnity = _money(reminder.indemnity, cur, language)
    on = _date(reminder.sent_on, language)
    if language == "en":
        shown_rate = f"{rate.normalize():f}%"
        text = (
            "Under article L441-10 of the French Commercial Code (Code de commerce), late-payment "
            "penalties are due as of right from the day after the due date, without any reminder "
            f"being needed, at the rate of {shown_rate} a year: they amount to {penalty} as of "
            f"{on}."
        )
        if reminder.indemnity > 0:
            text += (
                f" A fixed indemnity of {indemnity} for recovery costs is also due (articles "
                "L441-10 and D441-5 of the Code de commerce)."
            )
        return text
    shown_rate = f"{rate.normalize():f}".replace(".", ",") + " %"
    text = (
        "Conformément à l'article L441-10 du Code de commerce, des pénalités de retard sont "
        "dues de plein droit, sans qu'un rappel soit nécessaire, dès le lendemain de la date "
        f"d'échéance, au taux annuel de {shown_rate} : elles s'élèvent à {penalty} au {on}."
    )
    if reminder.indemnity > 0:
        text += (
            f" S'y ajoute l'indemnité forfaitaire pour frais de recouvrement de {indemnity} "
            "(articles L441-10 et D441-5 du Code de commerce)."
        )
    return text


def compose_reminder(msg: OutboxMessage) -> Outgoing | None:
    """A payment reminder: one invoice, or a statement of account when one customer has
    several invoices due the same level the same day (payload {"reminder_ids": [...]}; rows
    queued before statements existed carry {"reminder_id": pk})."""
    ids = msg.payload.get("reminder_ids") or [msg.payload["reminder_id"]]
    reminders = list(
        Reminder.objects.filter(pk__in=ids)
        .select_related("invoice")
        .order_by("invoice__due_date", "invoice__sequence", "pk")
    )
    if len(reminders) > 1:
        return _compose_statement(reminders)
    reminder = reminders[0]
    invoice = _invoice_of(reminder.invoice_id)
    company = invoice.company
    level = _level_of(reminder)
    if level is not None and level.formal_notice:
        kind = "reminder.formal"
    elif reminder.manual and reminder.days_late <= 0:
        kind = "reminder.courtesy"  # by hand before the due date: nothing is late yet
    elif reminder.level is not None and reminder.level < 100:
        kind = f"reminder.{reminder.level}"
    else:
        kind = "reminder"
    language = invoice.customer.language
    values = _document_values(invoice, language)
    cur = invoice.currency
    values |= {
        "amount_due": _money(reminder.amount_due, cur, language),
        "days_late": str(reminder.days_late),
        "penalty": _money(reminder.penalty, cur, language),
        "indemnity": _money(reminder.indemnity, cur, language),
        "total_due": _money(
            reminder.amount_due + reminder.penalty + reminder.indemnity, cur, language
        ),
        "late_charges": late_charges(reminder, invoice, language),
        "level": str(reminder.level) if reminder.level is not None else "",
    }
    copy_rep = level.copy_sales_rep if level else False
    email = _email(
        company,
        kind,
        language,
        values,
        to=list(invoice.customer.billing_emails or []),
        cc=[_rep_of(invoice, follow_subscription_setting=False)] if copy_rep else [],
        bcc=[company.accounting_email],
    )
    if level.attach_invoice if level else True:
        _attach_archived_pdf(email, invoice)
    return email


def _level_of(reminder: Reminder) -> ReminderLevel | None:
    if reminder.manual or reminder.level is None:
        return None
    return ReminderLevel.objects.filter(
        company_id=reminder.invoice.company_id, level=reminder.level
    ).first()


def _compose_statement(reminders: list[Reminder]) -> Outgoing:
    """One email for several invoices of one customer at one level: each invoice with its
    due date, days late, amount due and (formal notice) its penalties and indemnity, the
    totals, every archived invoice attached when the level attaches it."""
    invoices = [_invoice_of(r.invoice_id) for r in reminders]
    first = invoices[0]
    company, customer = first.company, first.customer
    language, cur = customer.language, first.currency
    level = _level_of(reminders[0])
    formal = bool(level and level.formal_notice)
    principal = sum((r.amount_due for r in reminders), Decimal(0))
    penalty = sum((r.penalty for r in reminders), Decimal(0))
    indemnity = sum((r.indemnity for r in reminders), Decimal(0))
    values = {
        "company": _document_values(first, language)["company"],
        "customer": (first.buyer or {}).get("legal_name") or customer.legal_name,
        "count": str(len(reminders)),
        "invoices": "\n".join(
            _statement_line(r, inv, language, formal=formal)
            for r, inv in zip(reminders, invoices, strict=True)
        ),
        "amount_due": _money(principal, cur, language),
        "penalty": _money(penalty, cur, language),
        "indemnity": _money(indemnity, cur, language),
        "total_due": _money(principal + penalty + indemnity, cur, language),
        "late_charges": _statement_charges(reminders, first, language),
        "payment_instructions": _statement_instructions(invoices, language),
        "level": str(reminders[0].level or ""),
        "level_name": level.name if level else ("Reminder" if language == "en" else "Relance"),
    }
    reps = [_rep_of(inv, follow_subscription_setting=False) for inv in invoices]
    email = _email(
        company,
        "reminder.formal.statement" if formal else "reminder.statement",
        language,
        values,
        to=list(customer.billing_emails or []),
        cc=reps if level and level.copy_sales_rep else [],
        bcc=[company.accounting_email],
    )
    if level is None or level.attach_invoice:
        for invoice in invoices:
            _attach_archived_pdf(email, invoice)
    return email


def _statement_line(reminder: Reminder, invoice: Invoice, language: str, *, formal: bool) -> str:
    cur = invoice.currency
    n, issued, due = (
        invoice.number,
        _date(invoice.issue_date, language),
        _date(invoice.due_date, language),
    )
    late, amount = reminder.days_late, _money(reminder.amount_due, cur, language)
    if language == "en":
        line = f"- {n} dated {issued}, due on {due} ({late} days late): {amount} outstanding"
        if formal:
            line += f"; penalties {_money(reminder.penalty, cur, language)}"
            if reminder.indemnity > 0:
                line += f"; recovery indemnity {_money(reminder.indemnity, cur, language)}"
        return line
    line = f"- {n} du {issued}, échue le {due} ({late} jours de retard) : reste dû {amount}"
    if formal:
        line += f" ; pénalités {_money(reminder.penalty, cur, language)}"
        if reminder.indemnity > 0:
            line += f" ; indemnité forfaitaire {_money(reminder.indemnity, cur, language)}"
    return line


def _statement_charges(reminders: list[Reminder], invoice: Invoice, language: str) -> str:
    """The legal statement of a formal notice for several invoices, with the totals (each
    invoice's share is on its line above); empty for an ordinary reminder."""
    total = Reminder(
        invoice=invoice,
        sent_on=reminders[0].sent_on,
        days_late=max(r.days_late for r in reminders),
        amount_due=sum((r.amount_due for r in reminders), Decimal(0)),
        penalty=sum((r.penalty for r in reminders), Decimal(0)),
        indemnity=sum((r.indemnity for r in reminders), Decimal(0)),
    )
    if total.penalty == 0 and total.indemnity == 0:
        return ""
    return late_charges(total, invoice, language)


def _statement_instructions(invoices: list[Invoice], language: str) -> str:
    seller = invoices[0].seller or {}
    iban, bic = seller.get("iban", ""), seller.get("bic", "")
    numbers = ", ".join(str(inv.number) for inv in invoices)
    bank = (f"IBAN {_iban(iban)}" + (f" (BIC {bic})" if bic else "")) if iban else ""
    if language == "en":
        if bank:
            return f"Please pay by bank transfer to {bank}, quoting references {numbers}."
        return f"Please quote references {numbers} with your payment."
    if bank:
        return (
            f"Merci de régler par virement sur le compte {bank} en indiquant les références "
            f"{numbers}."
        )
    return f"Merci d'indiquer les références {numbers} avec votre règlement."


def _staff_language() -> str:
    return settings.LANGUAGE_CODE[:2] if settings.LANGUAGE_CODE[:2] in texts.LANGUAGES else "fr"


def compose_payment_received(msg: OutboxMessage) -> Outgoing | None:
    payment = Payment.objects.select_related("company", "customer").get(
        pk=msg.payload["payment_id"]
    )
    language = _staff_language()
    cur = payment.currency
    # What it settles now: the sum of its allocation entries per invoice (a release counts
    # negative), and the rest on account (none once reversed).
    settled = payment_settled(payment)
    numbers = dict(Invoice.objects.filter(pk__in=settled).values_list("pk", "number"))
    lines = [
        f"- {numbers[pk]} : {_money(amount, cur, language)}"
        for pk, amount in sorted(settled.items(), key=lambda item: str(numbers[item[0]]))
    ]
    rest = payment_unallocated(payment)
    if rest > 0:
        label = (
            "Unallocated (customer credit)" if language == "en" else "Non affecté (avoir client)"
        )
        lines.append(f"- {label} : {_money(rest, cur, language)}")
    with translation.override(language):
        method = str(payment.get_method_display())
    values = {
        "company": str(payment.company),
        "customer": payment.customer.legal_name,
        "amount": _money(payment.amount, cur, language),
        "received_on": _date(payment.received_on, language),
        "method": method,
        "reference": payment.reference or "—",
        "allocations": "\n".join(lines) or "—",
    }
    return _email(
        payment.company, "notify.payment_received", language, values, to=msg.payload["to"]
    )


def compose_payment_reversed(msg: OutboxMessage) -> Outgoing | None:
    reversal = PaymentReversal.objects.select_related("payment__company", "payment__customer").get(
        pk=msg.payload["reversal_id"]
    )
    payment = reversal.payment
    language = _staff_language()
    cur = payment.currency
    # The invoices it had settled: its releases, written with the reversal.
    released = payment.allocations.filter(amount__lt=0).select_related("invoice").order_by("pk")
    with translation.override(language):
        method = str(payment.get_method_display())
    values = {
        "company": str(payment.company),
        "customer": payment.customer.legal_name,
        "amount": _money(payment.amount, cur, language),
        "received_on": _date(payment.received_on, language),
        "method": method,
        "reference": payment.reference or "—",
        "reversed_on": _date(reversal.reversed_on, language),
        "reason": reversal.reason,
        "reopened": "\n".join(
            f"- {a.invoice.number} : {_money(-a.amount, cur, language)}" for a in released
        )
        or "—",
    }
    return _email(
        payment.company, "notify.payment_reversed", language, values, to=msg.payload["to"]
    )


def compose_draft_waiting(msg: OutboxMessage) -> Outgoing | None:
    p = msg.payload
    language = _staff_language()
    currency = msg.company.currency
    start, end = p.get("period_start"), p.get("period_end")
    if start and end:
        s, e = _date(date.fromisoformat(start), language), _date(date.fromisoformat(end), language)
        period = f"{s} → {e}"
    else:
        period = "—"
    values = {
        "company": str(msg.company),
        "customer": p["customer"],
        "subscription": p["subscription"],
        "period": period,
        "amount": _money(Decimal(p["total"]), currency, language),
        "invoice_id": str(p["invoice_id"]),
    }
    return _email(msg.company, "notify.draft_waiting", language, values, to=p["to"])


def _digest_details(p: dict[str, Any], currency: str, language: str) -> str:
    en = language == "en"
    out = []
    if p["draft_list"]:
        out.append("\n" + ("Drafts to confirm:" if en else "Brouillons à confirmer :"))
        out += [
            f"- #{d['id']} {d['customer']} ({d['subscription']}): "
            f"{_money(Decimal(d['total']), currency, language)} "
            f"→ facturier invoices confirm {d['id']}"
            for d in p["draft_list"]
        ]
    if p["failure_list"]:
        out.append("\n" + ("Billing failures:" if en else "Échecs de facturation :"))
        out += [f"- {f['subscription']}: {f['reason']}" for f in p["failure_list"]]
    if p["undelivered_list"]:
        out.append("\n" + ("Emails not delivered:" if en else "Emails non distribués :"))
        out += [
            f"- #{m['id']} {m['kind']}" + (f" {m['invoice']}" if m["invoice"] else "")
            + f": {m['error']} → facturier mail show {m['id']}"
            for m in p["undelivered_list"]
        ]  # fmt: skip
    return "\n".join(out)


def compose_digest(msg: OutboxMessage) -> Outgoing | None:
    """The owners' daily digest; nothing is sent on a day with nothing to report."""
    from facturier.billing.models import Membership, Role

    p = msg.payload
    if not (p["issued"] or p["drafts"] or p["failures"] or p["undelivered"]):
        return None
    company = msg.company
    owners = Membership.objects.filter(company=company, role=Role.OWNER).select_related("user")
    to = [m.user.email for m in owners if m.user.email]
    if not to:
        return None
    language = _staff_language()
    currency = p.get("currency", company.currency)
    values = {
        "company": str(company),
        "date": _date(date.fromisoformat(p["date"]), language),
        "issued": str(p["issued"]),
        "issued_amount": _money(Decimal(p["issued_amount"]), currency, language),
        "drafts": str(p["drafts"]),
        "failures": str(p["failures"]),
        "undelivered": str(p["undelivered"]),
        "details": _digest_details(p, currency, language),
    }
    return _email(company, "notify.digest", language, values, to=to)


def compose_clock_behind(msg: OutboxMessage) -> Outgoing | None:
    """The owners' alert: issuing was refused because this machine's clock is behind."""
    from zoneinfo import ZoneInfo

    from facturier.billing.models import Membership, Role

    p, company = msg.payload, msg.company
    owners = Membership.objects.filter(company=company, role=Role.OWNER).select_related("user")
    to = [m.user.email for m in owners if m.user.email]
    if not to:
        return None
    language = _staff_language()
    zone = ZoneInfo(company.timezone)

    def moment(text: str) -> str:
        at = datetime.fromisoformat(text).astimezone(zone)
        return f"{_date(at.date(), language)} {at:%H:%M:%S}"

    values = {
        "company": str(company),
        "number": p["number"],
        "issue_date": _date(date.fromisoformat(p["issue_date"]), language),
        "issued_at": moment(p["issued_at"]),
        "now": moment(p["now"]),
    }
    return _email(company, "notify.clock_behind", language, values, to=to)


COMPOSERS: dict[str, Callable[[OutboxMessage], Outgoing | None]] = {
    "email.invoice": compose_invoice,
    "email.reminder": compose_reminder,
    "notify.payment_received": compose_payment_received,
    "notify.payment_reversed": compose_payment_reversed,
    "notify.draft_waiting": compose_draft_waiting,
    "notify.digest": compose_digest,
    "notify.clock_behind": compose_clock_behind,
}


def compose(msg: OutboxMessage) -> Outgoing | None:
    composer = COMPOSERS.get(msg.kind)
    if composer is None:
        raise ValueError(f"no composer for outbox kind {msg.kind!r}")
    email = composer(msg)
    if email is not None:
        email.extra_headers["Message-ID"] = message_id(msg)
    return email
