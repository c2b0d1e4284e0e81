"""`audit verify`: recompute every chain and check that everything that speaks of the issued
documents agrees (DOMAIN invariant 9; docs/invoicing.md, "Audit").

Per company, in one pass over each chain (streamed, never loaded whole):

- the event chain: each link recomputed; the chain head's last event hash;
- the document chain: each link recomputed; the chain head's count and last hash; each
  document against its "…issued" event (same order, both ways: an event whose document is
  gone is reported, so is a document without its event);
- the archive: one archive row per issued document once its render is done, each row equal
  to its chained "document.archived" event (both ways), each file's SHA-256 equal to the
  chained one;
- the checkpoints (storage and database): signatures, and every checkpointed position still
  on today's chains (a rewritten history is reported).

Then the files under the archive prefix that no archive row names are listed (stray).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.files.storage import default_storage

from facturier.billing.archive import ARCHIVE_PREFIX, storage_walk
from facturier.billing.models import ChainHead, Company, Invoice, OutboxMessage, OutboxStatus
from facturier.billing.services.archive import ARCHIVED
from facturier.billing.services.audit import Break
from facturier.billing.services.chains import (
    ISSUE_ACTIONS,
    company_events,
    document_problem,
    event_problem,
    issued_documents,
)
from facturier.billing.services.checkpoints import Mark, checkpoints_read, trusted_keys


@dataclass
class Report:
    breaks: list[Break] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)
    events: int = 0
    documents: int = 0
    archived: int = 0
    checkpoints: int = 0


def audit_verify() -> list[Break]:
    """The first break of each broken chain of each company ([] when all is sound)."""
    return audit_report().breaks


def audit_report(*, progress: Callable[[int], None] | None = None) -> Report:
    """Everything `facturier audit verify` prints; `progress` is told of each document."""
    report = Report()
    names: set[str] = set()
    signed = False
    for company in Company.objects.order_by("pk"):
        check = _CompanyCheck(company, report, names, progress)
        check.run()
        signed = signed or check.signed
    if signed and trusted_keys() is None:
        report.warnings.append(
            "no checkpoint key is configured here: each signature was checked against the "
            "public key its checkpoint names, which does not tell who signed (set "
            "FACTURIER_CHECKPOINT_TRUSTED_KEYS to the company's public key)"
        )
    report.stray = [name for name in storage_walk(ARCHIVE_PREFIX) if name not in names]
    return report


class _CompanyCheck:
    def __init__(
        self,
        company: Company,
        report: Report,
        names: set[str],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.company, self.report, self.names, self.progress = company, report, names, progress
        self.first: dict[str, Break] = {}  # the first break of each chain
        self.head = ChainHead.objects.filter(company=company).first() or ChainHead()
        self.archived: dict[int, dict[str, Any]] = {}  # invoice id → its chained archive
        self.signed = False
        # Checkpoints the chains no longer pass through: a document named beats an event.
        self.rewritten: dict[str, Break] = {}

    def run(self) -> None:
        read = checkpoints_read(self.company)
        for brk in read.breaks:
            self._break(brk.chain, brk.where, brk.why)
        self.report.warnings += read.warnings
        self.report.checkpoints += len(read.marks)
        self.signed = read.signed
        self._events(read.marks)
        self._documents(read.marks)
        for kind in ("documents", "events"):
            if kind in self.rewritten:
                self.first.setdefault("checkpoints", self.rewritten[kind])
        self.report.breaks += self.first.values()

    def _break(self, chain: str, where: str, why: str) -> None:
        self.first.setdefault(chain, Break(chain, self.company.pk, where, why))

    # The event chain ----------------------------------------------------------------------

    def _events(self, marks: list[Mark]) -> None:
        expected = {m.events: m for m in marks}
        previous, count = "", 0
        for event in company_events(self.company).iterator(chunk_size=2000):
            count += 1
            if why := event_problem(event, previous):
                self._break("events", f"event {event.pk}", why)
            mark = expected.get(count)
            if mark is not None and mark.last_event_hash != event.hash:
                self._rewritten(mark, "events", f"event {count}")
            if event.action == ARCHIVED:
                invoice_id = int(event.object_id)
                if invoice_id in self.archived:
                    self._break("archive", f"event {event.pk}", "a document archived twice")
                self.archived[invoice_id] = event.data
            previous = event.hash
        self.report.events += count
        if self.head.last_event_hash != previous:
            self._break("events", "head", "last event missing")
        for mark in marks:
            if mark.events > count:
                self._rewritten(mark, "events", f"event {mark.events} (the chain has {count})")

    def _rewritten(self, mark: Mark, kind: str, where: str) -> None:
        why = f"the chains no longer pass through it: {where}"
        self.rewritten.setdefault(kind, Break("checkpoints", self.company.pk, mark.name, why))

    # The document chain, its issue events and its archive ---------------------------------

    def _documents(self, marks: list[Mark]) -> None:
        expected = {m.documents: m for m in marks}
        issue_events = _issue_events(self.company)
        pending = _renders_pending(self.company)
        previous, index = "", 0
        for doc in issued_documents(self.company).iterator(chunk_size=500):
            index += 1
            where = str(doc.number)
            if why := document_problem(doc, previous, index):
                self._break("documents", where, why)
            mark = expected.get(index)
            if mark is not None and mark.last_document_hash != doc.content_hash:
                self._rewritten(mark, "documents", f"document {index} ({doc.number})")
            self._issue_event(doc, next(issue_events, None))
            self._archive(doc, pending)
            previous = doc.content_hash
            if self.progress:
                self.progress(1)
        self.report.documents += index
        for event_pk, data in issue_events:
            self._break(
                "documents", str(data.get("number")),
                f"issued according to event {event_pk}, but the document is missing",
            )  # fmt: skip
        if (self.head.documents, self.head.last_document_hash) != (index, previous):
            self._break(
                "documents", "head",
                f"the chain head counts {self.head.documents} documents, {index} found",
            )  # fmt: skip
        for mark in marks:
            if mark.documents > index:
                self._rewritten(
                    mark, "documents", f"document {mark.documents} (the chain has {index})"
                )
        for invoice_id, data in self.archived.items():
            self._break(
                "archive", str(data.get("number")),
                f"archived according to the audit chain (invoice id {invoice_id}), but no "
                "such issued document",
            )  # fmt: skip

    def _issue_event(self, doc: Invoice, event: tuple[int, dict[str, Any]] | None) -> None:
        if event is None:
            self._break("documents", str(doc.number), "no issue event in the audit chain")
            return
        event_pk, data = event
        if (data.get("number"), data.get("hash")) != (doc.number, doc.content_hash):
            self._break(
                "documents", str(doc.number),
                f"event {event_pk} records {data.get('number')} issued in its place",
            )  # fmt: skip

    def _archive(self, doc: Invoice, pending: set[int]) -> None:
        where = str(doc.number)
        chained = self.archived.pop(doc.pk, None)
        arch = getattr(doc, "archive", None)
        if arch is None:
            if chained is not None:
                self._break("archive", where, "the archive row is missing")
            elif doc.pk not in pending:
                self._break("archive", where, "not archived, yet no render is pending")
            return
        self.names.update((arch.pdf_name, arch.xml_name))
        self.report.archived += 1
        row = {"number": doc.number, "pdf": arch.pdf_name, "pdf_sha256": arch.pdf_sha256,
               "xml": arch.xml_name, "xml_sha256": arch.xml_sha256}  # fmt: skip
        if chained is None:
            self._break("archive", where, "the archive is not in the audit chain")
            chained = row
        elif chained != row:
            self._break("archive", where, "the archive row differs from the audit chain")
        for name, digest in ((chained["pdf"], chained["pdf_sha256"]),
                             (chained["xml"], chained["xml_sha256"])):  # fmt: skip
            actual = _file_sha256(name)
            if actual is None:
                self._break("archive", where, f"{name} is missing")
            elif actual != digest:
                self._break("archive", where, f"{name} altered")


def _issue_events(company: Company) -> Iterator[tuple[int, dict[str, Any]]]:
    # The issue events are appended in the order the documents are numbered (one lock), so
    # the n-th of them names the n-th document.
    events = company_events(company).filter(action__in=ISSUE_ACTIONS)
    return events.values_list("pk", "data").iterator(chunk_size=2000)


def _renders_pending(company: Company) -> set[int]:
    """Documents whose render job is not done (pending or failed): not yet archived."""
    keys = OutboxMessage.objects.filter(company=company, kind="document.render").exclude(
        status=OutboxStatus.SENT
    )
    return {int(key.removeprefix("render:")) for key in keys.values_list("key", flat=True)}


def _file_sha256(name: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with default_storage.open(name, "rb") as f:
            for chunk in f.chunks():
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()
