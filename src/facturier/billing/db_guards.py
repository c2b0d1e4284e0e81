"""Database triggers that make issued documents and the audit trail unchangeable, even to
raw SQL (DOMAIN invariant 4). Migrations call `install()` with the column lists of their time.

Both backends raise an integrity error ("restrict_violation" on PostgreSQL, a constraint
failure on SQLite), which Django surfaces as django.db.IntegrityError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

INVOICE = "billing_invoice"
LINE = "billing_invoiceline"
AUDIT = "billing_auditevent"
_MSG_DOC = "facturier: an issued document cannot be changed or deleted"
_MSG_AUDIT = "facturier: audit events are append-only"


def install(schema_editor: Any, *, mutable_columns: Sequence[str], columns: Sequence[str]) -> None:
    """(Re)create every guard. `columns` lists billing_invoice's columns, `mutable_columns`
    those an issued document may still change (settlement state and flags)."""
    protected = [c for c in columns if c not in mutable_columns]
    vendor = schema_editor.connection.vendor
    statements = _postgres(mutable_columns) if vendor == "postgresql" else _sqlite(protected)
    for sql in statements:
        schema_editor.execute(sql)


def uninstall(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    names = ["facturier_invoice_guard", "facturier_line_guard", "facturier_audit_guard"]
    for name in names:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    if vendor != "postgresql":
        for trigger in _SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def _postgres(mutable_columns: Sequence[str]) -> list[str]:
    # Compare whole rows minus the mutable columns, so a column added later is protected
    # without touching this function.
    minus = "".join(f" - '{c}'" for c in mutable_columns)
    raise_doc = f"RAISE EXCEPTION '{_MSG_DOC}' USING ERRCODE = 'restrict_violation'"
    return [
        f"""
CREATE OR REPLACE FUNCTION facturier_invoice_guard() RETURNS trigger AS $$
BEGIN
  IF OLD.status = 'issued' THEN
    IF TG_OP = 'DELETE' OR (to_jsonb(NEW){minus}) IS DISTINCT FROM (to_jsonb(OLD){minus}) THEN
      {raise_doc};
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS facturier_invoice_guard ON {INVOICE}",
        f"""CREATE TRIGGER facturier_invoice_guard BEFORE UPDATE OR DELETE ON {INVOICE}
FOR EACH ROW EXECUTE FUNCTION facturier_invoice_guard()""",
        f"""
CREATE OR REPLACE FUNCTION facturier_line_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND EXISTS (
      SELECT 1 FROM {INVOICE} WHERE id = OLD.invoice_id AND status = 'issued') THEN
    {raise_doc};
  END IF;
  IF TG_OP <> 'DELETE' AND EXISTS (
      SELECT 1 FROM {INVOICE} WHERE id = NEW.invoice_id AND status = 'issued') THEN
    {raise_doc};
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS facturier_line_guard ON {LINE}",
        f"""CREATE TRIGGER facturier_line_guard BEFORE INSERT OR UPDATE OR DELETE ON {LINE}
FOR EACH ROW EXECUTE FUNCTION facturier_line_guard()""",
        f"""
CREATE OR REPLACE FUNCTION facturier_audit_guard() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{_MSG_AUDIT}' USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS facturier_audit_guard ON {AUDIT}",
        f"""CREATE TRIGGER facturier_audit_guard BEFORE UPDATE OR DELETE ON {AUDIT}
FOR EACH ROW EXECUTE FUNCTION facturier_audit_guard()""",
        # TRUNCATE bypasses row triggers: refuse it too.
        f"DROP TRIGGER IF EXISTS facturier_audit_truncate ON {AUDIT}",
        f"""CREATE TRIGGER facturier_audit_truncate BEFORE TRUNCATE ON {AUDIT}
FOR EACH STATEMENT EXECUTE FUNCTION facturier_audit_guard()""",
    ]


_SQLITE_TRIGGERS = [
    "facturier_invoice_update",
    "facturier_invoice_delete",
    "facturier_line_insert",
    "facturier_line_update",
    "facturier_line_delete",
    "facturier_audit_update",
    "facturier_audit_delete",
]


def _sqlite(protected: Sequence[str]) -> list[str]:
    changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in protected)
    abort_doc = f"SELECT RAISE(ABORT, '{_MSG_DOC}');"
    abort_audit = f"SELECT RAISE(ABORT, '{_MSG_AUDIT}');"
    issued = f"(SELECT status FROM {INVOICE} WHERE id = %s.invoice_id) = 'issued'"
    drops = [f"DROP TRIGGER IF EXISTS {t}" for t in _SQLITE_TRIGGERS]
    return [
        *drops,
        f"""CREATE TRIGGER facturier_invoice_update BEFORE UPDATE ON {INVOICE}
WHEN OLD.status = 'issued' AND ({changed}) BEGIN {abort_doc} END""",
        f"""CREATE TRIGGER facturier_invoice_delete BEFORE DELETE ON {INVOICE}
WHEN OLD.status = 'issued' BEGIN {abort_doc} END""",
        f"""CREATE TRIGGER facturier_line_insert BEFORE INSERT ON {LINE}
WHEN {issued % "NEW"} BEGIN {abort_doc} END""",
        f"""CREATE TRIGGER facturier_line_update BEFORE UPDATE ON {LINE}
WHEN {issued % "OLD"} OR {issued % "NEW"} BEGIN {abort_doc} END""",
        f"""CREATE TRIGGER facturier_line_delete BEFORE DELETE ON {LINE}
WHEN {issued % "OLD"} BEGIN {abort_doc} END""",
        f"CREATE TRIGGER facturier_audit_update BEFORE UPDATE ON {AUDIT} BEGIN {abort_audit} END",
        f"CREATE TRIGGER facturier_audit_delete BEFORE DELETE ON {AUDIT} BEGIN {abort_audit} END",
    ]
