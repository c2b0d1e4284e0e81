"""Tamper evidence (docs/invoicing.md, "Audit"): signed checkpoints, TRUNCATE refused on every
table of legal records, row guards on the records beside the documents, and each archived
file's SHA-256 bound into the audit chain ("document.archived" events, appended here for the
documents archived before this migration)."""

import json
from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from facturier.billing import clock, db_guards
from facturier.core.hashing import canonical_json, chain_hash

ACTOR = "migration 0016"


def guards(apps: Any, schema_editor: Any) -> None:
    db_guards.install_records(schema_editor)


def no_guards(apps: Any, schema_editor: Any) -> None:
    db_guards.uninstall_records(schema_editor)


def chain_archives(apps: Any, schema_editor: Any) -> None:
    """Append a "document.archived" event for each document archived so far, in archive
    order, exactly as billing/services/archive.py writes them from now on."""
    archived = apps.get_model("billing", "ArchivedDocument")
    heads = apps.get_model("billing", "ChainHead")
    events = apps.get_model("billing", "AuditEvent")
    rows = archived.objects.select_related("invoice").order_by("pk")
    for company_id in sorted({row.invoice.company_id for row in rows}):
        head, _ = heads.objects.get_or_create(company_id=company_id)
        for row in rows.filter(invoice__company_id=company_id):
            data = {
                "number": row.invoice.number, "pdf": row.pdf_name, "pdf_sha256": row.pdf_sha256,
                "xml": row.xml_name, "xml_sha256": row.xml_sha256,
            }  # fmt: skip
            fields = {
                "at": clock.now(), "actor": ACTOR, "action": "document.archived",
                "object_type": "invoice", "object_id": str(row.invoice_id),
                "data": json.loads(canonical_json(data)),
            }  # fmt: skip
            event = events.objects.create(
                company_id=company_id,
                previous_hash=head.last_event_hash,
                hash=chain_hash(head.last_event_hash, {"company": company_id, **fields}),
                **fields,
            )
            head.last_event_hash = event.hash
        head.save(update_fields=["last_event_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0018_subscription_edit"),
    ]

    operations = [
        migrations.CreateModel(
            name="Checkpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField()),
                ("siren", models.CharField(blank=True, max_length=9)),
                ("documents", models.PositiveIntegerField()),
                ("last_document_hash", models.CharField(blank=True, max_length=64)),
                ("events", models.PositiveIntegerField()),
                ("last_event_hash", models.CharField(blank=True, max_length=64)),
                ("key_id", models.CharField(blank=True, max_length=64)),
                ("signature", models.CharField(blank=True, max_length=100)),
                ("file_name", models.CharField(max_length=300, unique=True)),
                (
                    "company",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="checkpoints",
                        to="billing.company",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["company", "at"], name="billing_che_company_9b6924_idx")
                ],
            },
        ),
        migrations.RunPython(guards, no_guards),
        migrations.RunPython(chain_archives, migrations.RunPython.noop),
    ]
