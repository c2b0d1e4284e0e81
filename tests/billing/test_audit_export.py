"""`facturier audit export` and scripts/verify_export.py: an auditor re-checks everything
without Facturier; a file or an amount changed in the export is reported."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner

from facturier.billing.models import ArchivedDocument
from facturier.billing.services import credit_note_create, invoice_issue, payment_record
from facturier.billing.services.checkpoints import checkpoint_make
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.core import checkpoints as cp
from facturier.core.hashing import canonical_json, chain_hash
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_export.py"
KEY = base64.b64encode(bytes(range(32))).decode()
PUBLIC = cp.public_key_text(cp.private_key_load(KEY))


@pytest.fixture(autouse=True)
def _storage_and_key(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHECKPOINT_KEY = KEY
    settings.CHECKPOINT_KEY_FILE = ""
    settings.CHECKPOINT_KEY_CREATE = False
    settings.CHECKPOINT_TRUSTED_KEYS = []


@pytest.fixture
def history(make_draft, customer, company):
    """Three documents over two months, archived, paid in part, with two checkpoints."""
    with time_machine.travel(datetime(2026, 3, 10, 9, tzinfo=UTC), tick=False):
        first = invoice_issue(make_draft(), actor=SYS)
        outbox_deliver()
        checkpoint_make(company=company)
    with time_machine.travel(datetime(2026, 4, 10, 9, tzinfo=UTC), tick=False):
        second = invoice_issue(make_draft(), actor=SYS)
        credit_note_create(first, actor=SYS)
        payment_record(
            customer=customer, amount=Decimal("50.00"), received_on=date(2026, 4, 10),
            method="transfer", actor=SYS,
        )  # fmt: skip
        outbox_deliver()
        checkpoint_make(company=company)
    return first, second


def _verify(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The script as an auditor runs it: another interpreter, no Django settings, no path
    to Facturier's sources."""
    env = {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), str(path), *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def _export(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["audit", "export", "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


def test_export_verifies(history, tmp_path):
    out = _export(tmp_path, "export")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert (manifest["documents"]["count"], len(manifest["archives"])) == (3, 3)
    assert sorted(p.name for p in (out / "checkpoints").rglob("*.json")) == sorted(
        Path(name).name for name in manifest["files"] if name.startswith("checkpoints/")
    )
    result = _verify(out, "--public-key", PUBLIC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        f"OK: 3 documents and {manifest['events']['count']} events recomputed, 3 archived "
        "documents checked, 2 signed checkpoints verified.\n"
    )


def test_export_hashes_are_the_application_s(history, tmp_path):
    """The exported content, hashed with the documented rules, gives the stored hashes."""
    out = _export(tmp_path, "export")
    first, _second = history
    line = json.loads((out / "documents.jsonl").read_text().splitlines()[0])
    assert line["content_hash"] == first.content_hash
    assert chain_hash("", line["content"]) == first.content_hash
    assert canonical_json(line["content"]).decode().startswith('{"buyer":')


def test_zip_export_verifies(history, tmp_path):
    out = _export(tmp_path, "export.zip")
    assert zipfile.is_zipfile(out)
    result = _verify(out, "--public-key", PUBLIC)
    assert result.returncode == 0, result.stdout + result.stderr


def test_partial_export_verifies(history, tmp_path):
    out = _export(tmp_path, "april", "--from", "2026-04-01", "--to", "2026-04-30")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["documents"]["first_index"] == 2
    assert manifest["documents"]["count"] == 2
    result = _verify(out, "--public-key", PUBLIC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith("(a partial export: the range only).\n")


def _tamper_amount(out: Path) -> None:
    lines = (out / "documents.jsonl").read_text().splitlines()
    doc = json.loads(lines[0])
    doc["content"]["total_gross"] = "12"
    lines[0] = json.dumps(doc)
    (out / "documents.jsonl").write_text("\n".join(lines) + "\n")


def test_tampered_amount_reported(history, tmp_path):
    out = _export(tmp_path, "export")
    _tamper_amount(out)
    result = _verify(out, "--public-key", PUBLIC)
    assert result.returncode == 1
    assert result.stdout == "BROKEN: documents.jsonl differs from the SHA-256 the manifest lists\n"
    # The same change with the manifest brought in line: the chain itself shows it.
    manifest = json.loads((out / "manifest.json").read_text())
    import hashlib

    manifest["files"]["documents.jsonl"] = hashlib.sha256(
        (out / "documents.jsonl").read_bytes()
    ).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    first, _second = history
    result = _verify(out, "--public-key", PUBLIC)
    assert result.stdout == (
        f"BROKEN: document {first.number}: its content does not have its hash (altered)\n"
    )


def test_tampered_file_reported(history, tmp_path):
    """A PDF replaced in the export, its SHA-256 in the manifest too: the chained SHA-256
    still differs."""
    import hashlib

    out = _export(tmp_path, "export")
    arch = ArchivedDocument.objects.order_by("pk").first()
    path = out / "files" / arch.pdf_name
    path.write_bytes(b"%PDF-1.7 forged")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"][f"files/{arch.pdf_name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = _verify(out, "--public-key", PUBLIC)
    assert result.returncode == 1
    assert result.stdout == (
        f"BROKEN: document {arch.invoice.number}: {arch.pdf_name} altered (its SHA-256 is not "
        "the chained one)\n"
    )


def test_rewritten_export_caught_by_the_checkpoint(history, tmp_path):
    """Recompute every hash of the export after changing an amount (what a forger who knows
    the rules does): the signed checkpoints no longer match."""
    import hashlib

    out = _export(tmp_path, "export")
    _tamper_amount(out)
    docs = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    previous, hashes = "", {}
    for doc in docs:
        doc["previous_hash"], doc["content_hash"] = previous, chain_hash(previous, doc["content"])
        hashes[doc["number"]] = previous = doc["content_hash"]
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    previous = ""
    for event in events:
        data = event["content"]["data"]
        if event["content"]["action"].endswith(".issued"):
            data["hash"] = hashes[data["number"]]
        event["previous_hash"], event["hash"] = previous, chain_hash(previous, event["content"])
        previous = event["hash"]
    manifest = json.loads((out / "manifest.json").read_text())
    for name, rows in (("documents.jsonl", docs), ("events.jsonl", events)):
        body = "".join(json.dumps(r) + "\n" for r in rows).encode()
        (out / name).write_bytes(body)
        manifest["files"][name] = hashlib.sha256(body).hexdigest()
    manifest["chain_head"]["last_document_hash"] = docs[-1]["content_hash"]
    manifest["chain_head"]["last_event_hash"] = events[-1]["hash"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = _verify(out, "--public-key", PUBLIC)
    assert result.returncode == 1
    assert "history rewritten" in result.stdout
    assert result.stdout.startswith("BROKEN: checkpoints/")


def test_untrusted_key_reported(history, tmp_path):
    out = _export(tmp_path, "export")
    other = cp.public_key_text(cp.private_key_load(base64.b64encode(bytes(32)).decode()))
    result = _verify(out, "--public-key", other)
    assert result.returncode == 1
    assert "which is not trusted" in result.stdout


def test_export_refuses_an_existing_output(history, tmp_path):
    out = _export(tmp_path, "export")
    again = CliRunner().invoke(cli, ["audit", "export", "-o", str(out)])
    assert again.exit_code == 2
    assert "exists and is not empty" in again.output
