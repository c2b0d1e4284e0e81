"""The export for a tax auditor (`facturier audit export`): a company's issued documents as
hashed, their archived files, its audit chain and its signed checkpoints, with a manifest and
a README that state the hashing rules, so that `scripts/verify_export.py` (standard library +
`cryptography`, no Django, no facturier) or the auditor's own code can recompute everything.

The export is a consistent cut without locks: the chain head is read first, and nothing
chained after it is written. With --from/--to, the documents issued in those dates and the
stretch of the audit chain around them (extended to their issue and archive events) go out.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.core.files.storage import default_storage
from django.db.models import Max, Min

from facturier.billing import clock
from facturier.billing.archive import CHECKPOINT_PREFIX, storage_walk
from facturier.billing.models import ArchivedDocument, AuditEvent, ChainHead, Company, Invoice
from facturier.billing.services.archive import ARCHIVED
from facturier.billing.services.audit import event_content
from facturier.billing.services.chains import ISSUE_ACTIONS, company_events, issued_documents
from facturier.billing.services.checkpoints import trusted_keys
from facturier.billing.services.errors import InvalidInput
from facturier.billing.snapshots import document_content
from facturier.core.hashing import canonical_json

FORMAT = "facturier-audit-export/1"

HASHING = {
    "canonical_json": (
        "UTF-8 JSON, keys sorted by Unicode code point at every level, no whitespace "
        "(separators ',' and ':'), non-ASCII characters written as themselves; amounts are "
        "strings of the normalised decimal (no exponent, no trailing zeros: '12.5', '0'); "
        "dates and instants are ISO 8601 strings (Python's isoformat)"
    ),
    "chain_hash": (
        "SHA-256, hex, of: the previous link's hash as ASCII (empty for the first link), a "
        "newline byte (0x0A), then the canonical JSON of the link's content"
    ),
    "documents": "content_hash = chain_hash(previous_hash, content) in chain_index order",
    "events": "hash = chain_hash(previous_hash, content) in seq order",
    "files": "SHA-256 (hex) of the file's bytes, as chained by its 'document.archived' event",
    "checkpoints": (
        "Ed25519 signature (base64) of the canonical JSON of 'statement', by the key whose raw "
        "32 bytes (base64) are 'public_key'; key_id = SHA-256 (hex) of those raw bytes"
    ),
}


@dataclass
class ExportSummary:
    path: Path
    documents: int = 0
    events: int = 0
    files: int = 0
    checkpoints: int = 0
    manifest: dict[str, Any] = field(default_factory=dict)


class _Out:
    """A directory or a ZIP file; remembers the SHA-256 of everything written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digests: dict[str, str] = {}
        self.zip = zipfile.ZipFile(path, "x", zipfile.ZIP_DEFLATED) if _is_zip(path) else None
        if self.zip is None:
            path.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: bytes, *, listed: bool = True) -> None:
        self.stream(name, iter([data]), listed=listed)

    def stream(self, name: str, chunks: Iterator[bytes], *, listed: bool = True) -> None:
        """Write `name` from chunks, never holding the whole file (documents.jsonl…)."""
        digest = hashlib.sha256()
        if self.zip is not None:
            with self.zip.open(name, "w", force_zip64=True) as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
        else:
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as f:
                for chunk in chunks:
                    digest.update(chunk)
                    f.write(chunk)
        if listed:
            self.digests[name] = digest.hexdigest()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def audit_export(
    *, company: Company, output: Path, start: date | None = None, end: date | None = None
) -> ExportSummary:
    """Write the export to `output` (a new ZIP file, or an empty or new directory)."""
    if start and end and start > end:
        raise InvalidInput("--from is after --to", field="from")
    if output.exists() and (_is_zip(output) or any(output.iterdir())):
        raise InvalidInput(f"{output} exists and is not empty: choose a new name", field="output")
    head = ChainHead.objects.filter(company=company).first() or ChainHead(company=company)
    cut = _cut(company, head)
    docs = _document_range(company, head, start, end)
    events = _event_range(company, cut, docs, start, end)
    out = _Out(output)
    try:
        summary = ExportSummary(path=output)
        first_doc = _write_documents(out, company, docs, summary)
        first_event = _write_events(out, company, events, summary)
        archives = _write_files(out, company, docs, summary)
        _write_checkpoints(out, company, summary, events=_seq_before(company, cut + 1))
        manifest = {
            "format": FORMAT,
            "generated_at": clock.now().isoformat(),
            "company": {
                "id": company.pk,
                "legal_name": company.legal_name,
                "siren": company.siren,
            },
            "complete": start is None and end is None,
            "range": {
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
            },
            "chain_head": {
                "documents": head.documents,
                "last_document_hash": head.last_document_hash,
                "events": _seq_before(company, cut + 1) if cut else 0,
                "last_event_hash": head.last_event_hash,
            },
            "documents": {"count": summary.documents, **first_doc},
            "events": {"count": summary.events, **first_event},
            "archives": archives,
            "hashing": HASHING,
            "files": dict(sorted(out.digests.items())),
        }
        summary.manifest = manifest
        out.write("manifest.json", _pretty(manifest), listed=False)
        out.write("README.txt", README.encode(), listed=False)
    finally:
        out.close()
    return summary


