"""Re-install the immutability guards: billing_invoice gained `subscription_id`."""

from typing import Any

from django.db import migrations

from facturier.billing import db_guards

INVOICE_COLUMNS = [
    "id", "company_id", "customer_id", "doc_type", "status", "number", "series_id",
    "sequence", "series_year", "issue_date", "due_date", "period_start", "period_end",
    "currency", "customer_po", "notes", "payment_terms_days", "corrects_id", "subscription_id",
    "seller", "buyer", "total_net", "total_vat", "total_gross", "vat_breakdown", "chain_index",
    "previous_hash", "content_hash", "issued_at", "issued_by", "created_at", "settled_amount",
    "settlement", "disputed",
]  # fmt: skip
MUTABLE = ["settled_amount", "settlement", "disputed"]


def forwards(apps: Any, schema_editor: Any) -> None:
    db_guards.install(schema_editor, mutable_columns=MUTABLE, columns=INVOICE_COLUMNS)


def backwards(apps: Any, schema_editor: Any) -> None:
    db_guards.install(
        schema_editor,
        mutable_columns=MUTABLE,
        columns=[c for c in INVOICE_COLUMNS if c != "subscription_id"],
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_subscriptions")]
    operations = [migrations.RunPython(forwards, backwards)]
