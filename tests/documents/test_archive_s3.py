"""The archive in an S3-compatible bucket: a real S3 HTTP server (moto's) on 127.0.0.1, the
storage chosen by the project's settings from FACTURIER_STORAGE_* variables, the real worker,
CLI and audit check. The test reads the bucket with its own boto3 client, not through Django."""

from __future__ import annotations

import hashlib
import io
import logging
import runpy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.core.files.storage import default_storage

import facturier.settings
from facturier.billing.models import ArchivedDocument, Invoice, OutboxMessage
from facturier.billing.services import invoice_issue
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.worker.outbox import outbox_deliver
from facturier.worker.render import document_render
from tests.actors import SYS

moto_server = pytest.importorskip(
    "moto.server",
    reason="the S3 tests need an S3-compatible server: pip install -r requirements/dev.txt "
    "(moto[s3] with flask and flask-cors)",
)
boto3 = pytest.importorskip("boto3")

REGION = "eu-west-3"
PREFIX = "facturier/archive"
KEYS = {"access": "test-access-key", "secret": "test-secret-key"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    requests_log = logging.getLogger("werkzeug")  # one line per request, on stderr
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        requests_log.setLevel(level)


@pytest.fixture
def bucket(endpoint: str) -> str:
    name = f"facturier-{uuid.uuid4().hex[:12]}"
    _client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def _client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["access"],
        aws_secret_access_key=KEYS["secret"],
        region_name=REGION,
    )


