"""The audit trail: append one hash-chained event per change (verification: verify.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.models import ArchivedDocument, AuditEvent, ChainHead, Company
from facturier.billing.services.actors import Actor
from facturier.billing.services.errors import NotAllowed
from facturier.core.hashing import canonical_json, chain_hash, file_sha256


def chain_head_lock(company: Company) -> ChainHead:
    """Lock the company's chain tips for this transaction (the caller is inside atomic())."""
    head, _ = ChainHead.objects.get_or_create(company=company)
    return ChainHead.objects.select_for_update().get(pk=head.pk)


def event_content(event: AuditEvent) -> dict[str, Any]:
    return {
        "company": event.company_id,
        "at": event.at,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
    }


def audit_record(
    *,
    company: Company,
    actor: Actor | str,
    action: str,
    object_type: str,
    object_id: str | int,
    data: dict[str, Any] | None = None,
    head: ChainHead | None = None,
) -> AuditEvent:
    """Append an event to the company's chain, in the caller's transaction."""
    with transaction.atomic():
        head = head or chain_head_lock(company)
        event = audit_event_build(
            company=company, actor=actor, action=action, object_type=object_type,
            object_id=object_id, data=data, head=head,
        )  # fmt: skip
        event.save()
        head.save(update_fields=["last_event_hash"])
    return event


def audit_event_build(
    *,
    company: Company,
    actor: Actor | str,
    action: str,
    object_type: str,
    object_id: str | int,
    data: dict[str, Any] | None,
    head: ChainHead,
) -> AuditEvent:
    """The next link, unsaved, and the locked head moved onto it (in memory). The caller
    saves the events in order (bulk_create keeps it) and then the head."""
    event = AuditEvent(
        company=company,
        at=clock.now(),
        actor=str(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        # Stored exactly as hashed: JSON types only.
        data=json.loads(canonical_json(data or {})),
        previous_hash=head.last_event_hash,
    )
    event.hash = chain_hash(head.last_event_hash, event_content(event))
    head.last_event_hash = event.hash
    return event


@dataclass(frozen=True)
class Break:
    chain: str  # "events", "documents", "archive" or "checkpoints"
    company_id: int
    where: str  # event id or document number
    why: str

    def __str__(self) -> str:
        return f"company {self.company_id}, {self.chain} chain, {self.where}: {self.why}"


class ArchiveDamaged(NotAllowed):
    """An archived file is missing or no longer has the SHA-256 recorded when it was written."""


def archived_bytes(archive: ArchivedDocument, which: str) -> bytes:
    """The archived PDF or XML (`which`), checked against its recorded SHA-256 before it is
    handed out: a damaged file is refused (ArchiveDamaged), never served as the original."""
    from django.core.files.storage import default_storage

    name, digest = (
        (archive.pdf_name, archive.pdf_sha256)
        if which == "pdf"
        else (archive.xml_name, archive.xml_sha256)
    )
    try:
        with default_storage.open(name, "rb") as f:
            data: bytes = f.read()
    except FileNotFoundError as exc:
        raise ArchiveDamaged(
            _("The archived file %(name)s is missing: restore it from a backup "
              "(facturier audit verify checks the whole archive).") % {"name": name}
        ) from exc  # fmt: skip
    if file_sha256(data) != digest:
        raise ArchiveDamaged(
            _("The archived file %(name)s was altered since it was written: restore it from a "
              "backup (facturier audit verify checks the whole archive).") % {"name": name}
        )  # fmt: skip
    return data
