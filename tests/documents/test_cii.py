"""The CII XML of issued documents against the three rule sets and the Factur-X XSD.

Every case of the matrix goes through the shared validator (EN 16931, Factur-X 1.09 EN16931,
French BR-FR) in one subprocess, so the stylesheets are compiled once. A deliberately wrong
VAT total is in the same batch: it must fail, proving the validator can fail.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from facturier.documents.cii import invoice_xml
from tests.documents.builders import document, matrix

VALIDATOR = Path(__file__).resolve().parents[3] / "shared/validators/en16931/validate.py"
CASES = matrix()
_FINDING = re.compile(r"^(?P<rules>\w+): (?P<rule>\S+) \[(?P<flag>\w+)\] at \S+: (?P<text>.*)$")
_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


@dataclass(frozen=True)
class Finding:
    rules: str  # en16931, facturx or fr
    rule: str
    flag: str  # fatal, error, warning…
    text: str

    @property
    def blocking(self) -> bool:
        return self.flag in ("fatal", "error")


def _wrong_vat_total() -> dict[str, Any]:
    doc = document()
    doc["total_vat"] += Decimal("1.00")
    doc["total_gross"] += Decimal("1.00")
    return doc


@dataclass(frozen=True)
class Validation:
    findings: dict[str, list[Finding]]
    summary: tuple[int, int]
    returncode: int


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> Validation:
    if not VALIDATOR.is_file():
        pytest.skip(f"the shared EN 16931 validator is not installed at {VALIDATOR}")
    if importlib.util.find_spec("saxonche") is None:
        pytest.skip("the validator needs saxonche, which is not installed")
    directory = tmp_path_factory.mktemp("cii")
    docs = {**CASES, "wrong_vat_total": _wrong_vat_total()}
    paths = {}
    for name, doc in docs.items():
        paths[name] = directory / f"{name}.xml"
        paths[name].write_bytes(invoice_xml(doc))
    run = subprocess.run(
        [sys.executable, str(VALIDATOR), *map(str, paths.values())],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    findings: dict[str, list[Finding]] = {name: [] for name in docs}
    output = run.stdout.splitlines()
    for text in output[:-1]:
        name = next(n for n, path in paths.items() if text.startswith(f"{path}: "))
        match = _FINDING.match(text.removeprefix(f"{paths[name]}: "))
        assert match, f"unexpected validator output: {text}"
        findings[name].append(Finding(**match.groupdict()))
    summary = _SUMMARY.match(output[-1])
    assert summary, f"unexpected validator summary: {output[-1]!r}"
    return Validation(findings, (int(summary[1]), int(summary[2])), run.returncode)


@pytest.mark.parametrize("case", sorted(CASES))
def test_passes_the_three_rule_sets(validation: Validation, case: str) -> None:
    # Not even a warning: every failed assertion is listed.
    assert validation.findings[case] == []


def test_a_wrong_vat_total_is_caught(validation: Validation) -> None:
    failed = {(f.rules, f.rule) for f in validation.findings["wrong_vat_total"] if f.blocking}
    # BT-110 ≠ Σ BT-117, seen by the CEN rules and the Factur-X profile alike.
    assert {("en16931", "BR-CO-14"), ("facturx", "BR-CO-14")} <= failed
    assert validation.summary == (len(CASES), 1)
    assert validation.returncode == 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_factur_x_xsd(case: str) -> None:
    facturx = pytest.importorskip("facturx")
    xml = invoice_xml(CASES[case])
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
