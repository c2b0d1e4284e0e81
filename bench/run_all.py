"""`make bench`: run the default benchmark set and write its figures into docs/benchmarks.md.

    .venv/bin/python bench/run_all.py [billing_run.py options, e.g. --sizes 10000]

Only the section between the two `bench:results` markers of docs/benchmarks.md is replaced;
the hand-written text around it stays. The raw figures go to bench/results/ (not committed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import billing_run

DOC = billing_run.ROOT / "docs" / "benchmarks.md"
START = "<!-- bench:results:start (written by bench/run_all.py; edit outside the markers) -->"
END = "<!-- bench:results:end -->"

INTRO = """# Benchmarks

How fast the billing run issues invoices, and how much memory a worker needs. Run them with
`make bench` (or `.venv/bin/python bench/run_all.py`); see bench/billing_run.py for options.

"""


def results_section(
    results: list[billing_run.Result], info: dict[str, object], argv: list[str]
) -> str:
    command = " ".join(["python bench/run_all.py", *argv])
    return (
        f"{START}\n"
        f"## Latest results\n\n"
        f"Command: `{command}`\n\n"
        f"{billing_run.machine_markdown(info)}\n"
        f"{billing_run.markdown_table(results)}"
        f"{END}"
    )


def write_doc(section: str, path: Path = DOC) -> None:
    text = path.read_text() if path.exists() else INTRO
    if START in text and END in text:
        before = text.split(START, 1)[0]
        after = text.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv: list[str]) -> int:
    results, info = billing_run.main(argv)
    write_doc(results_section(results, info, argv))
    print(f"Updated {DOC.relative_to(billing_run.ROOT)}")
    return 0 if all(r.status in ("ok", "skipped") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
