"""Text bound for the terminal: user strings made harmless, counts with the right plural.

Kinds, ids, paths and values come from the user's tables and reach the terminal in the run
summary, warnings and error messages. An escape sequence among them could retitle the
terminal, move the cursor or hide text, and a bidirectional override could reorder what is
shown; :func:`printable` shows each such character as a visible escape instead.

Examples
--------
>>> printable("device\\x1b]0;owned\\x07")
'device\\\\x1b]0;owned\\\\x07'
>>> printable("a\\u202eb")
'a\\\\u202eb'
>>> counted(1, "hub identifier"), counted(2_500, "day")
('1 hub identifier', '2,500 days')
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["counted", "printable"]

# C0 and C1 controls (tab and newline included: one message, one line each), DEL, and the
# format characters that change how text is laid out (bidi overrides, zero-width marks).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``str(text)`` with control and layout characters shown as ``\\xNN`` / ``\\uNNNN``.

    ``keep_newlines`` keeps line breaks (messages of several lines written by syndicate);
    every other control character is escaped either way.
    """
    shown = str(text)
    if keep_newlines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in shown.split("\n"))
    shown = _UNSAFE.sub(_escape, shown)
    # Other format characters (Unicode category Cf) are invisible too.
    if shown.isascii():
        return shown
    return "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) == "Cf" else char for char in shown
    )


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in its number (``1 ring``, ``2 rings``)."""
    word = noun if n == 1 else (plural or f"{noun}s")
    return f"{n:,} {word}"
