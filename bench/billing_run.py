"""Benchmark of the billing run: N active subscriptions due today, billed by 1 or more worker
processes on SQLite and PostgreSQL; invoices issued per second and peak memory per worker.

    .venv/bin/python bench/billing_run.py --sizes 10000 --backends sqlite,postgres --workers 1,2

Each case starts from the same seeded database (seeded once per backend and size, then
copied: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL), starts the workers
at once as OS processes (`facturier billing run --quiet`, or `facturier worker --until-idle`
with `--mode worker`), and stops the clock when the last one exits. Then it checks the result:
N issued invoices, sequences exactly 1..N, one ledger row per subscription, nothing failed.

This process never sets Django up: seeding and checking run in `bench/_seed.py` with the
case's DATABASE_URL, and PostgreSQL databases are created with psycopg.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "bench" / "_seed.py"
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fbench")
SAMPLE_EVERY = 0.2  # seconds between RSS samples of the workers
# Reported with the figures: they change them.
PG_SETTINGS = (
    "autovacuum",
    "shared_buffers",
    "work_mem",
    "synchronous_commit",
    "fsync",
    "max_connections",
)


# --------------------------------------------------------------------------- the machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_info(pg_url: str | None = None) -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if "MemTotal" in line
        ),
        0,
    )
    info: dict[str, Any] = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu_model": model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": None,
        "code": code_state(),
    }
    if pg_url:
        with contextlib.suppress(Exception), _pg_admin(pg_url) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
            info["postgresql_settings"] = dict(
                conn.execute(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
                    [list(PG_SETTINGS)],
                ).fetchall()
            )
    with contextlib.suppress(Exception):
        import django

        info["django"] = django.get_version()
    with contextlib.suppress(Exception):
        import psycopg

        info["psycopg"] = psycopg.__version__
    return info


def code_state() -> dict[str, Any]:
    """The code measured: the commit, and a hash of any uncommitted change under src/."""

    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False).stdout

    commit = git("rev-parse", "--short", "HEAD").decode().strip() or "unknown"
    diff = git("diff", "HEAD", "--", "src")
    digest = hashlib.sha1(diff)
    for name in sorted(git("ls-files", "--others", "--exclude-standard", "src").split()):
        digest.update(name)
        with contextlib.suppress(OSError):
            digest.update((ROOT / name.decode()).read_bytes())
    changed = git("diff", "HEAD", "--name-only", "--", "src").decode().split()
    untracked = git("ls-files", "--others", "--exclude-standard", "--directory", "src")
    changed += [f"{name} (new)" for name in untracked.decode().split()]
    return {
        "commit": commit,
        "dirty": bool(changed),
        "src_hash": digest.hexdigest()[:10],
        "src_tree": git("rev-parse", "HEAD:src").decode().strip(),
        "changed": changed,
    }


def _same_code(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same code under src/ (a commit elsewhere, e.g. of docs, changes nothing measured)."""
    return (a["src_tree"], a["src_hash"]) == (b["src_tree"], b["src_hash"])


def code_label(state: dict[str, Any]) -> str:
    if not state["dirty"]:
        return state["commit"]
    changed = state.get("changed", [])
    listed = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
    return f"{state['commit']} + uncommitted changes in {listed} (hash {state['src_hash']})"


