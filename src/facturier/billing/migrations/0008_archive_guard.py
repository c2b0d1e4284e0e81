"""Archived documents are written once: the database refuses UPDATE and DELETE."""

from typing import Any

from django.db import migrations

MSG = "facturier: an archived document is never overwritten or deleted"


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"""CREATE OR REPLACE FUNCTION facturier_archive_guard() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION '{MSG}' USING ERRCODE = 'restrict_violation'; END $$ LANGUAGE plpgsql"""
        )
        schema_editor.execute(
            "CREATE TRIGGER facturier_archive_guard BEFORE UPDATE OR DELETE ON "
            "billing_archiveddocument FOR EACH ROW EXECUTE FUNCTION facturier_archive_guard()"
        )
    else:
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER facturier_archive_{op.lower()} BEFORE {op} ON "
                f"billing_archiveddocument BEGIN SELECT RAISE(ABORT, '{MSG}'); END"
            )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS facturier_archive_guard() CASCADE")
    else:
        for op in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS facturier_archive_{op}")


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_archived_documents")]
    operations = [migrations.RunPython(forwards, backwards)]
