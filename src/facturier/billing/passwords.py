"""A password validator (AUTH_PASSWORD_VALIDATORS): not the name of the user's company.

The company's name is printed on every invoice it sends, so it is the first guess of anyone
who receives one. The test is Django's own for the username and email (the whole name and
each of its words, SequenceMatcher's quick ratio), against the legal and trade names of the
company the user is a member of; users without a company (operators) are not concerned."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from facturier.billing.models import Company


def _company_of(user: Any) -> Company | None:
    # `membership` may be unsaved (user_create validates before saving): read it as cached.
    membership = getattr(user, "membership", None)  # a user without one raises AttributeError
    return membership.company if membership is not None else None


class CompanyNameValidator:
    def __init__(self, max_similarity: float = 0.7) -> None:
        self.max_similarity = max_similarity

    def _similar(self, password: str, name: str) -> bool:
        name = name.lower()
        for part in [*re.split(r"\W+", name), name]:
            # As Django's: a password ten times longer than a short word is not "similar" to it.
            if not part or (
                len(password) >= 10 * len(part)
                and len(part) < self.max_similarity / 2 * len(password)
            ):
                continue
            if SequenceMatcher(a=password, b=part).quick_ratio() >= self.max_similarity:
                return True
        return False

    def validate(self, password: str, user: Any = None) -> None:
        company = _company_of(user)
        if company is None:
            return
        names = [name for name in (company.legal_name, company.trade_name) if name]
        if any(self._similar(password.lower(), name) for name in names):
            raise ValidationError(
                _("The password is too similar to the name of your company."),
                code="password_too_similar",
            )

    def get_help_text(self) -> str:
        return _("Your password can’t be too similar to the name of your company.")
