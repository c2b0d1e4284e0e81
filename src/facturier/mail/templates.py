"""A company's own wording (EmailTemplate rows) over the built-in texts, checked on save."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing.core_messages import core_message
from facturier.billing.models import Company, EmailTemplate
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput
from facturier.billing.services.limits import check_text, check_visible
from facturier.mail import texts


@dataclass(frozen=True)
class Text:
    kind: str  # the template actually used ("reminder" for a level without its own)
    language: str
    subject: str
    body: str
    custom: bool  # the company's own wording


def text_for(company: Company, kind: str, language: str) -> Text:
    """The wording to use: the company's own for the kind and language, else the built-in
    one; a reminder level without either falls back to the generic reminder."""
    language = language if language in texts.LANGUAGES else "fr"
    names = texts.candidates(kind)
    own = {
        t.kind: t
        for t in EmailTemplate.objects.filter(company=company, kind__in=names, language=language)
    }
    for name in names:
        if name in own:
            # Saved through email_template_save it is valid; a row written another way
            # (the admin, SQL) is checked again rather than trusted.
            try:
                texts.check(name, own[name].subject, own[name].body)
            except texts.TemplateError as exc:
                raise texts.TemplateError(f"the company's {name}/{language} text: {exc}") from exc
            return Text(name, language, own[name].subject, own[name].body, True)
        if found := texts.builtin(name, language):
            return Text(name, language, found[0], found[1], False)
    raise LookupError(f"no text for {kind!r} in {language!r}")


# A company's own wording: the subject is a header (one line, the column's 300 characters);
# the body is a letter, not a document: 20,000 characters is ten pages of text.
SUBJECT_MAX = 300  # EmailTemplate.subject
BODY_MAX = 20_000


def _clean(kind: str, language: str, subject: str, body: str) -> tuple[str, str]:
    if language not in texts.LANGUAGES:
        raise InvalidInput(
            _("unknown language %(l)s (fr or en)") % {"l": repr(language)}, field="language"
        )
    # No control character in the subject (a CR LF would add headers); line breaks in the body.
    subject = check_visible(
        check_text(subject.strip(), "subject", max_length=SUBJECT_MAX), "subject"
    )
    body = check_text(body.strip(), "body", max_length=BODY_MAX, multiline=True) + "\n"
    try:
        texts.check(kind, subject, body)
    except texts.TemplateError as exc:
        raise InvalidInput(core_message(exc), field="template") from exc
    return subject, body


@transaction.atomic
def email_template_save(
    company: Company, *, kind: str, language: str, subject: str, body: str, actor: str
) -> EmailTemplate:
    """Set the company's wording of a kind in a language; an unknown placeholder (or a
    required one left out) is refused with nothing changed."""
    subject, body = _clean(kind, language, subject, body)
    template, _created = EmailTemplate.objects.update_or_create(
        company=company, kind=kind, language=language, defaults={"subject": subject, "body": body}
    )
    audit_record(
        company=company,
        actor=actor,
        action="email_template.saved",
        object_type="email_template",
        object_id=template.pk,
        data={"kind": kind, "language": language},
    )
    return template


@transaction.atomic
def email_template_reset(company: Company, *, kind: str, language: str, actor: str) -> bool:
    """Go back to the built-in wording; False when the company had none of its own."""
    deleted, _rows = EmailTemplate.objects.filter(
        company=company, kind=kind, language=language
    ).delete()
    if deleted:
        audit_record(
            company=company,
            actor=actor,
            action="email_template.reset",
            object_type="email_template",
            object_id=0,
            data={"kind": kind, "language": language},
        )
    return bool(deleted)