def _cpu_busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    first = _read("/proc/stat").splitlines()[:1]
    if not first:
        return 0, 0
    values = [int(v) for v in first[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return total - idle, total


# --------------------------------------------------------------------------- the databases


def _pg_admin(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    return psycopg.connect(admin, autocommit=True, connect_timeout=5)


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class Backend:
    """Creates the seeded template of a size, and a fresh copy of it per case."""

    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def available(self) -> str | None:
        """None when usable, otherwise why not."""
        return None

    def template_env(self) -> dict[str, str]:
        raise NotImplementedError

    def after_seed(self) -> None:
        """Settle the template (statistics, WAL) before copies are made."""

    def case_env(self, label: str) -> dict[str, str]:
        """A fresh copy of the template for one case."""
        raise NotImplementedError

    def before_run(self, env: dict[str, str]) -> None:
        """Before the clock starts."""

    def start_run(self) -> None:
        """The workers are starting."""

    def end_run(self) -> None:
        """The last worker has exited."""

    def drop_case(self, env: dict[str, str]) -> None:
        pass

    def db_name(self) -> str | None:
        """The database whose server processes are charged to the case (PostgreSQL)."""
        return None

    def drop_template(self) -> None:
        pass


def _data_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


class SQLiteBackend(Backend):
    name = "sqlite"

    def template_env(self) -> dict[str, str]:
        data = _data_dir(self.workdir / "sqlite-template")
        self.template_file = data / "facturier.sqlite3"
        return {"FACTURIER_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{self.template_file}"}

    def after_seed(self) -> None:
        with contextlib.closing(sqlite3.connect(self.template_file)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def case_env(self, label: str) -> dict[str, str]:
        data = _data_dir(self.workdir / f"sqlite-{label}")
        target = data / "facturier.sqlite3"
        with (
            contextlib.closing(sqlite3.connect(self.template_file)) as src,
            contextlib.closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
        return {"FACTURIER_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{target}"}

    def drop_case(self, env: dict[str, str]) -> None:
        shutil.rmtree(env["FACTURIER_DATA_DIR"], ignore_errors=True)

    def drop_template(self) -> None:
        shutil.rmtree(self.workdir / "sqlite-template", ignore_errors=True)


class PostgresBackend(Backend):
    name = "postgres"

    def __init__(self, workdir: Path, url: str, analyze_every: float = 0) -> None:
        super().__init__(workdir)
        self.url = url
        self.db = urlsplit(url).path.lstrip("/") or "fbench"
        self.template = f"{self.db}_tpl"
        # > 0: ANALYZE the case database this often during the run, as autovacuum would.
        self.analyze_every = analyze_every
        self._stop = threading.Event()
        self._analyzer: threading.Thread | None = None
        self.analyzes = 0

    def available(self) -> str | None:
        try:
            with _pg_admin(self.url) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            return f"PostgreSQL not reachable ({type(exc).__name__}: {str(exc).strip()[:120]})"
        return None

    def _recreate(self, name: str, template: str | None = None) -> None:
        with _pg_admin(self.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')

    def template_env(self) -> dict[str, str]:
        self._recreate(self.template)
        data = _data_dir(self.workdir / "pg-template")
        return {"FACTURIER_DATA_DIR": str(data), "DATABASE_URL": _with_db(self.url, self.template)}

    def after_seed(self) -> None:
        import psycopg

        # What autovacuum would have done by the time a real database holds these rows. The
        # tables still empty are left never analyzed: "0 rows" statistics would make the
        # planner (and the plans the workers' sessions cache) scan them whole once they grow.
        with psycopg.connect(_with_db(self.url, self.template), autocommit=True) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            ]
            for table in tables:
                if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
                    conn.execute(f"VACUUM ANALYZE {table}")

    def case_env(self, label: str) -> dict[str, str]:
        self._recreate(self.db, template=self.template)
        data = _data_dir(self.workdir / f"pg-{label}")
        return {"FACTURIER_DATA_DIR": str(data), "DATABASE_URL": _with_db(self.url, self.db)}

    def db_name(self) -> str | None:
        return self.db

    def before_run(self, env: dict[str, str]) -> None:
        with _pg_admin(self.url) as conn, contextlib.suppress(Exception):
            conn.execute("CHECKPOINT")  # the copy's writes are not charged to the run

    def start_run(self) -> None:
        self.analyzes = 0
        if self.analyze_every <= 0:
            return
        self._stop.clear()
        self._analyzer = threading.Thread(target=self._analyze_loop, daemon=True)
        self._analyzer.start()

    def _analyze_loop(self) -> None:
        """The autoanalyze of a default server: the tables that grow during the run (invoices,
        lines, ledger…) get statistics, and the plans cached by the workers' sessions (trigger
        and foreign-key checks) are replanned. Runs from the harness, charged to the DB CPU."""
        import psycopg

        with psycopg.connect(_with_db(self.url, self.db), autocommit=True) as conn:
            while not self._stop.wait(self.analyze_every):
                conn.execute("ANALYZE")
                self.analyzes += 1

    def end_run(self) -> None:
        if self._analyzer is not None:
            self._stop.set()
            self._analyzer.join()
            self._analyzer = None

    def drop_case(self, env: dict[str, str]) -> None:
        self.end_run()
        with _pg_admin(self.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        shutil.rmtree(env["FACTURIER_DATA_DIR"], ignore_errors=True)

    def drop_template(self) -> None:
        with _pg_admin(self.url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        shutil.rmtree(self.workdir / "pg-template", ignore_errors=True)


# --------------------------------------------------------------------------- processes


def _base_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "facturier.settings",
            "FACTURIER_LOG_LEVEL": "WARNING",
            "FACTURIER_DEBUG": "0",
            "PYTHONHASHSEED": "0",
        }
    )
    env.update(extra)
    return env


def _facturier() -> list[str]:
    script = Path(sys.executable).with_name("facturier")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from facturier.cli import main; main()"]


def _django(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a bench/_seed.py subcommand; its JSON answer."""
    out = subprocess.run(
        [sys.executable, str(SEED), *args],
        env=_base_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"_seed.py {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _migrate(env: dict[str, str]) -> None:
    out = subprocess.run(
        [*_facturier(), "manage", "migrate", "--no-input", "--verbosity", "0"],
        env=_base_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{out.stderr[-3000:]}")


def _rss_kib(pid: int) -> int | None:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


@dataclass
class WorkerStats:
    pid: int
    returncode: int | None = None
    seconds: float = 0.0
    peak_rss_kib: int = 0
    cpu_seconds: float = 0.0
    samples: list[tuple[float, int]] = field(default_factory=list)  # (t, rss KiB)
    log_tail: str = ""

    def rss_growth_kib(self) -> int | None:
        """RSS at the end of the run minus RSS once the run is under way (20 % of its life):
        what the worker keeps per invoice billed. None when too short to tell."""
        if len(self.samples) < 5:
            return None
        end_t = self.samples[-1][0]
        early = next(kib for t, kib in self.samples if t >= 0.2 * end_t)
        return self.samples[-1][1] - early


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (any user's: we run as its owner or root)."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def pg_backends(dbname: str) -> list[int]:
    """The pids of the PostgreSQL backends connected to `dbname` (from their process title)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        title = _read(f"/proc/{entry.name}/cmdline").replace("\0", " ")
        if title.startswith("postgres: ") and f" {dbname} " in title:
            pids.append(int(entry.name))
    return pids


def wait_idle(max_wait: float, below_pct: float, log: Any = print) -> float:
    """Wait (up to `max_wait` s) until the machine is under `below_pct` % busy over 2 s: other
    processes (a test suite…) would take CPU from the case. Returns the last busy %."""
    started = time.monotonic()
    announced = False
    while True:
        busy0, total0 = _cpu_busy_jiffies()
        time.sleep(2)
        busy1, total1 = _cpu_busy_jiffies()
        pct = 100.0 * (busy1 - busy0) / max(total1 - total0, 1)
        waited = time.monotonic() - started
        if pct < below_pct or waited >= max_wait:
            if announced:
                log(f"    waited {waited:.0f} s; machine now {pct:.0f} % busy")
            return pct
        if not announced:
            log(f"    machine {pct:.0f} % busy before the case: waiting for it to calm down…")
            announced = True


@dataclass
class RunStats:
    wall: float
    workers: list[WorkerStats]
    timed_out: bool
    machine_pct: float | None  # whole machine, all cores
    machine_busy_s: float  # busy CPU seconds of the whole machine during the run
    db_cpu_s: float | None  # PostgreSQL backends of the case's database


def run_workers(
    count: int,
    env: dict[str, str],
    *,
    mode: str,
    batch_size: int | None,
    timeout: float,
    logdir: Path,
    db_name: str | None = None,
) -> RunStats:
    """Start `count` workers at once and wait for the last one (or the timeout)."""
    if mode == "worker":
        cmd = [*_facturier(), "worker", "--until-idle", "--tick", "0.5"]
    else:
        cmd = [*_facturier(), "billing", "run", "--quiet"]
        if batch_size:
            cmd += ["--batch-size", str(batch_size)]
    full_env = _base_env(env)
    logs = [open(logdir / f"worker-{i}.log", "w") for i in range(count)]  # noqa: SIM115
    busy0, total0 = _cpu_busy_jiffies()
    start = time.monotonic()
    procs = [
        subprocess.Popen(cmd, env=full_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        for log in logs
    ]
    stats = {p.pid: WorkerStats(pid=p.pid) for p in procs}
    alive = {p.pid: p for p in procs}
    db_cpu: dict[int, float] = {}  # backend pid -> last CPU seconds seen
    timed_out = False
    killed_at: float | None = None
    tick = 0
    while alive:
        for pid in list(alive):
            done_pid, status, usage = os.wait4(pid, os.WNOHANG)
            if done_pid == 0:
                rss = _rss_kib(pid)
                if rss:
                    stats[pid].samples.append((time.monotonic() - start, rss))
                continue
            st = stats[pid]
            st.seconds = time.monotonic() - start
            st.returncode = os.waitstatus_to_exitcode(status)
            st.peak_rss_kib = usage.ru_maxrss  # KiB on Linux
            st.cpu_seconds = usage.ru_utime + usage.ru_stime
            alive.pop(pid).returncode = st.returncode  # reaped here, not by Popen
        if not alive:
            break
        if db_name and tick % 5 == 0:  # a backend lives as long as its worker's connection
            for pid in set(db_cpu) | set(pg_backends(db_name)):
                cpu = _proc_cpu_s(pid)
                if cpu is not None:
                    db_cpu[pid] = cpu
        tick += 1
        elapsed = time.monotonic() - start
        if elapsed > timeout and not timed_out:
            timed_out, killed_at = True, elapsed
            for pid in alive:  # only the processes started here, by pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        elif timed_out and killed_at is not None and elapsed > killed_at + 15:
            for pid in alive:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(SAMPLE_EVERY)
    wall = (killed_at if timed_out else None) or (time.monotonic() - start)
    busy1, total1 = _cpu_busy_jiffies()
    pct = 100.0 * (busy1 - busy0) / (total1 - total0) if total1 > total0 else None
    for i, log in enumerate(logs):
        log.close()
        tail = (logdir / f"worker-{i}.log").read_text(errors="replace").strip().splitlines()
        stats[procs[i].pid].log_tail = "\n".join(tail[-5:])
    return RunStats(
        wall=wall,
        workers=[stats[p.pid] for p in procs],
        timed_out=timed_out,
        machine_pct=pct,
        machine_busy_s=(busy1 - busy0) / CLK_TCK,
        db_cpu_s=sum(db_cpu.values()) if db_name else None,
    )


# --------------------------------------------------------------------------- the cases


@dataclass
class Result:
    backend: str
    n: int
    workers: int
    batch_size: int | None
    mode: str
    batch_default: bool = False  # batch_size is the billing run's default (not passed)
    status: str = "ok"  # ok, check failed, timeout, error, skipped
    note: str = ""
    wall_s: float | None = None
    issued: int | None = None
    per_s: float | None = None
    engine_s: float | None = None
    engine_per_s: float | None = None
    peak_rss_mib: list[float] = field(default_factory=list)
    rss_growth_mib: list[float | None] = field(default_factory=list)
    worker_cpu_s: list[float] = field(default_factory=list)
    machine_cpu_pct: float | None = None
    db_cpu_s: float | None = None
    other_cpu_s: float | None = None  # busy CPU of the machine not ours: other processes
    busy_before_pct: float | None = None
    check: dict[str, Any] = field(default_factory=dict)
    code: str = ""


def _mib(kib: int | None) -> float | None:
    return None if kib is None else round(kib / 1024, 1)


def run_case(
    backend: Backend,
    n: int,
    workers: int,
    *,
    mode: str,
    batch_size: int | None,
    timeout: float,
    idle_wait: float = 0,
    idle_below: float = 20,
    log: Any = print,
) -> Result:
    res = Result(backend.name, n, workers, batch_size if mode == "run" else None, mode)
    label = f"{n}-w{workers}"
    env = backend.case_env(label)
    before = code_state()
    res.code = code_label(before)
    try:
        backend.before_run(env)
        if idle_wait > 0:
            res.busy_before_pct = round(wait_idle(idle_wait, idle_below, log), 0)
        backend.start_run()
        try:
            run = run_workers(
                workers,
                env,
                mode=mode,
                batch_size=batch_size,
                timeout=timeout,
                logdir=Path(env["FACTURIER_DATA_DIR"]),
                db_name=backend.db_name(),
            )
        finally:
            backend.end_run()
        wall, stats, timed_out = run.wall, run.workers, run.timed_out
        check = _django(["check", str(n)], env)
        res.check = check
        res.wall_s = round(wall, 2)
        res.issued = check["issued"]
        res.per_s = round(check["issued"] / wall, 1) if wall else None
        res.engine_s = check.get("engine_s")
        if res.engine_s and not timed_out:
            res.engine_per_s = round(check["issued"] / res.engine_s, 1)
        res.peak_rss_mib = [_mib(s.peak_rss_kib) or 0.0 for s in stats]
        res.rss_growth_mib = [_mib(s.rss_growth_kib()) for s in stats]
        res.worker_cpu_s = [round(s.cpu_seconds, 1) for s in stats]
        res.machine_cpu_pct = round(run.machine_pct, 0) if run.machine_pct is not None else None
        res.db_cpu_s = round(run.db_cpu_s, 1) if run.db_cpu_s is not None else None
        ours = sum(s.cpu_seconds for s in stats) + (run.db_cpu_s or 0)
        res.other_cpu_s = round(max(run.machine_busy_s - ours, 0), 1)
        notes = []
        bad_exit = [s for s in stats if s.returncode not in (0, None)]
        if timed_out:
            res.status = "timeout"
            notes.append(f"stopped after {timeout:.0f} s: {check['issued']:,} of {n:,} issued")
        elif bad_exit:
            res.status = "error"
            notes += [f"worker exit {s.returncode}: {s.log_tail[-300:]}" for s in bad_exit]
        elif not check["ok"]:
            res.status = "check failed"
            notes += check["problems"]
        capacity = wall * (os.cpu_count() or 1)
        if capacity and res.other_cpu_s > 0.1 * capacity:
            share = 100 * res.other_cpu_s / capacity
            notes.append(f"shared machine: other processes used {share:.0f} % of the CPU")
        if not _same_code(code_state(), before):
            notes.append("src/ changed during the case")
        res.note = "; ".join(notes)
    except Exception as exc:
        res.status, res.note = "error", f"{type(exc).__name__}: {str(exc)[-500:]}"
    finally:
        with contextlib.suppress(Exception):
            backend.drop_case(env)
    return res


def _predicted(done: list[Result], backend: str, workers: int, n: int) -> float | None:
    """Seconds a size would take, from the largest smaller size measured (or timed out)."""
    prior = [
        r
        for r in done
        if r.backend == backend and r.workers == workers and r.n < n and r.wall_s and r.issued
    ]
    if not prior:
        return None
    best = max(prior, key=lambda r: r.n)
    rate = (best.issued or 0) / (best.wall_s or 1)
    return n / rate if rate else float("inf")


def run_all_cases(args: argparse.Namespace, log: Any = print) -> list[Result]:
    sizes = sorted(args.sizes)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="facturier-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for name in args.backends:
        backend: Backend = (
            SQLiteBackend(workdir)
            if name == "sqlite"
            else PostgresBackend(workdir, args.pg_url, args.pg_analyze_every)
        )
        why_not = backend.available()
        for n in sizes:
            todo = []
            for w in args.workers:
                skip = why_not
                predicted = _predicted(results, name, w, n)
                if not skip and predicted and predicted > args.skip_over:
                    skip = (
                        f"not run: predicted {predicted:.0f} s from the smaller size "
                        f"(> {args.skip_over:.0f} s)"
                    )
                if skip:
                    results.append(
                        Result(name, n, w, args.batch_size, args.mode, status="skipped", note=skip)
                    )
                    log(f"[{name} N={n} workers={w}] skipped: {skip}")
                else:
                    todo.append(w)
            if not todo:
                continue
            log(f"[{name} N={n}] migrating and seeding the template…")
            started = time.monotonic()
            env = backend.template_env()
            _migrate(env)
            seeded = _django(
                ["seed", str(n), "--customers", str(args.customers), "--lines", str(args.lines)],
                env,
            )
            backend.after_seed()
            default_batch = _django(["versions"], env).get("batch_size_default")
            log(f"[{name} N={n}] seeded in {time.monotonic() - started:.0f} s: {seeded}")
            for w in todo:
                for rep in range(args.repeat):
                    log(f"[{name} N={n} workers={w}] run {rep + 1}/{args.repeat}…")
                    res = run_case(
                        backend,
                        n,
                        w,
                        mode=args.mode,
                        batch_size=args.batch_size,
                        timeout=args.timeout,
                        idle_wait=args.wait_idle,
                        idle_below=args.idle_below,
                        log=log,
                    )
                    if res.batch_size is None:
                        res.batch_size, res.batch_default = default_batch, True
                    results.append(res)
                    log(f"    {_one_line(res)}")
            backend.drop_template()
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- reporting


def _one_line(r: Result) -> str:
    return (
        f"{r.status}: {r.issued} issued in {r.wall_s} s = {r.per_s}/s "
        f"(engine {r.engine_s} s = {r.engine_per_s}/s), "
        f"peak RSS {r.peak_rss_mib} MiB, growth {r.rss_growth_mib} MiB, "
        f"worker CPU {r.worker_cpu_s} s, DB CPU {r.db_cpu_s} s, other processes "
        f"{r.other_cpu_s} s, machine {r.machine_cpu_pct} % busy {r.note}"
    )


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return " / ".join(_fmt(v, spec) for v in value) if value else "–"
    return format(value, spec)


def _batch(r: Result) -> str:
    if r.batch_size is None:
        return "default"
    return f"{r.batch_size} (default)" if r.batch_default else str(r.batch_size)


def _ms_per_invoice(r: Result) -> str:
    if not r.issued or not r.worker_cpu_s:
        return "–"
    workers = 1000 * sum(r.worker_cpu_s) / r.issued
    if r.db_cpu_s is None:
        return f"{workers:.1f}"
    return f"{workers:.1f} + {1000 * r.db_cpu_s / r.issued:.1f}"


def markdown_table(results: list[Result]) -> str:
    head = (
        "| Backend | N | Workers | Batch | Status | Wall (s) | Issued | Invoices/s "
        "| Invoices/s in engine | Peak RSS per worker (MiB) | RSS growth in run (MiB) "
        "| CPU ms per invoice (workers + DB) | Other load (CPU s) | Notes |\n"
        "|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n"
    )
    rows = []
    for r in results:
        rows.append(
            f"| {r.backend} | {r.n:,} | {r.workers}{' `worker`' if r.mode == 'worker' else ''} "
            f"| {_batch(r)} | {r.status} "
            f"| {_fmt(r.wall_s, '.1f')} | {_fmt(r.issued, ',')} | {_fmt(r.per_s, ',.0f')} "
            f"| {_fmt(r.engine_per_s, ',.0f')} "
            f"| {_fmt(r.peak_rss_mib, '.0f')} | {_fmt(r.rss_growth_mib, '+.0f')} "
            f"| {_ms_per_invoice(r)} | {_fmt(r.other_cpu_s, '.0f')} "
            f"| {' '.join(r.note.replace('|', '/').split())} |"
        )
    return head + "\n".join(rows) + "\n"


def machine_markdown(info: dict[str, Any]) -> str:
    cores = info["cores"]
    if info.get("cores_usable") and info["cores_usable"] != cores:
        cores = f"{cores} ({info['cores_usable']} usable)"
    lines = [
        f"- Date: {info['date']}",
        f"- CPU: {info['cpu_model']} (from /proc/cpuinfo), {cores} cores",
        f"- RAM: {info['ram_gib']} GiB",
        f"- Linux {info['kernel']}, Python {info['python']}, Django {info.get('django', '?')}, "
        f"psycopg {info.get('psycopg', '?')}",
        f"- SQLite {info['sqlite']} (WAL, synchronous=NORMAL: the project's settings)",
        f"- PostgreSQL {info['postgresql'] or 'not available'}, on the same machine",
    ]
    if info.get("postgresql_settings"):
        pg = info["postgresql_settings"]
        lines[-1] += ": " + ", ".join(f"{k} = {pg[k]}" for k in PG_SETTINGS if k in pg)
        if info.get("pg_analyze_every"):
            lines.append(
                f"- autovacuum is off on this server: the harness runs ANALYZE on the case "
                f"database every {info['pg_analyze_every']:g} s during each run, as autovacuum "
                "would (`--pg-analyze-every 0` to measure without)"
            )
    lines.append(f"- Code: {code_label(info['code'])}")
    return "\n".join(lines) + "\n"


def save_json(results: list[Result], info: dict[str, Any], args: argparse.Namespace) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"billing_run-{datetime.now():%Y%m%d-%H%M%S}.json"
    options = {k: v for k, v in vars(args).items() if k not in {"json"}}
    payload = {"machine": info, "options": options, "results": [asdict(r) for r in results]}
    path.write_text(json.dumps(payload, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(path.read_text())
    return path


# --------------------------------------------------------------------------- command line


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = set(names) - {"sqlite", "postgres"}
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Billing run benchmark (invoices issued per second, peak memory)."
    )
    p.add_argument("--sizes", type=_ints, default=[10_000, 100_000], help="N, comma-separated")
    p.add_argument("--backends", type=_names, default=["sqlite", "postgres"])
    p.add_argument("--workers", type=_ints, default=[1, 2], help="worker processes per case")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="billing run --batch-size (default: the billing run's own default)",
    )
    p.add_argument(
        "--mode",
        choices=["run", "worker"],
        default="run",
        help="workers are `facturier billing run` (default) or `facturier worker --until-idle`"
        " (which always uses the default batch size)",
    )
    p.add_argument("--timeout", type=float, default=900, help="cap per case, seconds")
    p.add_argument(
        "--skip-over",
        type=float,
        default=None,
        help="skip a size whose time predicted from the smaller size exceeds this many "
        "seconds (default: the timeout)",
    )
    p.add_argument("--repeat", type=int, default=1, help="runs of each case")
    p.add_argument(
        "--wait-idle",
        type=float,
        default=120,
        help="before each case, wait up to this many seconds for the machine to be idle (0: don't)",
    )
    p.add_argument("--idle-below", type=float, default=20, help="idle: under this %% busy")
    p.add_argument("--customers", type=int, default=200, help="customers shared by the N")
    p.add_argument("--lines", type=int, default=1, help="lines per subscription")
    p.add_argument("--pg-url", default=DEFAULT_PG_URL, help="its database is dropped/created")
    p.add_argument(
        "--pg-analyze-every",
        default="auto",
        metavar="SECONDS",
        help="ANALYZE the case database this often during a run (auto: 15 when the server's "
        "autovacuum is off, else 0 = never)",
    )
    p.add_argument("--workdir", help="keep the SQLite files and worker logs here")
    p.add_argument("--json", help="also write the raw results to this file")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    if args.skip_over is None:
        args.skip_over = args.timeout
    return args


def main(argv: list[str] | None = None) -> tuple[list[Result], dict[str, Any]]:
    args = parse_args(argv)
    info = machine_info(args.pg_url if "postgres" in args.backends else None)
    if args.pg_analyze_every == "auto":
        autovacuum = info.get("postgresql_settings", {}).get("autovacuum", "on")
        args.pg_analyze_every = 15.0 if autovacuum == "off" else 0.0
    else:
        args.pg_analyze_every = float(args.pg_analyze_every)
    info["pg_analyze_every"] = args.pg_analyze_every
    print(machine_markdown(info))
    results = run_all_cases(args, log=lambda msg: print(msg, flush=True))
    print()
    print(markdown_table(results))
    path = save_json(results, info, args)
    print(f"Raw results: {path.relative_to(ROOT)}")
    return results, info


if __name__ == "__main__":
    results, _info = main()
    sys.exit(0 if all(r.status in ("ok", "skipped") for r in results) else 1)
