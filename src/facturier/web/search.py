"""Search as people type: case- and accent-insensitive, on SQLite and PostgreSQL alike.

Neither database folds accents by itself (PostgreSQL's `unaccent` is an extension the
server may not have; SQLite has nothing), so the text typed becomes a regular expression
where each letter matches its accented and capital forms: "cafe" finds "Café" and "CAFÉ".
Both `regex` lookups understand it (PostgreSQL's advanced expressions, SQLite's REGEXP
which Django runs through Python's `re`).
"""

from __future__ import annotations

import re
import unicodedata

from django.db.models import Q

_FORMS = {
    "a": "aàâäáãå", "c": "cç", "e": "eéèêë", "i": "iîïíì", "n": "nñ",
    "o": "oôöóòõ", "u": "uùûüú", "y": "yÿý",
}  # fmt: skip


def plain(text: str) -> str:
    """`text` without accents, in lower case.

    >>> plain("Crème Brûlée")
    'creme brulee'
    """
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def accent_pattern(text: str) -> str:
    """A regular expression matching `text` whatever its accents and case.

    >>> accent_pattern("Café 2")
    '[cçCÇ][aàâäáãåAÀÂÄÁÃÅ][fF][eéèêëEÉÈÊË]\\\\ 2'
    >>> bool(re.search(accent_pattern("ELEVE"), "Élève"))
    True
    """
    out = []
    for char in plain(text):
        forms = _FORMS.get(char)
        if forms:
            out.append(f"[{forms}{forms.upper()}]")
        elif char.isalpha():
            out.append(f"[{char}{char.upper()}]")
        else:
            out.append(re.escape(char))
    return "".join(out)


def matching(text: str, *fields: str) -> Q:
    """Rows whose `fields` (any of them) contain `text`, accents and case aside."""
    pattern = accent_pattern(text)
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__regex": pattern})
    return query
