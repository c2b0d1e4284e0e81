"""`facturier manage | serve | demo`: running the application."""

from __future__ import annotations

import click

from facturier.cli.main import cli, friendly_errors


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (migrate, createsuperuser, shell, …)."""
    from django.core.management import execute_from_command_line, get_commands

    name = args[0] if args else ""
    if name and not name.startswith("-") and name != "help" and name not in get_commands():
        # Django would print "Unknown command" and exit 1: it is a usage error (exit 2).
        raise click.UsageError(f"unknown command '{name}' (facturier manage help lists them)")
    execute_from_command_line(["facturier manage", *args])


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Web processes.")
@click.option(
    "--with-worker/--no-worker",
    default=True,
    show_default=True,
    help="Also run one background worker (billing, outbox) beside the web server.",
)
def serve(host: str, port: int, workers: int, with_worker: bool) -> None:
    """Serve the web application with gunicorn (and, by default, one worker)."""
    import subprocess
    import sys

    from facturier.cli.server import run_gunicorn

    worker = None
    if with_worker:
        worker = subprocess.Popen([sys.executable, "-m", "facturier", "worker"])
        click.echo(f"Worker started (pid {worker.pid}).")
    click.echo(f"Facturier on http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        run_gunicorn(host=host, port=port, workers=workers)
    finally:
        if worker is not None:
            worker.terminate()  # SIGTERM: the worker finishes its current unit and exits
            worker.wait(timeout=60)


@cli.group()
def demo() -> None:
    """Demonstration data."""


@demo.command("load")
@click.option(
    "--force",
    is_flag=True,
    help="Load even when the database has a company: another demo company is added, with "
    "its own users (admin2… when admin is taken; existing accounts are left unchanged) and "
    "random passwords (the owner's is printed once).",
)
@click.option(
    "--url",
    default="http://127.0.0.1:8000/",
    show_default=True,
    help="Where the site is served, for the sign-in hint (make passes HOST and PORT).",
)
@friendly_errors
def load(force: bool, url: str) -> None:
    """Create a demo company with customers, products and invoices (if the database is empty)."""
    from facturier.billing.demo import DEMO_PASSWORD, DEMO_USER, demo_load

    loaded = demo_load(force=force)
    if loaded is None:
        click.echo("A company exists already: demo data not loaded (use --force to add it).")
        click.echo(f"Sign in at {url} as {DEMO_USER} / {DEMO_PASSWORD}")
        return
    click.echo(f"Demo company loaded: {loaded.company}.")
    if loaded.owner != DEMO_USER:
        click.echo(f"User '{DEMO_USER}' exists already and was left unchanged.")
    click.echo(f"Sign in at {url} as {loaded.owner} / {loaded.password}")