def _cut(company: Company, head: ChainHead) -> int:
    """The pk of the last event of the cut (0: no event)."""
    if not head.last_event_hash:
        return 0
    last = AuditEvent.objects.filter(company=company, hash=head.last_event_hash).first()
    if last is None:
        raise InvalidInput("the chain head names an event that does not exist: run "
                           "facturier audit verify", field="company")  # fmt: skip
    return last.pk


def _document_range(
    company: Company, head: ChainHead, start: date | None, end: date | None
) -> tuple[int, int]:
    """The chain indexes [first, last] exported (first > last: none)."""
    if start is None and end is None:
        return 1, head.documents
    inside = Invoice.objects.filter(company=company, status="issued",
                                    chain_index__lte=head.documents)  # fmt: skip
    if start:
        inside = inside.filter(issue_date__gte=start)
    if end:
        inside = inside.filter(issue_date__lte=end)
    bounds = inside.aggregate(first=Min("chain_index"), last=Max("chain_index"))
    return (bounds["first"] or 1, bounds["last"] or 0)


def _event_range(
    company: Company,
    cut: int,
    docs: tuple[int, int],
    start: date | None,
    end: date | None,
) -> tuple[int, int]:
    """The event pks [first, last] exported: the whole chain, or the events of the dates
    widened to the issue and archive events of the documents exported."""
    events = company_events(company).filter(pk__lte=cut)
    if start is None and end is None:
        return (events.aggregate(m=Min("pk"))["m"] or 1, cut)
    zone = ZoneInfo(company.timezone)
    if start:
        events = events.filter(at__gte=datetime.combine(start, time(), zone))
    if end:
        events = events.filter(at__lt=datetime.combine(end + timedelta(days=1), time(), zone))
    first, last = docs
    ids = [str(pk) for pk in _doc_ids(company, first, last)]
    related = company_events(company).filter(
        pk__lte=cut, object_type="invoice", object_id__in=ids,
        action__in=[*ISSUE_ACTIONS, ARCHIVED],
    )  # fmt: skip
    bounds = [qs.aggregate(first=Min("pk"), last=Max("pk")) for qs in (events, related)]
    firsts = [b["first"] for b in bounds if b["first"] is not None]
    lasts = [b["last"] for b in bounds if b["last"] is not None]
    return (min(firsts), max(lasts)) if firsts else (1, 0)


def _doc_ids(company: Company, first: int, last: int) -> list[int]:
    return list(
        Invoice.objects.filter(
            company=company, status="issued", chain_index__gte=first, chain_index__lte=last
        ).values_list("pk", flat=True)
    )


def _seq_before(company: Company, pk: int) -> int:
    """How many of the company's events come before event `pk`."""
    return AuditEvent.objects.filter(company=company, pk__lt=pk).count()


def _write_documents(
    out: _Out, company: Company, docs: tuple[int, int], summary: ExportSummary
) -> dict[str, Any]:
    first, last = docs
    rows = issued_documents(company, after_index=first - 1).filter(chain_index__lte=last)
    previous = ""
    if first > 1:
        before = issued_documents(company, after_index=first - 2).values_list(
            "content_hash", flat=True
        )[:1]
        previous = next(iter(before), "")
    out.stream("documents.jsonl", _document_lines(rows, summary))
    return {"first_index": first, "previous_hash": previous}


def _document_lines(rows: Any, summary: ExportSummary) -> Iterator[bytes]:
    for doc in rows.iterator(chunk_size=500):
        summary.documents += 1
        yield _line({
            "chain_index": doc.chain_index, "number": doc.number, "doc_type": doc.doc_type,
            "issue_date": doc.issue_date, "previous_hash": doc.previous_hash,
            "content_hash": doc.content_hash, "content": document_content(doc),
        })  # fmt: skip


