"""Canonical hashing for tamper evidence (DOMAIN invariant 9, LEGAL-FR AUD-04).

A link's hash covers its content and the previous link's hash, so changing any stored link
(or removing one) breaks every later link: the verifier reports the first break.

>>> h1 = chain_hash("", {"number": "F1", "total": "12.00"})
>>> h2 = chain_hash(h1, {"number": "F2", "total": "5.00"})
>>> len(h2), h2 != chain_hash("", {"number": "F2", "total": "5.00"})
(64, True)
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        # Normalised text so that 12.5 and 12.50 hash alike whatever the database returns.
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot hash {type(value).__name__}")


def canonical_json(content: Any) -> bytes:
    """Stable bytes for a JSON-like value: sorted keys, no spaces, Decimals as text.

    >>> canonical_json({"b": Decimal("1.50"), "a": [date(2026, 11, 28)]})
    b'{"a":["2026-11-28"],"b":"1.5"}'
    """
    return json.dumps(
        content, default=_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def chain_hash(previous: str, content: Any) -> str:
    """SHA-256 (hex) of the previous link's hash and the canonical content."""
    digest = hashlib.sha256(previous.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(content))
    return digest.hexdigest()


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
