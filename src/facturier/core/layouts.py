"""The built-in layouts of the invoice PDF, by name, with the label a user chooses from.

The billing app validates ``Company.invoice_layout`` against these names; the documents package
implements one layout class per name and refuses to load if its registry and this list differ.
Labels are English and marked for translation; they are translated where they are shown.

>>> DEFAULT_LAYOUT in LAYOUTS
True
>>> list(LAYOUTS)
['classic', 'modern', 'compact']
>>> is_layout("modern"), is_layout("fancy")
(True, False)
"""

from __future__ import annotations

from typing import Final


def gettext_noop(message: str) -> str:
    """Marks a text for the translation catalog without translating it (core has no Django)."""
    return message


LAYOUTS: Final[dict[str, str]] = {
    "classic": gettext_noop("Classic"),
    "modern": gettext_noop("Modern"),
    "compact": gettext_noop("Compact"),
}
DEFAULT_LAYOUT: Final = "classic"


def is_layout(name: str) -> bool:
    """Whether ``name`` is one of the built-in layouts."""
    return name in LAYOUTS
