#!/usr/bin/env python3
"""Check a Facturier audit export (`facturier audit export`) without Facturier.

    python3 verify_export.py EXPORT_DIR_OR_ZIP [--public-key BASE64_OR_PEM_FILE ...]

Recomputes the document chain and the audit-event chain with the rules stated in the
export's manifest (canonical JSON, SHA-256 links), checks each document against its issue
event and each archived file against the SHA-256 its "document.archived" event chained,
checks every checkpoint's Ed25519 signature and that the chains pass through the positions it
states. Prints "OK: ..." (exit 0) or "BROKEN: <the first break>" (exit 1); a bad invocation
exits 2.

Needs Python >= 3.11 and only its standard library, plus the `cryptography` package when the
export holds signed checkpoints. It imports nothing from Facturier or Django, on purpose: an
auditor can read it whole, or write their own from the README of the export.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ISSUE_ACTIONS = ("invoice.issued", "credit_note.issued")
ARCHIVED = "document.archived"


class Broken(Exception):
    """The first break found."""


def canonical_json(content: Any) -> bytes:
    """Keys sorted, no whitespace, non-ASCII as itself, UTF-8 (the export's values are
    already JSON types: amounts and dates are strings)."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, content: Any) -> str:
    digest = hashlib.sha256(previous.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(content))
    return digest.hexdigest()


