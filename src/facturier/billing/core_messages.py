"""The refusals of `core`, in the reader's language.

`core` is pure Python and says what is wrong in English (its doctests and the command line
read it so). Where a service turns such an error into an `InvalidInput` for a person, it
passes it through :func:`core_message`, which recognises each known wording and gives the
translated sentence with the same facts; an unknown wording is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext as _

# (pattern of core's English message, the translated message built from its groups)
_KNOWN: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"semi-monthly days need 1 <= first < second <= 31, got \((\d+), (\d+)\)"),
        lambda m: (
            _(
                "the two days of the month must be between 1 and 31, the first before the second "
                "(%(first)s and %(second)s given)"
            )
            % {"first": m[1], "second": m[2]}
        ),
    ),
    (
        re.compile(r"semi-monthly first day must be <= 27, got (\d+)"),
        lambda m: (
            _(
                "the first day of the month must be at most the 27th (so that February keeps two "
                "periods): %(day)s given"
            )
            % {"day": m[1]}
        ),
    ),
    (
        re.compile(r"semi-monthly frequency needs interval 1, got (\d+)"),
        lambda m: _("twice a month takes no interval (%(n)s given)") % {"n": m[1]},
    ),
    (
        re.compile(r"interval must be >= 1, got (-?\d+)"),
        lambda m: _("the interval must be at least 1 (%(n)s given)") % {"n": m[1]},
    ),
    (
        re.compile(r"interval must be a whole number, got (.*)"),
        lambda m: _("the interval must be a whole number"),
    ),
    (
        re.compile(r"service start must not be after the anchor"),
        lambda m: _("the service start must not be after the first period start"),
    ),
    (
        re.compile(r"service start must be within one period before the anchor"),
        lambda m: _("the service start must be at most one period before the first period start"),
    ),
    (
        re.compile(r"end date must not be before the first period start"),
        lambda m: _("the end date must not be before the first period start"),
    ),
    (
        re.compile(r"end rule 'count' needs a count >= 1"),
        lambda m: _("give the number of invoices (at least 1)"),
    ),
    (
        re.compile(r"end rule 'until' needs an until date"),
        lambda m: _("give the last day of service"),
    ),
    (
        re.compile(r"days_before must be >= 0, got (-?\d+)"),
        lambda m: _("the days before the period must be 0 or more (%(n)s given)") % {"n": m[1]},
    ),
    (
        re.compile(r"pause end must not be before its start"),
        lambda m: _("the pause ends before it starts"),
    ),
    # The reminder policy (core.dunning)
    (
        re.compile(r"a policy needs at least one level \(disable levels to stop reminders\)"),
        lambda m: _("a policy needs at least one level (turn levels off to stop reminders)"),
    ),
    (
        re.compile(r"at most (\d+) levels"),
        lambda m: _("at most %(n)s levels") % {"n": m[1]},
    ),
    (
        re.compile(r"levels must be numbered 1 to (\d+), got .*"),
        lambda m: _("the levels must be numbered 1 to %(n)s") % {"n": m[1]},
    ),
    (
        re.compile(r"level (\d+): its day \((.*)\) must come after level (\d+)'s \((.*)\)"),
        lambda m: (
            _("level %(a)s: its day (%(day_a)s) must come after level %(b)s's (%(day_b)s)")
            % {"a": m[1], "day_a": m[2], "b": m[3], "day_b": m[4]}
        ),
    ),
    (
        re.compile(r"level (\d+): days must be between (-?\d+) and (\d+): (-?\d+)"),
        lambda m: (
            _("level %(n)s: the days must be between %(low)s and %(high)s (%(given)s given)")
            % {"n": m[1], "low": m[2], "high": m[3], "given": m[4]}
        ),
    ),
    (
        re.compile(r"level (\d+): the formal notice must be the last level"),
        lambda m: _("level %(n)s: the formal notice must be the last level") % {"n": m[1]},
    ),
    (
        re.compile(r"level (\d+): a formal notice is sent after the due date \(days ≥ 1\)"),
        lambda m: (
            _("level %(n)s: a formal notice is sent after the due date (days ≥ 1)") % {"n": m[1]}
        ),
    ),
    # Numbering patterns (core.numbering)
    (
        re.compile(r"character (.*) not allowed in numbering pattern (.*)"),
        lambda m: (
            _("%(char)s is not allowed in a numbering pattern (%(pattern)s)")
            % {"char": m[1], "pattern": m[2]}
        ),
    ),
    (
        re.compile(r"unknown token (\{.*\}) in numbering pattern (.*)"),
        lambda m: (
            _("unknown token %(token)s in the numbering pattern (%(pattern)s)")
            % {"token": m[1], "pattern": m[2]}
        ),
    ),
    (
        re.compile(r"numbering pattern needs exactly one \{SEQ\} token: (.*)"),
        lambda m: (
            _("a numbering pattern needs exactly one {SEQ} token (%(pattern)s)") % {"pattern": m[1]}
        ),
    ),
    (
        re.compile(
            r"numbering pattern can give numbers of (\d+) characters, more than (\d+): (.*)"
        ),
        lambda m: (
            _(
                "this numbering pattern can give numbers of %(n)s characters, more than %(max)s "
                "(%(pattern)s)"
            )
            % {"n": m[1], "max": m[2], "pattern": m[3]}
        ),
    ),
    # Message templates (mail.texts)
    (
        re.compile(r"the subject is empty"),
        lambda m: _("the subject is empty"),
    ),
    (
        re.compile(r"the subject must be one line"),
        lambda m: _("the subject must be one line"),
    ),
    (
        re.compile(r"the body is empty"),
        lambda m: _("the body is empty"),
    ),
    (
        re.compile(r"unknown placeholder (\{\w+\}) in the (subject|body); this message has: (.*)"),
        lambda m: (
            _("unknown placeholder %(name)s in the %(where)s; this message has: %(have)s")
            % {
                "name": m[1],
                "where": _("subject") if m[2] == "subject" else _("body"),
                "have": m[3],
            }
        ),
    ),
    (
        re.compile(r"this message must keep (.*) \(the statement the law requires\)"),
        lambda m: (
            _("this message must keep %(names)s (the statement the law requires)") % {"names": m[1]}
        ),
    ),
]


def core_message(exc: BaseException | str) -> str:
    """`core`'s English refusal in the active language (unknown wordings are kept).

    >>> core_message("pause end must not be before its start")
    'the pause ends before it starts'
    >>> core_message("something core never said")
    'something core never said'
    """
    text = str(exc)
    for pattern, translated in _KNOWN:
        if match := pattern.fullmatch(text):
            return str(translated(match))
    return text