def _settings_storages(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """STORAGES as the project's settings module computes it from these variables."""
    for name in ("BUCKET", "ENDPOINT_URL", "ACCESS_KEY", "SECRET_KEY", "REGION", "PREFIX"):
        monkeypatch.delenv(f"FACTURIER_STORAGE_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"FACTURIER_STORAGE_{name.upper()}", value)
    assert facturier.settings.__file__ is not None
    storages: dict[str, Any] = runpy.run_path(facturier.settings.__file__)["STORAGES"]
    return storages


@pytest.fixture
def s3(settings: Any, monkeypatch: pytest.MonkeyPatch, endpoint: str, bucket: str) -> Any:
    """Django's default storage is the bucket, configured the way an operator would."""
    settings.STORAGES = _settings_storages(
        monkeypatch,
        bucket=bucket,
        endpoint_url=endpoint,
        access_key=KEYS["access"],
        secret_key=KEYS["secret"],
        region=REGION,
        prefix=f"/{PREFIX}/",
    )
    assert default_storage.bucket_name == bucket  # an S3Storage now
    return _client(endpoint)


def _objects(client: Any, bucket: str) -> dict[str, str]:
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: item["ETag"] for item in listed}


def _get(client: Any, bucket: str, key: str) -> bytes:
    body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_settings_use_the_filesystem_without_a_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    storages = _settings_storages(monkeypatch)
    assert storages["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_settings_map_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    storages = _settings_storages(
        monkeypatch, bucket="invoices", endpoint_url="https://s3.example", prefix="/a/b/"
    )
    options = storages["default"]["OPTIONS"]
    assert storages["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (options["bucket_name"], options["endpoint_url"]) == ("invoices", "https://s3.example")
    assert options["location"] == "a/b"
    assert options["file_overwrite"] is False
    assert options["access_key"] is None and options["region_name"] is None  # boto3's own
    assert storages["staticfiles"]["BACKEND"].startswith("whitenoise")


def test_worker_archives_into_the_bucket(s3: Any, bucket: str, make_draft: Any, tmp_path: Path):
    inv = invoice_issue(make_draft(), actor=SYS)
    assert outbox_deliver() == 1
    arch = ArchivedDocument.objects.get(invoice=inv)
    assert arch.pdf_name == f"invoices/{inv.company_id}/{inv.number}.pdf"
    objects = _objects(s3, bucket)
    assert sorted(objects) == [f"{PREFIX}/{arch.pdf_name}", f"{PREFIX}/{arch.xml_name}"]
    pdf = _get(s3, bucket, f"{PREFIX}/{arch.pdf_name}")
    xml = _get(s3, bucket, f"{PREFIX}/{arch.xml_name}")
    assert hashlib.sha256(pdf).hexdigest() == arch.pdf_sha256
    assert hashlib.sha256(xml).hexdigest() == arch.xml_sha256
    import facturx

    assert facturx.get_xml_from_pdf(io.BytesIO(pdf), check_xsd=False) == ("factur-x.xml", xml)

    runner = CliRunner()
    out = tmp_path / "downloaded.pdf"
    result = runner.invoke(cli, ["invoices", "pdf", inv.number, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == pdf
    verified = runner.invoke(cli, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK:")


def test_tampered_object_detected(s3: Any, bucket: str, make_draft: Any) -> None:
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    arch = ArchivedDocument.objects.get(invoice=inv)
    key = f"{PREFIX}/{arch.xml_name}"
    s3.put_object(Bucket=bucket, Key=key, Body=_get(s3, bucket, key) + b"<!-- edited -->")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"{arch.xml_name} altered" in result.output
    s3.delete_object(Bucket=bucket, Key=key)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"{arch.xml_name} is missing" in result.output


def test_a_leftover_is_replaced_and_nothing_archived_is_overwritten(
    s3: Any, bucket: str, make_draft: Any
) -> None:
    from facturier.billing.services.verify import audit_report

    inv = invoice_issue(make_draft(), actor=SYS)
    # What a render killed after writing (before its commit) leaves under the expected name.
    expected = f"invoices/{inv.company_id}/{inv.number}.pdf"
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{expected}", Body=b"left by a crashed attempt")
    assert outbox_deliver() == 1
    arch = ArchivedDocument.objects.get(invoice=inv)
    # The file under the expected name is the archived one; no suffixed copy, no stray.
    assert arch.pdf_name == expected
    pdf = _get(s3, bucket, f"{PREFIX}/{expected}")
    assert hashlib.sha256(pdf).hexdigest() == arch.pdf_sha256
    assert sorted(_objects(s3, bucket)) == [
        f"{PREFIX}/{arch.pdf_name}",
        f"{PREFIX}/{arch.xml_name}",
    ]
    report = audit_report()
    assert (report.breaks, report.stray) == ([], [])

    # A second render of the same invoice (a retried job) writes nothing.
    before = _objects(s3, bucket)
    document_render(OutboxMessage.objects.get(kind="document.render", payload__invoice_id=inv.pk))
    assert _objects(s3, bucket) == before
    assert ArchivedDocument.objects.filter(invoice=inv).count() == 1
    assert Invoice.objects.get(pk=inv.pk).archive == arch


def test_stray_object_listed(s3: Any, bucket: str, make_draft: Any) -> None:
    """An object under the archive prefix that no archive row names (what the storage's
    suffixing used to leave beside a retried render) is listed by `audit verify`."""
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    stray = f"invoices/{inv.company_id}/F2026-00614.pdf"
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{stray}", Body=b"%PDF-")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"STRAY: {stray}" in result.output


def test_archive_put_writes_the_exact_name(s3: Any, bucket: str) -> None:
    from facturier.billing.archive import archive_put

    assert archive_put("invoices/9/A/B.pdf", b"one") == "invoices/9/A/B.pdf"
    etag = _objects(s3, bucket)[f"{PREFIX}/invoices/9/A/B.pdf"]
    assert archive_put("invoices/9/A/B.pdf", b"one") == "invoices/9/A/B.pdf"  # same bytes: kept
    assert _objects(s3, bucket) == {f"{PREFIX}/invoices/9/A/B.pdf": etag}
    assert archive_put("invoices/9/A/B.pdf", b"two") == "invoices/9/A/B.pdf"
    assert _get(s3, bucket, f"{PREFIX}/invoices/9/A/B.pdf") == b"two"