class Export:
    """The files of an export, from a directory or a ZIP file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(name)
            return (self.path / name).read_bytes()
        except (KeyError, FileNotFoundError):
            raise Broken(f"{name} is missing from the export") from None

    def names(self, prefix: str) -> list[str]:
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if n.startswith(prefix))
        root = self.path / prefix
        if not root.exists():
            return []
        return sorted(str(p.relative_to(self.path)) for p in root.rglob("*") if p.is_file())

    def lines(self, name: str) -> Iterator[dict[str, Any]]:
        for number, line in enumerate(self.read(name).decode().splitlines(), start=1):
            try:
                yield json.loads(line)
            except ValueError:
                raise Broken(f"{name} line {number} is not JSON") from None


def check(path: Path, public_keys: list[str]) -> str:
    """The summary line of a sound export; raises Broken at the first break."""
    export = Export(path)
    manifest = json.loads(export.read("manifest.json"))
    if manifest.get("format") != "facturier-audit-export/1":
        raise Broken(f"unknown export format {manifest.get('format')!r}")
    for name, digest in manifest["files"].items():
        if hashlib.sha256(export.read(name)).hexdigest() != digest:
            raise Broken(f"{name} differs from the SHA-256 the manifest lists")
    documents = _documents(export, manifest)
    events = _events(export, manifest)
    _issue_events(documents, events, complete=manifest["complete"])
    archived = _archives(export, manifest, documents, events)
    signed, unsigned = _checkpoints(export, manifest, documents, events, public_keys)
    if manifest["complete"]:
        _head(manifest, documents, events)
    return (
        f"OK: {len(documents)} documents and {len(events)} events recomputed, "
        f"{archived} archived documents checked, {signed} signed checkpoints verified"
        + (f", {unsigned} UNSIGNED checkpoints (they prove little)" if unsigned else "")
        + ("" if manifest["complete"] else " (a partial export: the range only)")
        + "."
    )


def _documents(export: Export, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    index = manifest["documents"]["first_index"]
    previous = manifest["documents"]["previous_hash"]
    documents = list(export.lines("documents.jsonl"))
    for doc in documents:
        where = f"document {doc.get('number')}"
        if doc["chain_index"] != index:
            raise Broken(f"{where}: document {index} is missing (found {doc['chain_index']})")
        if doc["previous_hash"] != previous:
            raise Broken(f"{where}: the link to the previous document is broken")
        if chain_hash(previous, doc["content"]) != doc["content_hash"]:
            raise Broken(f"{where}: its content does not have its hash (altered)")
        if doc["content"].get("number") != doc["number"]:
            raise Broken(f"{where}: the hashed content names {doc['content'].get('number')}")
        previous = doc["content_hash"]
        index += 1
    return documents


def _events(export: Export, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    seq = manifest["events"]["first_seq"]
    previous = manifest["events"]["previous_hash"]
    events = list(export.lines("events.jsonl"))
    for event in events:
        where = f"event {event.get('seq')} (id {event.get('id')})"
        if event["seq"] != seq:
            raise Broken(f"{where}: event {seq} is missing")
        if event["previous_hash"] != previous:
            raise Broken(f"{where}: the link to the previous event is broken")
        if chain_hash(previous, event["content"]) != event["hash"]:
            raise Broken(f"{where}: its content does not have its hash (altered)")
        if event["content"].get("company") != manifest["company"]["id"]:
            raise Broken(f"{where}: an event of another company")
        previous = event["hash"]
        seq += 1
    return events


def _issue_events(
    documents: list[dict[str, Any]], events: list[dict[str, Any]], *, complete: bool
) -> None:
    """The n-th issue event names the n-th document (both are appended under one lock). A
    partial export may hold issue events of documents outside its range, before or after."""
    issued = [e for e in events if e["content"]["action"] in ISSUE_ACTIONS]
    start = 0
    if documents and not complete:
        first = documents[0]["content_hash"]
        start = next(
            (i for i, e in enumerate(issued) if e["content"]["data"].get("hash") == first),
            len(issued),
        )
    if complete and start:
        raise Broken("issue events before the first document")
    for doc, event in zip(documents, [*issued[start:], *[None] * len(documents)], strict=False):
        if event is None:
            raise Broken(f"document {doc['number']}: no issue event in the audit chain")
        data = event["content"]["data"]
        if (data.get("number"), data.get("hash")) != (doc["number"], doc["content_hash"]):
            raise Broken(
                f"document {doc['number']}: event {event['seq']} records "
                f"{data.get('number')} issued in its place"
            )
    extra = issued[start + len(documents) :]
    if extra and complete:
        number = extra[0]["content"]["data"].get("number")
        raise Broken(
            f"document {number}: issued according to event {extra[0]['seq']}, but "
            "the document is missing"
        )


def _archives(
    export: Export,
    manifest: dict[str, Any],
    documents: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> int:
    """Each archived file has the SHA-256 its chained event records; each archive listed has
    its event, and (in a complete export) each chained archive of a document is exported."""
    numbers = {d["number"] for d in documents}
    chained = {
        e["content"]["data"]["number"]: e["content"]["data"]
        for e in events
        if e["content"]["action"] == ARCHIVED and e["content"]["data"].get("number") in numbers
    }
    listed = manifest["archives"]
    for number in sorted(set(chained) | set(listed)):
        data, names = chained.get(number), listed.get(number)
        if data is None:
            if manifest["complete"]:
                raise Broken(f"document {number}: its archive is not in the audit chain")
            continue  # archived after the range's events
        if names is None:
            raise Broken(
                f"document {number}: archived according to the chain, but its "
                "files are not in the export"
            )
        if (names["pdf"], names["xml"]) != (data["pdf"], data["xml"]):
            raise Broken(f"document {number}: the files exported are not the ones chained")
        for kind in ("pdf", "xml"):
            name = data[kind]
            if hashlib.sha256(export.read(f"files/{name}")).hexdigest() != data[f"{kind}_sha256"]:
                raise Broken(
                    f"document {number}: {name} altered (its SHA-256 is not the chained one)"
                )
    return len(listed)


def _checkpoints(
    export: Export,
    manifest: dict[str, Any],
    documents: list[dict[str, Any]],
    events: list[dict[str, Any]],
    public_keys: list[str],
) -> tuple[int, int]:
    """(signed, unsigned) checkpoints, each signature valid by a trusted key and each stated
    position on the exported chains (positions outside a partial export are skipped)."""
    trusted = _trusted(export, public_keys)
    doc_hashes = {d["chain_index"]: d["content_hash"] for d in documents}
    doc_hashes[manifest["documents"]["first_index"] - 1] = manifest["documents"]["previous_hash"]
    event_hashes = {e["seq"]: e["hash"] for e in events}
    event_hashes[manifest["events"]["first_seq"] - 1] = manifest["events"]["previous_hash"]
    signed = unsigned = 0
    for name in export.names("checkpoints/"):
        doc = json.loads(export.read(name))
        st = doc["statement"]
        if st.get("company") != manifest["company"]["id"]:
            raise Broken(f"{name}: a checkpoint of another company")
        if doc.get("signature"):
            _signature(name, doc, trusted)
            signed += 1
        else:
            unsigned += 1
        for kind, count, last, hashes in (
            ("documents", st["documents"], st["last_document_hash"], doc_hashes),
            ("events", st["events"], st["last_event_hash"], event_hashes),
        ):
            if count in hashes and hashes[count] != last:
                raise Broken(
                    f"{name}: the {kind} chain no longer passes through it "
                    f"({kind[:-1]} {count} has another hash): history rewritten"
                )
            if count not in hashes and manifest["complete"] and count > max(hashes):
                raise Broken(f"{name}: it counted {count} {kind}, the export has fewer")
    return signed, unsigned


def _trusted(export: Export, public_keys: list[str]) -> dict[str, str]:
    if public_keys:
        return {_key_id(k): k for k in public_keys}
    shipped = json.loads(export.read("public_keys.json"))
    keys: dict[str, str] = shipped["keys"]
    for key_id in keys:
        print(
            f"NOTE: trusting key {key_id[:16]} shipped in the export; compare it with the "
            "company's own (or pass --public-key)",
            file=sys.stderr,
        )
    return keys


def _key_id(public_b64: str) -> str:
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()


def _signature(name: str, doc: dict[str, Any], trusted: dict[str, str]) -> None:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise SystemExit(
            "Error: checking the signatures needs `pip install cryptography`"
        ) from None
    public = trusted.get(doc.get("key_id", ""))
    if public is None or _key_id(doc.get("public_key", "")) != doc["key_id"]:
        raise Broken(f"{name}: signed by key {doc.get('key_id', '')[:16]}, which is not trusted")
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(
            base64.b64decode(doc["signature"]), canonical_json(doc["statement"])
        )
    except (InvalidSignature, ValueError):
        raise Broken(f"{name}: the signature does not match the statement") from None


def _head(
    manifest: dict[str, Any], documents: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    head = manifest["chain_head"]
    last_doc = documents[-1]["content_hash"] if documents else ""
    last_event = events[-1]["hash"] if events else ""
    if (head["documents"], head["last_document_hash"]) != (len(documents), last_doc):
        raise Broken(
            f"the chain head counts {head['documents']} documents, the export {len(documents)}"
        )
    if (head["events"], head["last_event_hash"]) != (len(events), last_event):
        raise Broken(f"the chain head counts {head['events']} events, the export {len(events)}")


def _public_key_arg(value: str) -> str:
    """A public key given as base64 of its 32 bytes, or a file holding that or a PEM key."""
    path = Path(value)
    text = path.read_text().strip() if path.is_file() else value.strip()
    if text.startswith("-----BEGIN PUBLIC KEY-----"):
        body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
        text = base64.b64encode(base64.b64decode(body)[-32:]).decode()  # SPKI: key is last
    if len(base64.b64decode(text)) != 32:
        raise argparse.ArgumentTypeError("an Ed25519 public key is 32 bytes")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", type=Path, help="the export's directory or ZIP file")
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        type=_public_key_arg,
        help="a trusted public key (base64 or PEM, text or file); repeatable",
    )
    args = parser.parse_args(argv)
    if not args.export.exists():
        print(f"Error: {args.export} does not exist", file=sys.stderr)
        return 2
    try:
        print(check(args.export, args.public_key))
    except Broken as exc:
        print(f"BROKEN: {exc}")
        return 1
    except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
        print(f"BROKEN: the export is not readable as one ({type(exc).__name__}: {exc})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
