"""One-time form tokens: a form that creates something is used once (the web's `web/once.py`
signs the tokens; this records their use, in the caller's transaction).

The row is written first, inside the transaction that creates the object: a second
submission of the same form (a double click, back and send again, a retry from another web
process) meets the unique key, waits for the first to commit, and gets the first one's row
instead — so it creates nothing and can say what was created. If the first rolls back, so
does its row, and the second goes ahead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from facturier.billing import clock
from facturier.billing.models import FormToken

# How long a form's token is valid (signed into it); used rows are kept as long, then pruned.
TOKEN_LIFETIME = timedelta(hours=24)


def form_token_use(
    *, key: str, user_id: int, form: str, now: datetime | None = None
) -> FormToken | None:
    """Record the token `key` as used, in the caller's transaction: None the first time, the
    earlier use's row when it was already used."""
    now = now or clock.now()
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a replay
            FormToken.objects.create(key=key, user_id=user_id, form=form, used_at=now)
    except IntegrityError:
        return FormToken.objects.get(key=key)
    # Rows whose token has expired can no longer match anything: prune them on the way.
    FormToken.objects.filter(used_at__lt=now - TOKEN_LIFETIME - timedelta(hours=1)).delete()
    return None


def form_token_done(*, key: str, url: str, label: str = "") -> None:
    """Say what the form created (where a replay is sent)."""
    FormToken.objects.filter(key=key).update(result_url=url[:300], result_label=label[:200])


def form_token_release(*, key: str) -> None:
    """The form created nothing (refused input): it may be sent again."""
    FormToken.objects.filter(key=key).delete()
