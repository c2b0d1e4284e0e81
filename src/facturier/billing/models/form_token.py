"""One-time form tokens, recorded when used: a form that creates something is sent once."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FormToken(models.Model):
    """A form's one-time token, written in the same transaction as what the form created.

    The token itself is signed (user, form, random key, time) and carried by the form's
    hidden field; this row, unique by key, is what makes it usable once across every web
    process: a second submission finds it and is answered with what the first created.
    """

    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    form = models.CharField(max_length=40)  # which form: "payment", "customer"...
    used_at = models.DateTimeField()
    # Where the first submission led (the page of what it created), for the replay's answer.
    result_url = models.CharField(max_length=300, blank=True)
    result_label = models.CharField(max_length=200, blank=True)

    class Meta:
        # Rows older than the tokens' lifetime are pruned on the way (services/form_tokens).
        indexes = [models.Index(fields=["used_at"], name="form_token_used_at")]

    def __str__(self) -> str:
        return f"{self.form} {self.key}"
