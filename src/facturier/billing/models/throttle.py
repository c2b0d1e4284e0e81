"""Attempts counted against a limit (wrong passwords...), shared by every web process."""

from __future__ import annotations

from django.db import models


class ThrottleHit(models.Model):
    """One attempt of one key in one scope, kept while it counts (services/throttle.py).

    In the database, not a per-process cache: every gunicorn process, on every machine, counts
    the same attempts. Rows older than their scope's window are deleted as new ones come."""

    # What is limited, e.g. "login:address", "login:address+username", "password-change".
    scope = models.CharField(max_length=40)
    # SHA-256 (hex) of what is counted: an address, an address and a username, a user id.
    # Never the username itself: people sometimes type their password in that field.
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key", "at"], name="throttle_count"),
            models.Index(fields=["scope", "at"], name="throttle_prune"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:12]} {self.at:%Y-%m-%d %H:%M:%S}"