def _write_events(
    out: _Out, company: Company, events: tuple[int, int], summary: ExportSummary
) -> dict[str, Any]:
    first, last = events
    seq = _seq_before(company, first)
    rows = company_events(company).filter(pk__gte=first, pk__lte=last)
    before = company_events(company).filter(pk__lt=first).order_by("-pk")
    previous = before.values_list("hash", flat=True).first() or ""

    def lines() -> Iterator[bytes]:
        nonlocal seq
        for event in rows.iterator(chunk_size=2000):
            seq += 1
            summary.events += 1
            yield _line({"seq": seq, "id": event.pk, "previous_hash": event.previous_hash,
                         "hash": event.hash, "content": event_content(event)})  # fmt: skip

    first_seq = seq + 1
    out.stream("events.jsonl", lines())
    return {"first_seq": first_seq, "previous_hash": previous}


def _write_files(
    out: _Out, company: Company, docs: tuple[int, int], summary: ExportSummary
) -> dict[str, dict[str, str]]:
    """The archived files of the documents exported, under files/<archive name>."""
    first, last = docs
    archives = ArchivedDocument.objects.filter(
        invoice__company=company, invoice__status="issued",
        invoice__chain_index__gte=first, invoice__chain_index__lte=last,
    ).select_related("invoice").order_by("invoice__chain_index")  # fmt: skip
    listed: dict[str, dict[str, str]] = {}
    for arch in archives.iterator(chunk_size=500):
        for name in (arch.pdf_name, arch.xml_name):
            with default_storage.open(name, "rb") as f:
                out.write(f"files/{name}", f.read())
            summary.files += 1
        listed[str(arch.invoice.number)] = {"pdf": arch.pdf_name, "xml": arch.xml_name}
    return listed


def _write_checkpoints(out: _Out, company: Company, summary: ExportSummary, *, events: int) -> None:
    """The company's checkpoints made up to the cut (a later one states events that are not
    exported), and the public keys to check them with."""
    trusted = trusted_keys()
    keys: dict[str, str] = dict(trusted or {})
    for name in storage_walk(f"{CHECKPOINT_PREFIX}/{company.pk}"):
        with default_storage.open(name, "rb") as f:
            data = f.read()
        try:
            doc = json.loads(data)
            if doc["statement"]["events"] > events:
                continue
            if trusted is None and doc.get("key_id"):
                keys[doc["key_id"]] = doc["public_key"]
        except (ValueError, KeyError, TypeError):
            pass  # exported as it is: the checker reports it
        out.write(name, data)
        summary.checkpoints += 1
    out.write("public_keys.json", _pretty({
        "trusted_by_the_exporting_server": trusted is not None,
        "keys": keys,
        "note": "Compare each key id with the one the company gave you out of band "
                "(facturier audit public-key); the script accepts --public-key.",
    }))  # fmt: skip


def _line(content: dict[str, Any]) -> bytes:
    return canonical_json(content) + b"\n"


def _pretty(content: dict[str, Any]) -> bytes:
    return json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


README = """Facturier audit export
======================

What is here
- manifest.json: the company, the range, the chain head when exported, where each chain
  slice starts (first_index / first_seq and the hash before it), the archived files of
  each document, the SHA-256 of every other file of this export, and the hashing rules.
- documents.jsonl: one issued document (invoice or credit note) per line, in chain order:
  chain_index, number, previous_hash, content_hash and "content", exactly what was hashed.
- events.jsonl: the audit events, in chain order: seq (position in the company's chain),
  id, previous_hash, hash and "content", exactly what was hashed. "invoice.issued" and
  "credit_note.issued" events name each document and its hash; "document.archived" events
  give the names and SHA-256 of its archived PDF/A-3 and Factur-X XML.
- files/: the archived PDF and XML files.
- checkpoints/: the signed checkpoints (statement of the chain heads at a moment, Ed25519
  signature, public key). public_keys.json: the keys the exporting server trusts.

How to check it
    python3 scripts/verify_export.py EXPORT_DIR_OR_ZIP [--public-key BASE64_OR_PEM_FILE]
(scripts/verify_export.py of the Facturier sources: Python 3.11 standard library, plus the
`cryptography` package for the signatures.) It recomputes both chains, checks that each
document has its issue event (and each issue event its document), that each archived file
has the SHA-256 its "document.archived" event chained, that every checkpoint is signed by
a trusted key and that the chains pass through the positions it states; it prints OK or
the first break. Get the company's public key from the company itself (not only from this
export) and pass it with --public-key.

The rules (also in manifest.json "hashing"), enough to write your own checker:
- canonical JSON: UTF-8, keys sorted by code point at every level, separators "," and ":"
  with no spaces, non-ASCII characters as themselves; amounts as normalised decimal
  strings ("12.5", "0"), dates and instants as ISO 8601 strings.
- link hash = SHA-256 hex of (previous hash as ASCII + "\\n" + canonical JSON of content);
  the first link's previous hash is the empty string.
"""
