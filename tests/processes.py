"""Child processes for the tests that need several OS processes on one test database
(concurrent issuers, workers, a process killed with SIGKILL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection


def child_env() -> dict[str, str]:
    """The environment that points a child process at this test database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = "sqlite:///" + str(Path(db["NAME"]).resolve())  # sqlite:////abs/path
    elif connection.vendor == "postgresql":
        user = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            user += ":" + quote(db["PASSWORD"], safe="")
        host = quote(db["HOST"] or "localhost", safe="")
        port = f":{db['PORT']}" if db["PORT"] else ""
        url = f"postgres://{user}@{host}{port}/{quote(db['NAME'], safe='')}"
    else:
        pytest.skip(f"no child-process URL for {connection.vendor}")
    return {
        **os.environ,
        "DATABASE_URL": url,
        "FACTURIER_DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "facturier.settings",
        "FACTURIER_DB_CONN_MAX_AGE": "0",
    }


def facturier_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("facturier")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from facturier.cli import main; main()", *args]


class Children:
    """Child processes, their output in files (no pipe to fill up)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = child_env()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        out = (self.workdir / f"{name}.out").open("wb")
        err = (self.workdir / f"{name}.err").open("wb")
        with out, err:
            proc = subprocess.Popen(
                command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        self.procs[name] = proc
        return proc

    def output(self, name: str) -> str:
        return "".join(
            (self.workdir / f"{name}.{kind}").read_text(errors="replace") for kind in ("out", "err")
        )

    def report(self) -> str:
        return "\n".join(
            f"--- {name}: exit {proc.returncode}\n{self.output(name)[-3000:]}"
            for name, proc in self.procs.items()
        )

    def wait_for(self, paths: list[Path], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(p.exists() for p in paths):
            dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
            assert not dead, f"a child died early: {dead}\n{self.report()}"
            assert time.monotonic() < deadline, f"children too slow to start\n{self.report()}"
            time.sleep(0.01)

    def wait_all(self, timeout: float) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a child did not finish in {timeout} s\n{self.report()}")
        return {name: proc.returncode for name, proc in self.procs.items()}

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
