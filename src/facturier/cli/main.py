"""`facturier`: the command line. Each command parses its arguments, calls one service or
selector, and prints the result; a user's mistake ends with a one-line message and exit 2."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1  # the command ran and found something wrong (e.g. a broken audit chain)
EXIT_USAGE = 2  # the user's input was refused; nothing changed


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
    import django

    django.setup()


def friendly_errors(func: F) -> F:
    """Turn refused input into `Error: …` and exit 2, never a stack trace."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from django.core.exceptions import ObjectDoesNotExist, ValidationError

        from facturier.billing.services.errors import ServiceError, from_validation_error

        try:
            return func(*args, **kwargs)
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc
        except ValidationError as exc:
            raise click.ClickException(str(from_validation_error(exc))) from exc
        except ObjectDoesNotExist as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


# Commands that work for the site rather than talk to the person at the terminal keep the
# site's language (LANGUAGE_CODE): the worker's ledger reasons, the web server.
SITE_LANGUAGE_COMMANDS = {"worker", "serve"}

# Click exits 2 on bad arguments; refused input (ClickException) gets the same code.
click.ClickException.exit_code = EXIT_USAGE


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="facturier")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Facturier: recurring invoicing for French and European businesses.

    Set DATABASE_URL to use PostgreSQL (SQLite in ./var by default).
    """
    _refuse_a_missing_database(ctx.invoked_subcommand)
    django_setup()
    if ctx.invoked_subcommand not in SITE_LANGUAGE_COMMANDS:
        from django.utils import translation

        # The command line speaks English (its help and messages); the services' messages
        # too, not the site's language. Restored when the command ends.
        ctx.with_resource(translation.override("en"))


# `manage` creates the database (migrate) and runs Django's own commands.
NO_DATABASE_NEEDED = {"manage"}


def _refuse_a_missing_database(command: str | None) -> None:
    """A command typed in the wrong folder says where it looked, instead of creating an
    empty database there (Django is not set up yet: nothing is created before this check).
    Under a test runner Django is already set up on its own database: nothing to check."""
    from django.apps import apps

    from facturier.paths import missing_database

    if command in NO_DATABASE_NEEDED or apps.ready:
        return
    if reason := missing_database():
        raise click.ClickException(reason)


def main() -> None:
    from facturier.cli import commands  # noqa: F401  (registers the subcommands)

    cli(prog_name="facturier")
