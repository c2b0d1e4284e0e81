"""Where an installation keeps its data, found the same way from any directory.

No Django here: the command line asks before Django is set up, so that a command run from
the wrong folder says so instead of creating an empty database there.
"""

from __future__ import annotations

import os
from pathlib import Path

DATABASE_FILE = "facturier.sqlite3"


def data_dir() -> Path:
    """FACTURIER_DATA_DIR when set; else the `var/` folder of the source checkout this code
    runs from (what `make setup` creates, wherever the command is typed); else `./var`."""
    if configured := os.environ.get("FACTURIER_DATA_DIR"):
        return Path(configured).resolve()
    checkout = Path(__file__).resolve().parent.parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "facturier").is_dir():
        return checkout / "var"
    return (Path.cwd() / "var").resolve()


def missing_database() -> str | None:
    """Why the embedded database cannot be used (None when it exists, or with PostgreSQL)."""
    if os.environ.get("DATABASE_URL"):
        return None
    where = data_dir()
    if (where / DATABASE_FILE).is_file():
        return None
    return (
        f"no Facturier database in {where}: run `make setup` in the project folder (or "
        "`facturier manage migrate` to create an empty one), or set FACTURIER_DATA_DIR (or "
        "DATABASE_URL) to the data of an installation"
    )
