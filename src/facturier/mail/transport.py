"""Hand a message to the configured transport and tell what happened to each recipient.

Through SMTP the envelope is sent by hand (not with Django's `send_messages`), so that a
server refusing some recipients and accepting others is seen: each refusal is kept with its
SMTP code, temporary (4xx: try again later) or permanent (5xx: do not). Another backend (the
embedded mailbox, the test backend) takes the message whole or raises.

A message that cannot be built (a header holding a line break, an address that is not one)
never will be, however often it is tried: that is a permanent failure too, for the whole
message or for the one recipient whose address it is.

`on_sent` is called with the outcomes as soon as the server has answered the message, before
the connection is closed (QUIT): the caller records them with the shortest possible window
between "the server has it" and "the log says so".
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address


@dataclass(frozen=True)
class Outcome:
    """What became of one recipient: delivered when `error` is empty."""

    recipient: str
    field: str  # "to", "cc" or "bcc"
    error: str = ""
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return not self.error


class SendError(Exception):
    """The whole message was not taken (server down, sender or data refused...)."""

    def __init__(self, message: str, *, permanent: bool, recipients: list[tuple[str, str]]):
        super().__init__(message)
        self.permanent = permanent
        self.recipients = recipients


def envelope(email: EmailMessage) -> list[tuple[str, str]]:
    """(address, field) of every recipient, each address once (first field wins)."""
    seen: set[str] = set()
    out = []
    for field, addresses in (("to", email.to), ("cc", email.cc), ("bcc", email.bcc)):
        for address in addresses:
            if address.lower() not in seen:
                seen.add(address.lower())
                out.append((address, field))
    return out


def _ignore(outcomes: list[Outcome]) -> None:
    return None


def send(
    email: EmailMessage,
    *,
    skip: frozenset[str] = frozenset(),
    on_sent: Callable[[list[Outcome]], None] = _ignore,
) -> list[Outcome]:
    """Send to every recipient but those in `skip` (lower-case addresses that already have
    the message); returns one Outcome per recipient tried (after passing them to `on_sent`),
    or raises SendError. An error raised by `on_sent` propagates as it is."""
    todo = [(a, f) for a, f in envelope(email) if a.lower() not in skip]
    if not todo:
        return []
    data = _built(email, todo)
    backend = get_connection()
    if isinstance(backend, SMTPBackend):
        return _smtp(backend, email, data, todo, on_sent)
    try:
        backend.send_messages([email])
    except Exception as exc:
        raise SendError(f"{type(exc).__name__}: {exc}", permanent=False, recipients=todo) from exc
    outcomes = [Outcome(a, f) for a, f in todo]
    on_sent(outcomes)
    return outcomes


def _built(email: EmailMessage, todo: list[tuple[str, str]]) -> bytes:
    """The message as it goes on the wire, or a permanent SendError when it cannot be built
    (Django refuses a header with a line break: BadHeaderError, a ValueError)."""
    try:
        data: bytes = email.message().as_bytes(linesep="\r\n")
    except (ValueError, UnicodeError) as exc:
        raise SendError(
            f"cannot be sent, it cannot be built: {exc}", permanent=True, recipients=todo
        ) from exc
    return data


def _address(address: str, encoding: str) -> str | None:
    """The address as the SMTP envelope writes it, None when it is not a valid one."""
    try:
        return sanitize_address(address, encoding)
    except (ValueError, UnicodeError):
        return None


def _code_text(code: int, text: bytes | str) -> str:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {shown}".strip()


def _smtp(
    backend: SMTPBackend,
    email: EmailMessage,
    data: bytes,
    todo: list[tuple[str, str]],
    on_sent: Callable[[list[Outcome]], None],
) -> list[Outcome]:
    encoding = email.encoding or settings.DEFAULT_CHARSET
    sender = _address(email.from_email, encoding)
    if sender is None:
        raise SendError(
            f"cannot be sent: the sender {email.from_email!r} is not a valid address",
            permanent=True, recipients=todo,
        )  # fmt: skip
    # A recipient whose address is not one is refused for good; the others still get it.
    invalid = [(a, f) for a, f in todo if _address(a, encoding) is None]
    todo = [(a, f) for a, f in todo if (a, f) not in invalid]
    rcpts = [_address(a, encoding) or a for a, _f in todo]
    bad = [Outcome(a, f, "not a valid email address", permanent=True) for a, f in invalid]
    if not todo:
        return bad
    try:
        backend.open()
        assert backend.connection is not None  # open() raises rather than fail silently
        refused = backend.connection.sendmail(sender, rcpts, data)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except smtplib.SMTPResponseException as exc:  # sender or data refused, or the greeting
        permanent = 500 <= exc.smtp_code < 600
        with contextlib.suppress(smtplib.SMTPException, OSError):
            backend.close()
        raise SendError(
            _code_text(exc.smtp_code, exc.smtp_error), permanent=permanent, recipients=todo
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:  # down, unreachable, cut off, timed out
        with contextlib.suppress(smtplib.SMTPException, OSError):
            backend.close()
        raise SendError(f"{type(exc).__name__}: {exc}", permanent=False, recipients=todo) from exc
    outcomes = bad
    for (address, field), rcpt in zip(todo, rcpts, strict=True):
        if rcpt in refused:
            code, text = refused[rcpt]
            outcomes.append(
                Outcome(address, field, _code_text(code, text), permanent=500 <= code < 600)
            )
        else:
            outcomes.append(Outcome(address, field))
    try:
        on_sent(outcomes)  # recorded before QUIT: its round trip is out of the window
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            backend.close()
    return outcomes
