"""Every dependency is pinned, and what is installed is what is pinned.

A vulnerability audit needs a network (``pip-audit``, see docs/README.md); what can be checked
offline is that the environment the tests ran in is exactly the one the requirements name, so
an audit of the pins is an audit of what runs."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-\[\]]+?)(\[[^\]]*\])?==(?P<version>[^\s;#]+)")


def _pins() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(REQUIREMENTS.glob("*.txt")):
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith(("#", "-r ")):
                continue
            match = PIN.match(line)
            assert match, f"{path.name}: '{line}' is not pinned with =="
            out.append((path.name, match["name"], match["version"]))
    return out


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize(("source", "name", "version"), _pins())
def test_the_installed_version_is_the_pinned_one(source: str, name: str, version: str) -> None:
    try:
        installed = metadata.version(_canonical(name))
    except metadata.PackageNotFoundError:
        pytest.fail(f"{name} ({source}) is pinned but not installed: run make install-dev")
    assert installed == version, f"{name}: {installed} installed, {version} pinned in {source}"


def test_a_package_is_pinned_once() -> None:
    names = [_canonical(name) for _source, name, _version in _pins()]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_nothing_runs_unpinned() -> None:
    """Every installed distribution is pinned (but the installer and the project itself)."""
    pinned = {_canonical(name) for _source, name, _version in _pins()}
    installed = {_canonical(d.metadata["Name"]) for d in metadata.distributions()}
    assert sorted(installed - pinned - {"pip", "setuptools", "facturier"}) == []
