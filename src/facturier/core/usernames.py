"""What a username may not contain, on top of Django's rule (letters, digits and @ . + - _).

Characters that show nothing, or that change how the text around them is shown, make two
usernames look alike ("admin" and "admin" with a zero-width space) or make one read
backwards (bidi overrides) in every list, message and audit line that shows it: they are
refused, as are spaces at either end.

>>> username_problem("claire.martin") is None
True
>>> username_problem(" claire")
'space'
>>> username_problem("adm\\u200bin")
'U+200B'
>>> username_problem("\\u202egnp.exe")
'U+202E'
>>> username_problem("\\u3164")  # a Hangul filler: a "letter" that shows nothing
'U+3164'
"""

from __future__ import annotations

import unicodedata

# Control, format (zero-width, bidi...), line and paragraph separators; surrogates, private
# use and unassigned code points, which show as nothing or as a box.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# The bidirectional controls (all Cf today, listed so that no Unicode update lets one in).
BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
# Letters and symbols that draw nothing: Hangul fillers, the blank Braille pattern.
BLANK_GLYPHS = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})


def username_problem(username: str) -> str | None:
    """None when `username` has none of the characters above; else "space" (at either end)
    or the first offending code point, written U+XXXX."""
    if username != username.strip():
        return "space"
    for char in username:
        code = ord(char)
        if (
            unicodedata.category(char) in REFUSED_CATEGORIES
            or code in BIDI_CONTROLS
            or code in BLANK_GLYPHS
        ):
            return f"U+{code:04X}"
    return None
