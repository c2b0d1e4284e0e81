"""Signed checkpoints of the hash chains (docs/invoicing.md, "Audit").

A checkpoint is a statement of a company's chain heads at a moment: how many documents and
events its chains hold and the hash of the last of each. Signed with an Ed25519 key that the
database never sees, it anchors the chains: whoever can write the database can recompute
every hash after changing an amount, but cannot make the new chain pass through the old
checkpoint's hashes, nor sign a new checkpoint. Anyone with the public key can check it.

The signature covers the canonical JSON of the statement (core/hashing.py). A file holds the
statement, the signature and the public key:

>>> from datetime import UTC, datetime
>>> key = private_key_load(base64.b64encode(bytes(range(32))).decode())
>>> st = statement(company=1, siren="732829320", at=datetime(2026, 11, 28, tzinfo=UTC),
...                documents=2, last_document_hash="ab", events=5, last_event_hash="cd")
>>> doc = checkpoint_document(st, key)
>>> doc["algorithm"], doc["key_id"] == key_id(public_key_text(key))
('Ed25519', True)
>>> signature_problem(doc)
>>> signature_problem({**doc, "statement": {**st, "documents": 3}})
'the signature does not match the statement'
>>> checkpoint_document(st, None)["algorithm"]
'none'
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from facturier.core.hashing import canonical_json

FORMAT = "facturier-checkpoint/1"
ALGORITHM = "Ed25519"


def statement(
    *,
    company: int,
    siren: str,
    at: datetime,
    documents: int,
    last_document_hash: str,
    events: int,
    last_event_hash: str,
) -> dict[str, Any]:
    """What a checkpoint states (and signs), JSON-ready."""
    return {
        "format": FORMAT,
        "company": company,
        "siren": siren,
        "at": at.isoformat(),
        "documents": documents,
        "last_document_hash": last_document_hash,
        "events": events,
        "last_event_hash": last_event_hash,
    }


def checkpoint_document(st: dict[str, Any], key: Ed25519PrivateKey | None) -> dict[str, Any]:
    """The checkpoint file's content: the statement and, with a key, its signature."""
    if key is None:
        return {"statement": st, "algorithm": "none", "public_key": "", "key_id": "",
                "signature": ""}  # fmt: skip
    public = public_key_text(key)
    return {
        "statement": st,
        "algorithm": ALGORITHM,
        "public_key": public,
        "key_id": key_id(public),
        "signature": base64.b64encode(key.sign(canonical_json(st))).decode(),
    }


def signature_problem(doc: dict[str, Any]) -> str | None:
    """Why a signed checkpoint document does not hold (None when it does). Which keys to
    trust is the caller's decision: this checks the signature against the key it names."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(doc["public_key"]))
        public.verify(base64.b64decode(doc["signature"]), canonical_json(doc["statement"]))
    except InvalidSignature:
        return "the signature does not match the statement"
    except (KeyError, TypeError, ValueError):
        return "the signature or the public key is not readable"
    if key_id(doc["public_key"]) != doc.get("key_id"):
        return "the key id does not match the public key"
    return None


def private_key_load(text: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8) or the base64 of its 32 raw bytes; ValueError
    if it is neither."""
    raw = text.encode() if isinstance(text, str) else text
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(raw, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(raw.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("not a PEM key nor base64") from exc
    if len(seed) != 32:
        raise ValueError("an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_key_new_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_text(key: Ed25519PrivateKey) -> str:
    """The public key as the base64 of its 32 raw bytes (what a checkpoint file carries)."""
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id(public_text: str) -> str:
    """A public key's fingerprint: SHA-256 (hex) of its 32 raw bytes.

    >>> key_id(base64.b64encode(bytes(32)).decode())[:16]
    '66687aadf862bd77'
    """
    return hashlib.sha256(base64.b64decode(public_text)).hexdigest()
