"""Database triggers that make issued documents and the audit trail unchangeable, even to
raw SQL (DOMAIN invariant 4). Migrations call `install()` with the column lists of their time,
and `install_records()` for the other legal records (docs/invoicing.md, "What the database
refuses").

Both backends raise an integrity error ("restrict_violation" on PostgreSQL, a constraint
failure on SQLite), which Django surfaces as django.db.IntegrityError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

INVOICE = "billing_invoice"
LINE = "billing_invoiceline"
AUDIT = "billing_auditevent"
ARCHIVE = "billing_archiveddocument"
CHAIN_HEAD = "billing_chainhead"
COUNTER = "billing_seriescounter"
PAYMENT = "billing_payment"
ALLOCATION = "billing_paymentallocation"
BILLED_PERIOD = "billing_billedperiod"
REMINDER = "billing_reminder"
CHECKPOINT = "billing_checkpoint"
REVERSAL = "billing_paymentreversal"
REFUND = "billing_refund"
REFUND_DRAW = "billing_refunddraw"
# Every table that holds issued or legal records: TRUNCATE (which skips row triggers, and with
# CASCADE empties every table that references the one named) is refused on each of them.
TRUNCATE_GUARDED = [
    INVOICE, LINE, ARCHIVE, AUDIT, CHAIN_HEAD, COUNTER, PAYMENT, ALLOCATION, BILLED_PERIOD,
    REMINDER, CHECKPOINT, REVERSAL, REFUND, REFUND_DRAW,
]  # fmt: skip
# Rows that are never deleted: the money received and how it settled invoices (corrected by
# entries, never by edits: reversals, refunds and what they drew on), the reminders sent (the
# formal notice is evidence), the signed checkpoints. Chain heads and series counters are
# never deleted and never go backwards.
NEVER_DELETED = [
    PAYMENT, ALLOCATION, REVERSAL, REFUND, REFUND_DRAW, REMINDER, CHECKPOINT, CHAIN_HEAD, COUNTER,
]  # fmt: skip
_MSG_RECORD = "facturier: legal records cannot be deleted or truncated"
_MSG_BACKWARDS = "facturier: a chain head or a numbering counter never goes backwards"
_MSG_CHECKPOINT = "facturier: a checkpoint never changes"
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


# The other legal records (migration 0016) -------------------------------------------------

# (name, table, SQLite condition on OLD/NEW or "" for always, message) of each row guard.
_RECORD_ROW_GUARDS: list[tuple[str, str, str, str, str]] = [
    *((f"facturier_{t.removeprefix('billing_')}_delete", "DELETE", t, "", _MSG_RECORD)
      for t in NEVER_DELETED),
    ("facturier_billedperiod_delete", "DELETE", BILLED_PERIOD,
     f"(SELECT status FROM {INVOICE} WHERE id = OLD.invoice_id) = 'issued'", _MSG_RECORD),
    ("facturier_chainhead_backwards", "UPDATE", CHAIN_HEAD, "NEW.documents < OLD.documents",
     _MSG_BACKWARDS),
    ("facturier_seriescounter_backwards", "UPDATE", COUNTER, "NEW.last_value < OLD.last_value",
     _MSG_BACKWARDS),
    ("facturier_checkpoint_update", "UPDATE", CHECKPOINT, "", _MSG_CHECKPOINT),
]  # fmt: skip


def install_records(schema_editor: Any) -> None:
    """(Re)create the guards of the legal records beside the documents: TRUNCATE refused on
    every table of TRUNCATE_GUARDED (PostgreSQL; SQLite has no TRUNCATE, and its DELETE FROM
    without WHERE runs the row triggers), and the row guards of _RECORD_ROW_GUARDS."""
    connection = schema_editor.connection
    postgres = connection.vendor == "postgresql"
    # A migration runs this code as it is today: guard only the tables that exist at that
    # step (a later migration that creates a table, or rebuilds one on SQLite, runs it again).
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    statements = _postgres_records(tables) if postgres else _sqlite_records(tables)
    for sql in statements:
        schema_editor.execute(sql, None)  # no parameters: "%" is PL/pgSQL's, not psycopg's


def uninstall_records(schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in ("facturier_truncate_guard", "facturier_record_guard"):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    else:
        for name, *_rest in _RECORD_ROW_GUARDS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def _postgres_records(tables: set[str]) -> list[str]:
    statements = [
        f"""
CREATE OR REPLACE FUNCTION facturier_truncate_guard() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '{_MSG_RECORD} (%)', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql""",
        # One function for every row guard: TG_ARGV[0] is the message, TG_ARGV[1] the kind of
        # check ("always", "issued" for a row of an issued invoice, "documents"/"last_value"
        # for a counter that may only grow).
        f"""
CREATE OR REPLACE FUNCTION facturier_record_guard() RETURNS trigger AS $$
DECLARE
  refused boolean := TG_ARGV[1] = 'always';
BEGIN
  -- Nested tests: a column is only read on the tables that have it.
  IF TG_ARGV[1] = 'issued' THEN
    refused := EXISTS (SELECT 1 FROM {INVOICE} WHERE id = OLD.invoice_id AND status = 'issued');
  ELSIF TG_ARGV[1] = 'documents' THEN
    refused := NEW.documents < OLD.documents;
  ELSIF TG_ARGV[1] = 'last_value' THEN
    refused := NEW.last_value < OLD.last_value;
  END IF;
  IF refused THEN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql""",
    ]
    for table in [t for t in TRUNCATE_GUARDED if t in tables]:
        statements += [
            f"DROP TRIGGER IF EXISTS facturier_truncate_guard ON {table}",
            f"CREATE TRIGGER facturier_truncate_guard BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION facturier_truncate_guard()",
        ]
    kinds = {
        "facturier_billedperiod_delete": "issued",
        "facturier_chainhead_backwards": "documents",
        "facturier_seriescounter_backwards": "last_value",
    }
    for name, op, table, _when, message in _RECORD_ROW_GUARDS:
        if table not in tables:
            continue
        kind = kinds.get(name, "always")
        statements += [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION facturier_record_guard('{message}', '{kind}')",
        ]
    return statements


def _sqlite_records(tables: set[str]) -> list[str]:
    statements = []
    for name, op, table, when, message in _RECORD_ROW_GUARDS:
        if table not in tables:
            continue
        condition = f" WHEN {when}" if when else ""
        statements += [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} BEFORE {op} ON {table}{condition} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ]
    return statements
