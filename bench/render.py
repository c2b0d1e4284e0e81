"""Document rendering benchmark (`make bench`).

1. Per built-in layout, the median time to render a one-page invoice: CII XML built, PDF made
   PDF/A-3b (sRGB output intent, embedded fonts, XMP), XML embedded; a warm process, no
   database, no storage.
2. Documents per second through the real outbox: N issued invoices, each with the
   `document.render` row that issuing queued, rendered and archived (files written, SHA-256
   recorded) by 1 and 2 `facturier worker --until-idle` processes started together.

    .venv/bin/python bench/render.py [--n 400] [--backends sqlite,postgres] [--workers 1,2]
                                     [--layout classic] [--write-doc]

The machine's load average is recorded before and after each case: on a shared machine the
figures are low. `--write-doc` replaces the section between the `bench:render` markers of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import billing_run as harness

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
SEED = ROOT / "bench" / "_render_seed.py"
DOC = ROOT / "docs" / "benchmarks.md"
START = "<!-- bench:render:start (written by bench/render.py --write-doc) -->"
END = "<!-- bench:render:end -->"
# Not the billing benchmark's database: the two can run side by side.
PG_URL = os.environ.get("BENCH_RENDER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/frender")


# --------------------------------------------------------------------------- one document


def _render(layout: str) -> int:
    from tests.documents.builders import document

    from facturier.documents.cii import invoice_xml
    from facturier.documents.pdf import invoice_pdf

    doc = document()
    return len(invoice_pdf(doc, xml=invoice_xml(doc), layout=layout))


def layout_timings(renders: int) -> dict[str, list[float]]:
    """Milliseconds of each render, per layout, after a warm-up (fonts, ICC profile)."""
    from facturier.documents.layouts import LAYOUTS

    for layout in LAYOUTS:
        for _ in range(3):
            _render(layout)
    times: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
    for _ in range(renders):  # interleaved: a burst of load hits every layout alike
        for layout in LAYOUTS:
            start = time.perf_counter()
            _render(layout)
            times[layout].append((time.perf_counter() - start) * 1000)
    return times


# --------------------------------------------------------------------------- the outbox


@dataclass
class Case:
    backend: str
    workers: int
    n: int
    status: str = "ok"
    note: str = ""
    wall_s: float | None = None
    per_s: float | None = None
    span_per_s: float | None = None
    cpu_ms_per_doc: float | None = None
    other_cpu_s: float | None = None
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    check: dict[str, Any] = field(default_factory=dict)


def _seed_env(backend: harness.Backend, n: int, layout: str) -> None:
    env = backend.template_env()
    harness._migrate(env)
    out = subprocess.run(
        [sys.executable, str(SEED), "seed", str(n), "--layout", layout],
        env=harness._base_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{out.stderr[-3000:]}")
    backend.after_seed()


def _check(env: dict[str, str], n: int) -> dict[str, Any]:
    import json

    out = subprocess.run(
        [sys.executable, str(SEED), "check", str(n)],
        env=harness._base_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"check failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_case(backend: harness.Backend, workers: int, n: int, args: argparse.Namespace) -> Case:
    case = Case(backend.name, workers, n)
    env = backend.case_env(f"render-w{workers}")
    try:
        backend.before_run(env)
        if args.idle_wait > 0:
            harness.wait_idle(args.idle_wait, args.idle_below)
        case.load_before = os.getloadavg()
        backend.start_run()
        try:
            run = harness.run_workers(
                workers,
                env,
                mode="worker",
                batch_size=None,
                timeout=args.timeout,
                logdir=Path(env["FACTURIER_DATA_DIR"]),
                db_name=backend.db_name(),
            )
        finally:
            backend.end_run()
        case.load_after = os.getloadavg()
        case.check = _check(env, n)
        archived = case.check["archived"]
        case.wall_s = round(run.wall, 2)
        case.per_s = round(archived / run.wall, 1)
        if case.check.get("span_s"):
            case.span_per_s = round((archived - 1) / case.check["span_s"], 1)
        ours = sum(w.cpu_seconds for w in run.workers) + (run.db_cpu_s or 0)
        case.cpu_ms_per_doc = round(1000 * ours / max(archived, 1), 1)
        case.other_cpu_s = round(max(run.machine_busy_s - ours, 0), 1)
        notes = []
        if run.timed_out:
            case.status = "timeout"
        elif any(w.returncode not in (0, None) for w in run.workers):
            case.status = "error"
            notes += [w.log_tail[-300:] for w in run.workers if w.returncode]
        elif not case.check["ok"]:
            case.status = "check failed"
            notes += case.check["problems"]
        capacity = run.wall * (os.cpu_count() or 1)
        if capacity and case.other_cpu_s > 0.1 * capacity:
            share = 100 * case.other_cpu_s / capacity
            notes.append(f"shared machine: other processes used {share:.0f} % of the CPU")
        case.note = "; ".join(notes)
    except Exception as exc:
        case.status, case.note = "error", f"{type(exc).__name__}: {str(exc)[-500:]}"
    finally:
        with contextlib.suppress(Exception):
            backend.drop_case(env)
    return case


def outbox_cases(args: argparse.Namespace) -> list[Case]:
    workdir = Path(tempfile.mkdtemp(prefix="facturier-render-bench-"))
    cases: list[Case] = []
    for name in args.backends:
        backend: harness.Backend = (
            harness.SQLiteBackend(workdir)
            if name == "sqlite"
            else harness.PostgresBackend(workdir, args.pg_url)
        )
        why_not = backend.available()
        if why_not:
            cases += [Case(name, w, args.n, status="skipped", note=why_not) for w in args.workers]
            continue
        try:
            print(f"{name}: issuing {args.n} invoices (not timed)…", flush=True)
            _seed_env(backend, args.n, args.layout)
            for workers in args.workers:
                case = run_case(backend, workers, args.n, args)
                print(f"  {_one_line(case)}", flush=True)
                cases.append(case)
        finally:
            backend.drop_template()
    return cases


# --------------------------------------------------------------------------- the report


def _load(value: tuple[float, float, float] | None) -> str:
    return " / ".join(f"{x:.2f}" for x in value) if value else "–"


def _one_line(case: Case) -> str:
    return (
        f"{case.backend}, {case.workers} worker(s): {case.status}, {case.n} documents in "
        f"{case.wall_s} s = {case.per_s}/s ({case.span_per_s}/s between first and last "
        f"archive), load {_load(case.load_before)} → {_load(case.load_after)} {case.note}"
    )


def markdown(timings: dict[str, list[float]], cases: list[Case], info: dict[str, Any]) -> str:
    from facturier.core.layouts import LAYOUTS

    rows = [
        f"| {LAYOUTS[name]} (`{name}`) | {statistics.median(ms):.1f} | {min(ms):.1f} | "
        f"{max(ms):.1f} |"
        for name, ms in timings.items()
    ]
    renders = len(next(iter(timings.values()))) if timings else 0
    text = [
        START,
        f"Measured {info['date']} on {info['cpu_model']}, {info['cores']} cores, Python "
        f"{info['python']}, SQLite {info['sqlite']}, PostgreSQL {info.get('postgresql') or '–'};"
        f" code {harness.code_label(info['code'])}.",
        "",
        f"One-page invoice, {renders} warm renders per layout (interleaved), load average "
        f"{_load(info['load_layouts'])} at the start:",
        "",
        "| Layout | Median ms | Min ms | Max ms |",
        "|---|--:|--:|--:|",
        *rows,
        "",
        f"Through the outbox ({cases[0].n if cases else 0} issued invoices, `facturier worker "
        "--until-idle` processes):",
        "",
        "| Backend | Workers | Status | Wall (s) | Documents/s | Documents/s first→last archive "
        "| CPU ms per document (workers + DB) | Other load (CPU s) | Load average before → after "
        "(1 / 5 / 15 min) | Notes |",
        "|---|--:|---|--:|--:|--:|--:|--:|---|---|",
    ]
    for c in cases:
        text.append(
            f"| {c.backend} | {c.workers} | {c.status} | {c.wall_s or '–'} | {c.per_s or '–'} | "
            f"{c.span_per_s or '–'} | {c.cpu_ms_per_doc or '–'} | "
            f"{'–' if c.other_cpu_s is None else c.other_cpu_s} | "
            f"{_load(c.load_before)} → {_load(c.load_after)} | {c.note} |"
        )
    text.append(END)
    return "\n".join(text)


def write_doc(section: str, path: Path = DOC) -> None:
    text = path.read_text()
    if START in text and END in text:
        before = text.split(START, 1)[0]
        after = text.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="issued invoices per outbox case")
    parser.add_argument("--renders", type=int, default=50, help="timed renders per layout")
    parser.add_argument("--backends", type=harness._names, default=["sqlite", "postgres"])
    parser.add_argument("--workers", type=harness._ints, default=[1, 2])
    parser.add_argument("--layout", default="classic", help="the company's layout (outbox)")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--idle-wait", type=float, default=60, help="wait this long for a calm")
    parser.add_argument("--idle-below", type=float, default=20, help="...machine (%% busy)")
    parser.add_argument("--skip-outbox", action="store_true")
    parser.add_argument("--write-doc", action="store_true", help="update docs/benchmarks.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = harness.machine_info(args.pg_url if "postgres" in args.backends else None)
    info["load_layouts"] = os.getloadavg()
    timings = layout_timings(args.renders)
    for name, ms in timings.items():
        print(f"{name}: median {statistics.median(ms):.1f} ms (min {min(ms):.1f}, "
              f"max {max(ms):.1f}) over {len(ms)} warm renders")  # fmt: skip
    cases = [] if args.skip_outbox else outbox_cases(args)
    section = markdown(timings, cases, info)
    if args.write_doc:
        write_doc(section)
        print(f"Updated {DOC.relative_to(ROOT)}")
    else:
        print(section)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (harness.RESULTS_DIR / f"render-{stamp}.md").write_text(section + "\n")
    return 0 if all(c.status in ("ok", "skipped") for c in cases) else 1


if __name__ == "__main__":
    sys.exit(main())
