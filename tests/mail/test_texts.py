"""The wording of messages: built-in texts valid in both languages, a company's own wording
checked on save (an unknown placeholder is a clear error, nothing saved), the CLI."""

from __future__ import annotations

import doctest

import pytest
from click.testing import CliRunner

from facturier.billing.models import EmailTemplate
from facturier.billing.services import InvalidInput
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.mail import texts
from facturier.mail.templates import email_template_reset, email_template_save, text_for
from tests.actors import SYS


def test_doctests() -> None:
    assert doctest.testmod(texts).failed == 0


@pytest.mark.parametrize("key", sorted(texts.BUILTIN))
def test_every_builtin_text_is_valid(key) -> None:
    kind, _language = key
    subject, body = texts.BUILTIN[key]
    texts.check(kind, subject, body)


def test_every_kind_has_both_languages() -> None:
    for kind in texts.KINDS:
        assert texts.builtin(kind, "fr") and texts.builtin(kind, "en"), kind


@pytest.mark.parametrize(
    ("kind", "subject", "body", "error"),
    [
        ("invoice", "Facture {numero}", "x", "unknown placeholder {numero} in the subject"),
        ("invoice", "x", "{number.__class__}", "is not a placeholder"),
        ("invoice", "x", "{amount:>20}", "is not a placeholder"),
        ("invoice", "x", "{amount!r}", "is not a placeholder"),
        ("invoice", "x", "{0}", "is not a placeholder"),
        ("invoice", "x", "a { b", "literal brace"),
        ("invoice", "x", "a } b", "literal brace"),
        ("invoice", "", "x", "the subject is empty"),
        ("invoice", "a\nb", "x", "one line"),
        ("invoice", "x", "  ", "the body is empty"),
        ("credit_note", "x", "{due_date}", "unknown placeholder {due_date}"),
        ("reminder.formal", "x", "{amount_due}", "must keep {late_charges}"),
        ("reminder.x", "x", "y", "unknown message kind"),
        ("newsletter", "x", "y", "unknown message kind"),
    ],
)
def test_bad_texts_refused(kind, subject, body, error) -> None:
    with pytest.raises(texts.TemplateError, match=error.replace("{", r"\{").replace("}", r"\}")):
        texts.check(kind, subject, body)


def test_literal_braces_allowed() -> None:
    texts.check("invoice", "Facture {number}", "Réf. {{client}} : {customer}")
    assert texts.fill("{{x}} {number}", {"number": "F1"}) == "{x} F1"


def test_company_wording_saved_checked_and_reset(company) -> None:
    assert not text_for(company, "invoice", "fr").custom
    email_template_save(
        company, kind="invoice", language="fr", actor=SYS,
        subject="Votre facture {number}", body="Bonjour {customer}, voici {number}.",
    )  # fmt: skip
    own = text_for(company, "invoice", "fr")
    assert (own.custom, own.subject) == (True, "Votre facture {number}")
    assert not text_for(company, "invoice", "en").custom  # per language
    with pytest.raises(InvalidInput, match=r"variable inconnue \{montant\} \(corps du message\)"):
        email_template_save(
            company, kind="invoice", language="fr", actor=SYS,
            subject="Votre facture {number}", body="Montant : {montant}",
        )  # fmt: skip
    assert EmailTemplate.objects.get().body == "Bonjour {customer}, voici {number}.\n"  # kept
    with pytest.raises(InvalidInput, match="langue inconnue"):
        email_template_save(
            company, kind="invoice", language="de", actor=SYS, subject="x", body="y"
        )
    assert email_template_reset(company, kind="invoice", language="fr", actor=SYS)
    assert not text_for(company, "invoice", "fr").custom
    assert not email_template_reset(company, kind="invoice", language="fr", actor=SYS)


def test_cli_templates(company, tmp_path) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["mail", "templates"])
    assert listed.exit_code == 0, listed.output
    assert "reminder.formal: Formal notice" in listed.output and "{late_charges}" in listed.output
    shown = runner.invoke(cli, ["mail", "template", "invoice", "en"])
    assert "built-in wording" in shown.output and "Subject: Invoice {number}" in shown.output

    body = tmp_path / "body.txt"
    body.write_text("Hello {customer}, total {montant}.", encoding="utf-8")
    bad = runner.invoke(cli, ["mail", "template", "invoice", "en", "--body-file", str(body)])
    assert bad.exit_code == 2 and "unknown placeholder {montant}" in bad.output
    assert "Traceback" not in bad.output
    assert not EmailTemplate.objects.exists()

    body.write_text("Hello {customer}, total {amount}.", encoding="utf-8")
    good = runner.invoke(
        cli,
        [
            "mail",
            "template",
            "invoice",
            "en",
            "--body-file",
            str(body),
            "--subject",
            "Inv {number}",
        ],
    )
    assert good.exit_code == 0, good.output
    assert EmailTemplate.objects.get().subject == "Inv {number}"
    level = runner.invoke(cli, ["mail", "template", "reminder.4", "fr"])
    assert "from 'reminder'" in level.output  # a level without its own text
    unknown = runner.invoke(cli, ["mail", "template", "welcome", "fr"])
    assert unknown.exit_code == 2 and "unknown message kind" in unknown.output
    reset = runner.invoke(cli, ["mail", "template", "invoice", "en", "--reset"])
    assert reset.exit_code == 0 and not EmailTemplate.objects.exists()


def test_company_wording_reaches_the_email(mailbox, frozen, company, issued) -> None:
    from facturier.billing.models import MailboxMessage
    from tests.mail.conftest import deliver_all

    email_template_save(
        company, kind="invoice", language="fr", actor=SYS,
        subject="Votre facture {number} ({amount})", body="Échéance : {due_date}.",
    )  # fmt: skip
    inv = issued()
    deliver_all()
    box = MailboxMessage.objects.get()
    assert box.subject == f"Votre facture {inv.number} (120,00\xa0€)"
    assert b"Content-Type: application/pdf" in bytes(box.raw)
    assert box.bcc == ["compta@example.com"]


def test_a_bad_wording_written_around_the_check_fails_the_message_at_once(
    mailbox, frozen, company, issued
) -> None:
    from facturier.billing.models import MailboxMessage, OutboxMessage
    from tests.mail.conftest import deliver_all

    EmailTemplate.objects.create(
        company=company, kind="invoice", language="fr", subject="{number}", body="{montant}"
    )
    issued()
    deliver_all()
    row = OutboxMessage.objects.get(kind="email.invoice")
    assert (row.status, row.attempts) == ("failed", 1)
    assert "the company's invoice/fr text: unknown placeholder {montant}" in row.last_error
    assert not MailboxMessage.objects.exists()
