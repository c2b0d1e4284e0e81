"""Document rendering benchmark: one one-page invoice, PDF/A-3b + Factur-X, XML built and
embedded, in a warm process; then documents per second with 1 and 2 processes.

    .venv/bin/python bench/render.py [--n 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def _doc() -> dict[str, object]:
    from tests.documents.builders import document

    return document()


def _render(_: int) -> int:
    from facturier.documents.cii import invoice_xml
    from facturier.documents.pdf import invoice_pdf

    doc = _doc()
    return len(invoice_pdf(doc, xml=invoice_xml(doc)))


def _render_many(n: int) -> int:
    return sum(_render(i) > 0 for i in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="documents per throughput case")
    args = parser.parse_args()
    for _ in range(5):  # warm: fonts, ICC profile, imports
        _render(0)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        _render(0)
        times.append((time.perf_counter() - start) * 1000)
    print(f"one-page invoice: median {statistics.median(times):.1f} ms "
          f"(min {min(times):.1f}, max {max(times):.1f}) over 50 warm renders")  # fmt: skip
    for workers in (1, 2):
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_render_many, [5] * workers))  # warm each process
            start = time.perf_counter()
            done = sum(pool.map(_render_many, [args.n // workers] * workers))
            elapsed = time.perf_counter() - start
        print(
            f"{workers} process(es): {done} documents in {elapsed:.1f} s = {done / elapsed:.0f}/s"
        )


if __name__ == "__main__":
    main()
