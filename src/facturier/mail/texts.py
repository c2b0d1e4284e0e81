"""The wording of every message, in French and English, and its placeholders (pure Python).

A text is a subject and a body with placeholders in braces, `{number}`; `{{` and `}}` write
a literal brace. Each kind of message has its own set of placeholders; a company may replace
the built-in wording of a kind (`EmailTemplate`), and `check` refuses a text that uses a
placeholder the kind does not have, before it is saved.

>>> fill("Facture {number} : {amount}", {"number": "F2026-00001", "amount": "120,00 €"})
'Facture F2026-00001 : 120,00 €'
>>> try:
...     check("invoice", "Facture {number}", "Montant : {montant}")
... except TemplateError as exc:
...     print(str(exc)[:60])
unknown placeholder {montant} in the body; this message has:
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

LANGUAGES = ("fr", "en")


def gettext_noop(message: str) -> str:
    """Marks a label for the French catalog (`makemessages` looks for this name) without
    translating it here: this module stays free of Django; pages translate the label."""
    return message


class TemplateError(ValueError):
    """A text that cannot be used: unknown placeholder, bad braces, missing required one."""

    permanent = True  # a message that cannot be worded fails at once: retrying changes nothing


@dataclass(frozen=True)
class Kind:
    label: str
    placeholders: frozenset[str]
    # Placeholders a company's own wording must keep (the legal statement of a formal notice).
    required: frozenset[str] = frozenset()


_PARTIES = {"company", "customer"}
_INVOICE = _PARTIES | {"number", "issue_date", "amount"}
_REMINDER = _INVOICE | {
    "due_date", "amount_due", "days_late", "penalty", "indemnity", "total_due",
    "late_charges", "payment_instructions", "level",
}  # fmt: skip
# One email for several invoices of a customer due the same reminder on the same day.
_STATEMENT = _PARTIES | {
    "count", "invoices", "amount_due", "penalty", "indemnity", "total_due", "late_charges",
    "payment_instructions", "level", "level_name",
}  # fmt: skip

KINDS: dict[str, Kind] = {
    "invoice": Kind(
        gettext_noop("Invoice sent to the customer"),
        frozenset(_INVOICE | {"amount_excl_vat", "due_date", "period", "payment_instructions"}),
    ),
    "credit_note": Kind(
        gettext_noop("Credit note sent to the customer"), frozenset(_INVOICE | {"corrects"})
    ),
    "reminder": Kind(
        gettext_noop("Payment reminder (any level without its own text)"), frozenset(_REMINDER)
    ),
    "reminder.formal": Kind(
        gettext_noop("Formal notice (mise en demeure)"),
        frozenset(_REMINDER),
        frozenset({"late_charges"}),
    ),
    "reminder.courtesy": Kind(
        gettext_noop("Reminder sent by hand before the due date (courtesy)"),
        frozenset(_INVOICE | {"due_date", "amount_due", "payment_instructions"}),
    ),
    "reminder.statement": Kind(
        gettext_noop("Reminder for several invoices (statement of account)"),
        frozenset(_STATEMENT),
    ),
    "reminder.formal.statement": Kind(
        gettext_noop("Formal notice for several invoices (statement of account)"),
        frozenset(_STATEMENT),
        frozenset({"late_charges", "invoices"}),
    ),
    "notify.payment_received": Kind(
        gettext_noop("To the sales rep: a payment was recorded"),
        frozenset(_PARTIES | {"amount", "received_on", "method", "reference", "allocations"}),
    ),
    "notify.payment_reversed": Kind(
        gettext_noop("To the sales rep: a payment was reversed"),
        frozenset(
            _PARTIES
            | {"amount", "received_on", "method", "reference", "reversed_on", "reason"}
            | {"reopened"}
        ),
    ),
    "notify.draft_waiting": Kind(
        gettext_noop("To the sales rep: a recurring invoice waits for confirmation"),
        frozenset(_PARTIES | {"subscription", "period", "amount", "invoice_id"}),
    ),
    "notify.digest": Kind(
        gettext_noop("To the owners: daily digest of the billing run"),
        frozenset(
            {"company", "date", "issued", "issued_amount", "drafts", "failures", "undelivered"}
            | {"details"}
        ),
    ),
    "notify.clock_behind": Kind(
        gettext_noop("To the owners: issuing refused, this machine's clock is behind"),
        frozenset({"company", "number", "issue_date", "issued_at", "now"}),
    ),
}

# "reminder.2": the wording of one level of the reminder policy (same placeholders).
_LEVEL = re.compile(r"^reminder\.([0-9]{1,2})$")


def kind_of(name: str) -> Kind:
    """The kind of a template name, or TemplateError."""
    if name in KINDS:
        return KINDS[name]
    if m := _LEVEL.match(name):
        return Kind(f"Reminder, level {int(m.group(1))}", KINDS["reminder"].placeholders)
    known = ", ".join([*KINDS, "reminder.<level>"])
    raise TemplateError(f"unknown message kind {name!r}; known: {known}")


def placeholders_in(text: str) -> list[str]:
    """The placeholder names a text uses, in order; TemplateError for bad braces or fields
    that are more than a plain name (`{a.b}`, `{a[0]}`, `{a!r}`, `{a:>10}`)."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"{exc} (write {{{{ and }}}} for a literal brace)") from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = "{" + field + (f"!{conversion}" if conversion else "")
            shown += (f":{spec}" if spec else "") + "}"
            raise TemplateError(f"{shown} is not a placeholder: write a name such as {{number}}")
        names.append(field)
    return names


def check(kind: str, subject: str, body: str) -> None:
    """Refuse a text the kind cannot fill."""
    k = kind_of(kind)
    if not subject.strip():
        raise TemplateError("the subject is empty")
    if "\n" in subject or "\r" in subject:
        raise TemplateError("the subject must be one line")
    if not body.strip():
        raise TemplateError("the body is empty")
    used = set()
    for where, text in (("subject", subject), ("body", body)):
        for name in placeholders_in(text):
            if name not in k.placeholders:
                have = ", ".join(f"{{{p}}}" for p in sorted(k.placeholders))
                raise TemplateError(
                    f"unknown placeholder {{{name}}} in the {where}; this message has: {have}"
                )
            used.add(name)
    missing = sorted(k.required - used)
    if missing:
        names = ", ".join(f"{{{p}}}" for p in missing)
        raise TemplateError(f"this message must keep {names} (the statement the law requires)")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the placeholders (the text was checked; a missing value is a bug: KeyError)."""
    return text.format_map(values)


def builtin(kind: str, language: str) -> tuple[str, str] | None:
    """The built-in (subject, body) of a kind in a language, if there is one."""
    return BUILTIN.get((kind, language if language in LANGUAGES else "fr"))


def candidates(kind: str) -> list[str]:
    """The template names to try, most specific first: a reminder level falls back to the
    generic reminder."""
    return [kind, "reminder"] if _LEVEL.match(kind) else [kind]


BUILTIN: dict[tuple[str, str], tuple[str, str]] = {
    ("invoice", "fr"): (
        "Facture {number} – {company}",
        """Bonjour,

Veuillez trouver ci-joint notre facture {number} du {issue_date}.

Montant TTC : {amount}
Période : {period}
À régler au plus tard le : {due_date}

{payment_instructions}

Nous vous remercions de votre confiance.

{company}
""",
    ),
    ("invoice", "en"): (
        "Invoice {number} – {company}",
        """Hello,

Please find attached our invoice {number} dated {issue_date}.

Amount due (incl. VAT): {amount}
Period: {period}
Payment due by: {due_date}

{payment_instructions}

Thank you for your business.

{company}
""",
    ),
    ("credit_note", "fr"): (
        "Avoir {number} – {company}",
        """Bonjour,

Veuillez trouver ci-joint notre avoir {number} du {issue_date}, d'un montant de {amount},
qui corrige la facture {corrects}.

{company}
""",
    ),
    ("credit_note", "en"): (
        "Credit note {number} – {company}",
        """Hello,

Please find attached our credit note {number} dated {issue_date}, for {amount},
which corrects invoice {corrects}.

{company}
""",
    ),
    ("reminder", "fr"): (
        "Relance : facture {number} – {company}",
        """Bonjour,

Sauf erreur de notre part, la facture {number} du {issue_date}, payable au plus tard le
{due_date}, n'est pas encore réglée : il reste {amount_due} à payer.

{payment_instructions}

Si votre règlement est déjà parti, merci de ne pas tenir compte de ce message.

{company}
""",
    ),
    ("reminder", "en"): (
        "Reminder: invoice {number} – {company}",
        """Hello,

Unless we are mistaken, invoice {number} dated {issue_date}, payable by {due_date}, has not
been paid yet: {amount_due} remains due.

{payment_instructions}

If your payment is already on its way, please disregard this message.

{company}
""",
    ),
    ("reminder.1", "fr"): (
        "Rappel : facture {number} – {company}",
        """Bonjour,

Nous nous permettons de vous rappeler que la facture {number} du {issue_date} est payable au
plus tard le {due_date} ; il reste {amount_due} à régler.

{payment_instructions}

Si vous l'avez déjà réglée, merci de ne pas tenir compte de ce message.

{company}
""",
    ),
    ("reminder.1", "en"): (
        "Friendly reminder: invoice {number} – {company}",
        """Hello,

This is a friendly reminder that invoice {number} dated {issue_date} is payable by
{due_date}; {amount_due} remains to be paid.

{payment_instructions}

If you have already paid it, please disregard this message.

{company}
""",
    ),
    ("reminder.3", "fr"): (
        "Deuxième relance : facture {number} impayée – {company}",
        """Bonjour,

Malgré notre précédent rappel, la facture {number} du {issue_date}, échue le {due_date},
reste impayée après {days_late} jours de retard. Le montant restant dû est de {amount_due}.

Nous vous remercions de procéder à son règlement dans les meilleurs délais.

{payment_instructions}

{company}
""",
    ),
    ("reminder.3", "en"): (
        "Second reminder: invoice {number} overdue – {company}",
        """Hello,

Despite our previous reminder, invoice {number} dated {issue_date}, due on {due_date}, is
still unpaid, {days_late} days late. The amount outstanding is {amount_due}.

Please arrange payment as soon as possible.

{payment_instructions}

{company}
""",
    ),
    ("reminder.formal", "fr"): (
        "Mise en demeure de payer : facture {number} – {company}",
        """Madame, Monsieur,

Malgré nos relances, la facture {number} du {issue_date}, échue le {due_date}, reste
impayée à ce jour, avec {days_late} jours de retard. Le montant restant dû en principal
s'élève à {amount_due}.

{late_charges}

Par la présente, nous vous mettons en demeure de nous régler la somme de {total_due} sous
huit jours à compter de la réception de ce message. À défaut, nous engagerons sans autre
avis les démarches de recouvrement.

{payment_instructions}

Veuillez agréer, Madame, Monsieur, nos salutations distinguées.

{company}
""",
    ),
    ("reminder.formal", "en"): (
        "Formal notice to pay: invoice {number} – {company}",
        """Dear Sir or Madam,

Despite our reminders, invoice {number} dated {issue_date}, due on {due_date}, remains
unpaid to this day, {days_late} days late. The principal amount outstanding is
{amount_due}.

{late_charges}

We hereby formally demand payment of {total_due} within eight days of receipt of this
message. Failing that, we will start recovery proceedings without further notice.

{payment_instructions}

Yours faithfully,

{company}
""",
    ),
    ("reminder.courtesy", "fr"): (
        "Rappel d'échéance : facture {number} – {company}",
        """Bonjour,

Pour mémoire, la facture {number} du {issue_date}, d'un montant restant de {amount_due},
arrive à échéance le {due_date}.

{payment_instructions}

Si votre règlement est déjà programmé, merci de ne pas tenir compte de ce message.

{company}
""",
    ),
    ("reminder.courtesy", "en"): (
        "Payment due soon: invoice {number} – {company}",
        """Hello,

As a courtesy, invoice {number} dated {issue_date}, with {amount_due} remaining, falls due
on {due_date}.

{payment_instructions}

If your payment is already scheduled, please disregard this message.

{company}
""",
    ),
    ("reminder.statement", "fr"): (
        "{level_name} : {count} factures en attente de règlement – {company}",
        """Bonjour,

Sauf erreur de notre part, les factures suivantes ne sont pas encore réglées :

{invoices}

Total restant dû : {amount_due}.

{payment_instructions}

Si votre règlement est déjà parti, merci de ne pas tenir compte de ce message.

{company}
""",
    ),
    ("reminder.statement", "en"): (
        "{level_name}: {count} invoices awaiting payment – {company}",
        """Hello,

Unless we are mistaken, the following invoices have not been paid yet:

{invoices}

Total outstanding: {amount_due}.

{payment_instructions}

If your payment is already on its way, please disregard this message.

{company}
""",
    ),
    ("reminder.formal.statement", "fr"): (
        "Mise en demeure de payer : {count} factures – {company}",
        """Madame, Monsieur,

Malgré nos relances, les factures suivantes restent impayées à ce jour :

{invoices}

Le montant restant dû en principal s'élève à {amount_due}.

{late_charges}

Par la présente, nous vous mettons en demeure de nous régler la somme de {total_due} sous
huit jours à compter de la réception de ce message. À défaut, nous engagerons sans autre
avis les démarches de recouvrement.

{payment_instructions}

Veuillez agréer, Madame, Monsieur, nos salutations distinguées.

{company}
""",
    ),
    ("reminder.formal.statement", "en"): (
        "Formal notice to pay: {count} invoices – {company}",
        """Dear Sir or Madam,

Despite our reminders, the following invoices remain unpaid to this day:

{invoices}

The principal amount outstanding is {amount_due}.

{late_charges}

We hereby formally demand payment of {total_due} within eight days of receipt of this
message. Failing that, we will start recovery proceedings without further notice.

{payment_instructions}

Yours faithfully,

{company}
""",
    ),
    ("notify.payment_received", "fr"): (
        "Paiement reçu : {customer} – {amount}",
        """Un paiement de {customer} a été enregistré.

Montant : {amount}
Reçu le : {received_on}
Moyen : {method}
Référence : {reference}

Affectation :
{allocations}
""",
    ),
    ("notify.payment_received", "en"): (
        "Payment received: {customer} – {amount}",
        """A payment from {customer} has been recorded.

Amount: {amount}
Received on: {received_on}
Method: {method}
Reference: {reference}

Applied to:
{allocations}
""",
    ),
    ("notify.payment_reversed", "fr"): (
        "Paiement annulé : {customer} – {amount}",
        """Un paiement de {customer} a été contre-passé : il ne règle plus rien.

Montant : {amount}
Reçu le : {received_on}
Moyen : {method}
Référence : {reference}

Annulé le : {reversed_on}
Motif : {reason}

Factures de nouveau à payer (les relances reprennent) :
{reopened}
""",
    ),
    ("notify.payment_reversed", "en"): (
        "Payment reversed: {customer} – {amount}",
        """A payment from {customer} has been reversed: it no longer settles anything.

Amount: {amount}
Received on: {received_on}
Method: {method}
Reference: {reference}

Reversed on: {reversed_on}
Reason: {reason}

Invoices to be paid again (reminders resume):
{reopened}
""",
    ),
    ("notify.draft_waiting", "fr"): (
        "Facture à confirmer : {subscription} ({customer})",
        """Une facture récurrente attend votre confirmation avant d'être émise.

Abonnement : {subscription}
Client : {customer}
Période : {period}
Montant TTC : {amount}

Confirmez-la avec : facturier invoices confirm {invoice_id}
""",
    ),
    ("notify.draft_waiting", "en"): (
        "Invoice to confirm: {subscription} ({customer})",
        """A recurring invoice waits for your confirmation before it is issued.

Subscription: {subscription}
Customer: {customer}
Period: {period}
Amount incl. VAT: {amount}

Confirm it with: facturier invoices confirm {invoice_id}
""",
    ),
    ("notify.digest", "fr"): (
        "Facturation du {date} – {company} : {issued} émises, {failures} échecs",
        """Résumé de la facturation du {date} pour {company}.

Factures émises : {issued} ({issued_amount} TTC)
Brouillons en attente de confirmation : {drafts}
Échecs de la facturation : {failures}
Emails non distribués : {undelivered}
{details}
""",
    ),
    ("notify.digest", "en"): (
        "Billing on {date} – {company}: {issued} issued, {failures} failed",
        """Summary of the billing of {date} for {company}.

Invoices issued: {issued} ({issued_amount} incl. VAT)
Drafts waiting for confirmation: {drafts}
Billing failures: {failures}
Emails not delivered: {undelivered}
{details}
""",
    ),
    ("notify.clock_behind", "fr"): (
        "Horloge en retard : émission des factures refusée – {company}",
        """Facturier a refusé d'émettre des factures pour {company} : l'horloge de la machine
indiquait {now}, avant la dernière pièce émise, {number}, datée du {issue_date} (émise à
{issued_at}). Émettre à cette heure aurait donné à un numéro suivant une date antérieure.

Rien n'a été émis. Remettez la machine à l'heure (NTP) : la facturation reprendra d'elle-même.
""",
    ),
    ("notify.clock_behind", "en"): (
        "Clock behind: issuing refused – {company}",
        """Facturier refused to issue invoices for {company}: this machine's clock said {now},
before the last document issued, {number}, dated {issue_date} (issued at {issued_at}).
Issuing at that time would have given a later number an earlier date.

Nothing was issued. Set the machine's clock right (NTP): billing resumes by itself.
""",
    ),
}
