"""`facturier audit …`: check the tamper-evident chains, sign checkpoints, export for an
auditor (docs/invoicing.md, "Audit")."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from facturier.cli.main import EXIT_FAILED, cli, friendly_errors
from facturier.cli.params import DATE, company_option, resolve_company


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
@friendly_errors
def verify() -> None:
    """Recompute every hash chain (audit events, issued documents, archived files) and check
    the signed checkpoints; exit 1 on a break. Stray archive files are listed."""
    from facturier.billing.models import Invoice
    from facturier.billing.services.verify import audit_report

    issued = Invoice.objects.filter(status="issued").count()
    with click.progressbar(
        length=issued, label="Verifying", file=sys.stderr, show_pos=True,
        hidden=not sys.stderr.isatty(),
    ) as bar:  # fmt: skip
        report = audit_report(progress=bar.update)
    for warning in report.warnings:
        click.echo(f"WARNING: {warning}", err=True)
    for name in report.stray:
        click.echo(f"STRAY: {name} (under the archive prefix, but no archive row names it)")
    if report.breaks:
        for brk in report.breaks:
            click.echo(f"BROKEN: {brk}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(
        f"OK: {report.events} audit events and {report.documents} issued documents verified; "
        f"{report.archived} archived documents, {report.checkpoints} checkpoints."
    )


@audit.command()
@click.option("--company", "company_ref", metavar="SIREN|ID", help="Only this company.")
@friendly_errors
def checkpoint(company_ref: str | None) -> None:
    """Sign the chain heads now and store the checkpoint in the archive storage (the worker
    makes one a day)."""
    from facturier.billing.models import Company
    from facturier.billing.services.checkpoints import checkpoint_make

    companies = [resolve_company(company_ref)] if company_ref else Company.objects.order_by("pk")
    for company in companies:
        made = checkpoint_make(company=company)
        signed = f"signed by key {made.key_id[:16]}" if made.signature else "NOT SIGNED"
        click.echo(f"{made.file_name}: {made.documents} documents, {made.events} events, {signed}.")
        if not made.signature:
            click.echo(
                "WARNING: no checkpoint key is configured (FACTURIER_CHECKPOINT_KEY or "
                "FACTURIER_CHECKPOINT_KEY_FILE): this checkpoint proves little.",
                err=True,
            )


@audit.command("public-key")
@friendly_errors
def public_key() -> None:
    """Print the public key that checks the checkpoints (give it to your auditor)."""
    from facturier.billing.services.checkpoints import signing_key
    from facturier.core.checkpoints import key_id, public_key_pem, public_key_text

    key = signing_key(create=True)
    if key is None:
        raise click.ClickException(
            "no checkpoint key is configured: set FACTURIER_CHECKPOINT_KEY or "
            "FACTURIER_CHECKPOINT_KEY_FILE (facturier audit keygen makes a key file)"
        )
    click.echo(f"Ed25519 public key (base64): {public_key_text(key)}")
    click.echo(f"Key id (SHA-256 of the key): {key_id(public_key_text(key))}")
    click.echo(public_key_pem(key), nl=False)


@audit.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="The new private key file (never overwritten).")  # fmt: skip
def keygen(output: Path) -> None:
    """Make a new Ed25519 private key file for FACTURIER_CHECKPOINT_KEY_FILE (keep it outside
    the database and its backups)."""
    from facturier.billing.services.checkpoints import key_file_create
    from facturier.core.checkpoints import key_id, private_key_load, public_key_text

    if output.exists():
        raise click.ClickException(f"{output} exists: a key file is never overwritten")
    key_file_create(output)
    key = private_key_load(output.read_bytes())
    click.echo(f"Wrote {output} (readable by its owner only).")
    click.echo(f"Public key (base64): {public_key_text(key)}")
    click.echo(f"Key id: {key_id(public_key_text(key))}")


@audit.command("export")
@company_option
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="A new directory, or a file name ending in .zip.")  # fmt: skip
@click.option("--from", "start", type=DATE, help="Documents issued from this date.")
@click.option("--to", "end", type=DATE, help="Documents issued up to this date.")
@friendly_errors
def export(company_ref: str | None, output: Path, start: date | None, end: date | None) -> None:
    """Export for a tax auditor: the issued documents as hashed, their archived PDF/XML, the
    audit chain, the signed checkpoints and a manifest; check it with
    scripts/verify_export.py (no Facturier needed)."""
    from facturier.billing.audit_export import audit_export

    company = resolve_company(company_ref)
    summary = audit_export(company=company, output=output, start=start, end=end)
    click.echo(
        f"Wrote {summary.path}: {summary.documents} documents, {summary.events} events, "
        f"{summary.files} archived files, {summary.checkpoints} checkpoints."
    )
    if not summary.manifest["complete"]:
        click.echo("A partial export: the chains are checked within the range only.")
