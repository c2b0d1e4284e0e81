"""Signed checkpoints of the audit chains (docs/invoicing.md, "Audit"; core/checkpoints.py).

`checkpoint_make` states a company's chain heads, signs the statement with the key from the
environment (never from the database), writes it to the archive storage under a new name and
records it. The worker makes one a day per company whose chains moved. `checkpoints_read`
gives `audit verify` every checkpoint of a company, from the storage and from the database,
each checked against the other and its signature against the trusted keys.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.archive import CHECKPOINT_PREFIX, storage_walk
from facturier.billing.models import AuditEvent, Checkpoint, Company
from facturier.billing.services.audit import Break, chain_head_lock
from facturier.billing.services.chains import chain_extends
from facturier.billing.services.errors import NotAllowed
from facturier.core import checkpoints as cp

log = logging.getLogger("facturier.audit")


class CheckpointRefused(NotAllowed):
    """No checkpoint was made: the key is unusable, or the chains do not extend the last one."""


def signing_key(*, create: bool = False) -> Ed25519PrivateKey | None:
    """The configured private key, or None (unsigned checkpoints). With `create`, the
    embedded default's key file is made on first use (settings.CHECKPOINT_KEY_CREATE)."""
    try:
        if settings.CHECKPOINT_KEY:
            return cp.private_key_load(settings.CHECKPOINT_KEY)
        if not settings.CHECKPOINT_KEY_FILE:
            return None
        path = Path(settings.CHECKPOINT_KEY_FILE)
        if not path.exists() and create and settings.CHECKPOINT_KEY_CREATE:
            key_file_create(path)
        if not path.exists() and settings.CHECKPOINT_KEY_CREATE:
            return None  # the embedded default, before its first checkpoint
        return cp.private_key_load(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CheckpointRefused(
            _("The checkpoint key (FACTURIER_CHECKPOINT_KEY or FACTURIER_CHECKPOINT_KEY_FILE) "
              "cannot be used: %(e)s") % {"e": exc}
        ) from exc  # fmt: skip


def key_file_create(path: Path) -> None:
    """A new private key in `path`, readable by its owner only; an existing file is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first
    with os.fdopen(fd, "wb") as f:
        f.write(cp.private_key_new_pem())


def trusted_keys() -> dict[str, str] | None:
    """{key id: public key} of the keys whose signatures count here; None without a key."""
    key = signing_key()
    if key is None and not settings.CHECKPOINT_TRUSTED_KEYS:
        return None
    publics = [*([cp.public_key_text(key)] if key else []), *settings.CHECKPOINT_TRUSTED_KEYS]
    return {cp.key_id(public): public for public in publics}


def checkpoint_make(*, company: Company) -> Checkpoint:
    """Sign and store the company's chain heads now; CheckpointRefused, with nothing written,
    when the chains recomputed since the previous checkpoint do not extend it."""
    key = signing_key(create=True)
    with transaction.atomic():
        head = chain_head_lock(company)
        events = AuditEvent.objects.filter(company=company).count()
        previous = company.checkpoints.order_by("-at", "-pk").first()
        if problem := chain_extends(company, previous, head=head, events=events):
            raise CheckpointRefused(
                _("No checkpoint for %(c)s: %(p)s (run facturier audit verify).")
                % {"c": company, "p": problem}
            )
        at = clock.now()
        statement = cp.statement(
            company=company.pk, siren=company.siren, at=at, documents=head.documents,
            last_document_hash=head.last_document_hash, events=events,
            last_event_hash=head.last_event_hash,
        )  # fmt: skip
        doc = cp.checkpoint_document(statement, key)
        body = json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"
        # A new name each time; storage never overwrites (a taken name gets a suffix).
        name = default_storage.save(
            f"{CHECKPOINT_PREFIX}/{company.pk}/{at:%Y%m%dT%H%M%S%fZ}.json", ContentFile(body)
        )
        return Checkpoint.objects.create(
            company=company, at=at, siren=company.siren, documents=head.documents,
            last_document_hash=head.last_document_hash, events=events,
            last_event_hash=head.last_event_hash, key_id=doc["key_id"],
            signature=doc["signature"], file_name=name,
        )  # fmt: skip


# Company id → the local day its checkpoint was refused (this process): tried again the next
# day, not on every tick of the worker.
_refused_on: dict[int, date] = {}


def checkpoints_make_due(*, now: datetime | None = None) -> int:
    """The worker's daily job: a checkpoint for each company whose chains moved since its
    last one and that has none yet today (its local day). Returns how many were made; a
    refusal is logged (an error for a person to look at) and the other companies go on."""
    now = now or clock.now()
    made = 0
    for company in Company.objects.order_by("pk"):
        last = company.checkpoints.order_by("-at", "-pk").first()
        today = clock.company_today(company, at=now)
        if last is not None and clock.company_today(company, at=last.at) >= today:
            continue
        if _refused_on.get(company.pk) == today:
            continue
        head = getattr(company, "chain_head", None)
        if head is None or (
            last is not None
            and (last.last_document_hash, last.last_event_hash)
            == (head.last_document_hash, head.last_event_hash)
        ):
            continue  # nothing new to anchor
        try:
            checkpoint_make(company=company)
        except CheckpointRefused as exc:
            log.error("audit checkpoint: %s", exc)
            _refused_on[company.pk] = today
            continue
        made += 1
    return made


@dataclass(frozen=True)
class Mark:
    """A checkpointed position: the chains must pass through these hashes."""

    name: str
    documents: int
    last_document_hash: str
    events: int
    last_event_hash: str


@dataclass
class CheckpointsRead:
    marks: list[Mark]
    breaks: list[Break]
    warnings: list[str]
    signed: bool = False  # at least one checkpoint carries a signature


def checkpoints_read(company: Company) -> CheckpointsRead:
    """Every checkpoint of the company, from the storage and the database, each checked
    against the other, its signature against the trusted keys."""
    out = CheckpointsRead([], [], [])
    rows = {c.file_name: c for c in Checkpoint.objects.filter(company=company)}
    files = dict(_files(company, out))
    trusted = trusted_keys()
    for name in sorted(set(rows) | set(files)):
        row, doc = rows.get(name), files.get(name)
        if doc is None:
            out.breaks.append(_break(company, name, "missing from the archive storage"))
            doc = _document_of(row)  # type: ignore[arg-type]  # the row is there
        elif row is None:
            out.breaks.append(_break(company, name, "in the storage but not in the database"))
        elif _document_of(row) != {k: doc.get(k) for k in ("statement", "key_id", "signature")}:
            out.breaks.append(_break(company, name, "the database record differs from the file"))
        if problem := _statement_problem(company, doc, trusted):
            out.breaks.append(_break(company, name, problem))
            continue
        if not doc.get("signature"):
            out.warnings.append(f"company {company.pk}: checkpoint {name} is not signed")
        out.signed = out.signed or bool(doc.get("signature"))
        st = doc["statement"]
        out.marks.append(
            Mark(name, st["documents"], st["last_document_hash"], st["events"],
                 st["last_event_hash"])
        )  # fmt: skip
    return out


def _files(company: Company, out: CheckpointsRead) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name in storage_walk(f"{CHECKPOINT_PREFIX}/{company.pk}"):
        try:
            with default_storage.open(name, "rb") as f:
                doc = json.loads(f.read())
            doc["statement"]["documents"]
        except (ValueError, KeyError, TypeError):
            out.breaks.append(_break(company, name, "not a readable checkpoint"))
            continue
        found.append((name, doc))
    return found


def _document_of(row: Checkpoint) -> dict[str, Any]:
    statement = cp.statement(
        company=row.company_id, siren=row.siren, at=row.at, documents=row.documents,
        last_document_hash=row.last_document_hash, events=row.events,
        last_event_hash=row.last_event_hash,
    )  # fmt: skip
    return {"statement": statement, "key_id": row.key_id, "signature": row.signature}


def _statement_problem(
    company: Company, doc: dict[str, Any], trusted: dict[str, str] | None
) -> str | None:
    if doc["statement"].get("company") != company.pk:
        return "it is the checkpoint of another company"
    if not doc.get("signature"):
        return None
    if "public_key" not in doc:  # rebuilt from a row whose file is gone
        if trusted is None or doc["key_id"] not in trusted:
            return None
        doc = {**doc, "public_key": trusted[doc["key_id"]]}
    if problem := cp.signature_problem(doc):
        return problem
    if trusted is not None and doc["key_id"] not in trusted:
        return (
            f"signed by key {doc['key_id'][:16]}, which is not trusted here (an earlier key "
            "belongs in FACTURIER_CHECKPOINT_TRUSTED_KEYS)"
        )
    return None


def _break(company: Company, name: str, why: str) -> Break:
    return Break("checkpoints", company.pk, name, why)
