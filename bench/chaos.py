"""Chaos run: bill and deliver N periods on PostgreSQL while processes are killed with
SIGKILL, the SMTP server drops connections and PostgreSQL restarts, then verify that nothing
broke. `make chaos` runs it at full size; CI runs it small.

    .venv/bin/python bench/chaos.py                          # 10,000 periods, ~30 minutes
    .venv/bin/python bench/chaos.py --periods 200 --duration 90 --kill-every 1.5   # CI size

What it does:

1. a dedicated database (`facturier_chaos`, dropped at the end unless --keep), on a throwaway
   PostgreSQL cluster of its own (`--pg own`, the default as root: restarting it disturbs
   nobody), or on the machine's cluster (`--pg main`: it is restarted too, for a machine of
   your own, e.g. CI), or without any restart (`--pg none`, e.g. when not root);
2. migrates it and seeds one company, 200 customers and N monthly subscriptions due today;
3. the chaos phase, at most --duration seconds or until all the work is done: --workers
   `facturier worker` processes and `facturier billing run` processes run side by side; a
   random one is killed with SIGKILL every --kill-every seconds on average and restarted;
   an SMTP server (aiosmtpd, in this process) drops --drop-rate of the connections at the
   end of the message, half before keeping it (not delivered), half after (delivered, but
   the sender never hears so: it sends again); PostgreSQL restarts once, a third of the way;
4. the settle phase: SIGTERM to every process (each must stop within --stop-limit seconds),
   the SMTP server stops dropping, retries are brought forward (as if their backoff had
   passed) and `facturier worker --until-idle` finishes the work;
5. verification (bench/_chaos.py and `facturier audit verify`): each due period billed
   exactly once, numbers gapless and ordered by date and time, one archive per document and
   no stray archive file, every invoice email received at least once by the SMTP server
   (counted by Message-ID) and never more often than its attempts, `audit verify` clean, no
   billing run left running and each interrupted run counting what it committed.

It prints one summary line (kills, invoices, duplicates, gaps, lost, interrupted runs,
elapsed…) and exits 1 on any violation. This process never sets Django up (its connection
would not survive the restart): the Django side runs in bench/_chaos.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DJANGO_SIDE = ROOT / "bench" / "_chaos.py"
DB_NAME = "facturier_chaos"
CLUSTER = "chaos"
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- SMTP server


class DroppingSMTP:
    """An aiosmtpd handler that keeps what it accepts (Message-ID → copies) and, at the
    given rate, cuts the connection at the end of a message: before keeping it, or after
    keeping it (the sender never gets the 250 and must send again)."""

    def __init__(self, rng: random.Random, drop_rate: float) -> None:
        self.rng = rng
        self.drop_rate = drop_rate
        self.copies: Counter[str] = Counter()
        self.dropped_before = 0
        self.dropped_after = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        found = MESSAGE_ID.search(data)
        message_id = found.group(1).decode() if found else "<none>"
        with self.lock:
            roll = self.rng.random()
            if roll < self.drop_rate / 2:
                self.dropped_before += 1
                server.transport.close()
                return "421 connection dropped"  # never reaches the sender
            self.copies[message_id] += 1
            if roll < self.drop_rate:
                self.dropped_after += 1
                server.transport.close()
        return "250 Message accepted for delivery"


def smtp_start(handler: DroppingSMTP) -> tuple[Any, int]:
    import logging
    import socket

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # the drops are on purpose
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    controller.loop.set_exception_handler(lambda loop, context: None)
    return controller, port


# --------------------------------------------------------------------------- PostgreSQL


def pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".")])[-1]


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, text=True, capture_output=True, **kwargs)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done


def pg_ready(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode:
        if time.monotonic() > deadline:
            raise SystemExit(f"PostgreSQL on port {port} is not ready after {timeout} s")
        time.sleep(0.2)


def free_pg_port() -> int:
    used = {int(line.split()[2]) for line in run(["pg_lsclusters", "-h"]).stdout.splitlines()}
    return next(p for p in range(5433, 5500) if p not in used)


@dataclass
class Postgres:
    """The server the run uses and how it restarts it."""

    mode: str  # own, main, none
    port: int = 5432
    version: str = ""

    def setup(self) -> None:
        if self.mode == "none" and shutil.which("pg_isready") is None:
            return
        self.version = pg_version() if Path("/etc/postgresql").is_dir() else ""
        if self.mode == "own":
            self.port = free_pg_port()
            with_cluster = [self.version, CLUSTER]
            subprocess.run(["pg_dropcluster", "--stop", *with_cluster], capture_output=True)
            run(["pg_createcluster", "-p", str(self.port), "--start", *with_cluster, "--",
                 "--auth=trust"])  # fmt: skip
        pg_ready(self.port)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=3) as conn:
            cur = conn.execute(statement)  # type: ignore[arg-type]
            return list(cur.fetchall()) if cur.description else []

    def create_database(self) -> None:
        self.drop_database()
        self.sql(f"CREATE DATABASE {DB_NAME}")

    def drop_database(self) -> None:
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{DB_NAME}' AND pid <> pg_backend_pid()"
        )
        self.sql(f"DROP DATABASE IF EXISTS {DB_NAME}")

    def restart(self) -> float:
        started = time.monotonic()
        cluster = CLUSTER if self.mode == "own" else "main"
        run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, cluster, "restart"])
        pg_ready(self.port)
        return time.monotonic() - started

    def teardown(self) -> None:
        if self.mode == "own":
            subprocess.run(["pg_dropcluster", "--stop", self.version, CLUSTER], capture_output=True)


# --------------------------------------------------------------------------- processes


def facturier(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("facturier")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from facturier.cli import main; main()", *args]


@dataclass
class Child:
    name: str
    kind: str  # worker, runner
    proc: subprocess.Popen[bytes]
    killed: bool = False


@dataclass
class Fleet:
    """The chaos phase's processes: started, killed at random, restarted."""

    env: dict[str, str]
    logs: Path
    rng: random.Random
    children: list[Child] = field(default_factory=list)
    started: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    crashes: list[str] = field(default_factory=list)

    def start(self, kind: str) -> None:
        self.started[kind] += 1
        name = f"{kind}-{self.started[kind]}"
        if kind == "worker":
            cmd = facturier("worker", "--tick", "0.5")
        else:
            size = str(self.rng.choice([20, 50, 100]))
            cmd = facturier("billing", "run", "--quiet", "--batch-size", size)
        out = (self.logs / f"{name}.log").open("wb")
        with out:
            proc = subprocess.Popen(
                cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.children.append(Child(name, kind, proc))

    def reap(self) -> list[Child]:
        """The children that ended since the last call (crashes are remembered)."""
        ended = [c for c in self.children if c.proc.poll() is not None]
        for c in ended:
            self.children.remove(c)
            if not c.killed and c.proc.returncode != 0:
                tail = (self.logs / f"{c.name}.log").read_text(errors="replace")[-600:]
                self.crashes.append(f"{c.name} exit {c.proc.returncode}: {tail.strip()}")
        return ended

    def kill_one(self) -> None:
        alive = [c for c in self.children if c.proc.poll() is None]
        if alive:
            victim = self.rng.choice(alive)
            victim.proc.send_signal(signal.SIGKILL)
            victim.killed = True
            self.kills += 1

    def count(self, kind: str) -> int:
        return sum(1 for c in self.children if c.kind == kind)

    def stop_all(self, limit: float) -> tuple[float, list[str]]:
        """SIGTERM to all; returns the slowest stop (s) and those over `limit` (killed)."""
        started = time.monotonic()
        for c in self.children:
            c.proc.send_signal(signal.SIGTERM)
        slowest, slow = 0.0, []
        for c in self.children:
            try:
                code = c.proc.wait(max(0.1, started + limit - time.monotonic()))
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()
                slow.append(c.name)
                continue
            slowest = max(slowest, time.monotonic() - started)
            if code not in (0, -signal.SIGTERM):
                tail = (self.logs / f"{c.name}.log").read_text(errors="replace")[-600:]
                self.crashes.append(f"{c.name} exit {code} on SIGTERM: {tail.strip()}")
        self.children.clear()
        return slowest, slow


# --------------------------------------------------------------------------- the run


@dataclass
class Progress:
    billed: int = 0
    emails: int = 0
    due_rows: int = 0

    @classmethod
    def read(cls, pg: Postgres) -> Progress | None:
        try:
            [(billed, emails, due_rows)] = pg.sql(
                "SELECT (SELECT count(*) FROM billing_billedperiod),"
                " (SELECT count(*) FROM billing_outboxmessage WHERE kind = 'email.invoice'"
                "  AND status = 'sent'),"
                " (SELECT count(*) FROM billing_outboxmessage WHERE status = 'pending'"
                "  AND next_attempt_at <= now())",
                DB_NAME,
            )
        except Exception:  # the server is restarting: no figure this time
            return None
        return cls(billed, emails, due_rows)


def django_side(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(DJANGO_SIDE), *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"bench/_chaos.py {args[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def chaos_phase(args: argparse.Namespace, pg: Postgres, fleet: Fleet) -> dict[str, Any]:
    rng = fleet.rng
    started = time.monotonic()
    deadline = started + args.duration
    next_kill = started + rng.expovariate(1 / args.kill_every)
    restart_due = args.pg != "none"
    pg_restart_s = None
    runner_wanted = True
    for _ in range(args.workers):
        fleet.start("worker")
    fleet.start("runner")
    progress, last_read = Progress(), 0.0
    while time.monotonic() < deadline:
        now = time.monotonic()
        for child in fleet.reap():
            if child.kind == "runner" and child.proc.returncode == 0:
                runner_wanted = progress.billed < args.periods and rng.random() < 0.7
        if fleet.count("worker") < args.workers:
            fleet.start("worker")
        if runner_wanted and fleet.count("runner") < args.runners:
            fleet.start("runner")
        if now >= next_kill:
            fleet.kill_one()
            next_kill = now + rng.expovariate(1 / args.kill_every)
        if now - last_read >= 1.0:
            last_read = now
            progress = Progress.read(pg) or progress
            billed = progress.billed >= args.periods and progress.emails >= args.periods
            if billed and not progress.due_rows and not restart_due:
                break  # all done: every invoice billed and its email sent
        third = progress.billed >= args.periods / 3 or now - started >= args.duration / 3
        if restart_due and third:
            restart_due = False
            log("restarting PostgreSQL")
            pg_restart_s = round(pg.restart(), 1)
            log(f"PostgreSQL back after {pg_restart_s} s")
        time.sleep(0.05)
    return {
        "chaos_s": round(time.monotonic() - started, 1),
        "pg_restart_s": pg_restart_s,
        "billed_in_chaos": progress.billed,
        "emails_in_chaos": progress.emails,
    }


def settle_phase(args: argparse.Namespace, pg: Postgres, env: dict[str, str]) -> int:
    """Bring every retry forward and let a worker finish; returns the rounds it took."""
    for rounds in range(1, 11):
        pg.sql(
            "UPDATE billing_outboxmessage SET next_attempt_at = now() WHERE status = 'pending'",
            DB_NAME,
        )
        subprocess.run(
            facturier("worker", "--until-idle", "--tick", "0.1"),
            env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=args.duration * 4 + 300,
        )  # fmt: skip
        [(pending,)] = pg.sql(
            "SELECT count(*) FROM billing_outboxmessage WHERE status = 'pending'", DB_NAME
        )
        if not pending:
            return rounds
    return rounds


def main(argv: list[str] | None = None) -> int:
    root = os.geteuid() == 0
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--periods", type=int, default=10_000, help="subscriptions due")
    parser.add_argument("--duration", type=float, default=900, help="chaos phase at most (s)")
    parser.add_argument("--workers", type=int, default=3, help="`facturier worker` processes")
    parser.add_argument("--runners", type=int, default=1, help="`billing run` processes")
    parser.add_argument("--kill-every", type=float, default=2.0, help="mean seconds")
    parser.add_argument("--drop-rate", type=float, default=0.05, help="SMTP connections cut")
    parser.add_argument(
        "--pg", choices=["own", "main", "none"], default="own" if root else "none",
        help="restart a throwaway cluster (own), the machine's (main), or none "
        "(default: own as root, none otherwise)",
    )  # fmt: skip
    parser.add_argument("--stop-limit", type=float, default=30, help="max seconds to stop")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--keep", action="store_true", help="keep the database and files")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--tolerate", action="append", default=[], metavar="CHECK",
        help="report this check's violations (e.g. stray_files) without failing the run",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.pg != "none" and not root:
        parser.error("restarting PostgreSQL needs root: use --pg none")
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    began = time.monotonic()
    log(f"chaos run, seed {seed}: {args.periods} periods, pg restart: {args.pg}")

    pg = Postgres(args.pg)
    pg.setup()
    data_dir = Path(tempfile.mkdtemp(prefix="facturier-chaos."))
    handler = DroppingSMTP(random.Random(seed + 1), args.drop_rate)
    controller, smtp_port = smtp_start(handler)
    env = {
        **os.environ,
        "DATABASE_URL": pg.url(DB_NAME),
        "FACTURIER_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "facturier.settings",
        "FACTURIER_SMTP_HOST": "127.0.0.1",
        "FACTURIER_SMTP_PORT": str(smtp_port),
        "FACTURIER_SMTP_STARTTLS": "0",
        "FACTURIER_SMTP_TIMEOUT": "10",
    }
    figures: dict[str, Any] = {"seed": seed, "pg": args.pg}
    violations: list[str] = ["the run did not complete"]
    try:
        pg.create_database()
        run(facturier("manage", "migrate", "--no-input"), env=env)
        seeded = django_side(env, "seed", str(args.periods))
        log(
            f"seeded {seeded['subscriptions']} subscriptions in {seeded['seconds']} s (seed {seed})"
        )
        fleet = Fleet(env, data_dir, rng)
        figures |= chaos_phase(args, pg, fleet)
        slowest, slow = fleet.stop_all(args.stop_limit)
        handler.drop_rate = 0.0
        log(f"chaos over: {fleet.kills} kills; stopped in {slowest:.1f} s; settling")
        figures["settle_rounds"] = settle_phase(args, pg, env)
        received = data_dir / "received.json"
        received.write_text(json.dumps(dict(handler.copies)))
        figures |= django_side(env, "verify", str(args.periods), str(received))
        audit = subprocess.run(
            facturier("audit", "verify"), env=env, capture_output=True, text=True
        )
        figures |= {
            "kills": fleet.kills,
            "restarts": sum(fleet.started.values()),
            "crashes": len(fleet.crashes),
            "max_stop_s": round(slowest, 1),
            "smtp_dropped": handler.dropped_before + handler.dropped_after,
            "smtp_dropped_after_accept": handler.dropped_after,
            "audit": "ok" if audit.returncode == 0 else "BROKEN",
            "elapsed_s": round(time.monotonic() - began, 1),
        }
        violations = figures.pop("violations")
        if slow:
            violations.append(f"{slow} did not stop within {args.stop_limit} s of SIGTERM")
        if audit.returncode:
            violations.append(f"audit verify: {(audit.stdout + audit.stderr).strip()[-500:]}")
        for crash in fleet.crashes[:5]:
            log(f"crash: {crash}")
    finally:
        controller.stop()
        if not args.keep:
            try:
                pg.drop_database()
            finally:
                pg.teardown()
                shutil.rmtree(data_dir, ignore_errors=True)
        else:
            log(f"kept: {pg.url(DB_NAME)} and {data_dir}")
    tolerated = [v for v in violations if v.split(":")[0] in args.tolerate]
    violations = [v for v in violations if v not in tolerated]
    figures["violations"] = len(violations)
    if args.json:
        args.json.write_text(json.dumps({**figures, "violation_list": violations}, indent=2))
    shown = [
        "periods", "invoices", "kills", "restarts", "crashes", "pg_restart_s", "smtp_dropped",
        "smtp_dropped_after_accept", "invoice_emails", "lost", "duplicates", "started_unknown",
        "gaps", "disorder",
        "billed_twice", "stray_files", "runs_interrupted", "runs_running", "audit",
        "max_stop_s", "chaos_s", "elapsed_s", "violations",
    ]  # fmt: skip
    print("chaos: " + " ".join(f"{k}={figures.get(k)}" for k in shown), flush=True)
    for v in violations:
        print(f"VIOLATION: {v}", flush=True)
    for v in tolerated:
        print(f"TOLERATED (--tolerate): {v}", flush=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
