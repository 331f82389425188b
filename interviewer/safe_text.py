"""Model-written text made safe to show: no terminal escape sequences, controls or direction tricks.

A model's words reach a terminal (the REPL), chat messages and HTML reports. A compromised or
confused model (or one echoing a hostile answer) can write ANSI escape sequences that clear the
screen, recolour or retitle the terminal, OSC 8 hyperlinks, raw C0/C1 control characters, or bidi
overrides that make text display in another order than it reads. ``sanitise`` removes all of them
(newline and tab stay); ``StreamSanitiser`` does the same for text arriving in pieces, where a
sequence can be split between two pieces. ``hide_credentials`` does the same for what we print
ourselves: an endpoint URL with a password or key in it.
"""

from __future__ import annotations

import re

# ESC-introduced sequences (7-bit) and their 8-bit C1 forms:
#   CSI  ESC [ ... final byte        (colours, cursor moves, clear screen)
#   OSC  ESC ] ... BEL | ESC \       (window title, hyperlinks, clipboard)
#   DCS/SOS/PM/APC  ESC P|X|^|_ ... ESC \
#   two-byte escapes  ESC <0x20-0x7e>  (with an optional intermediate byte: ESC ( B)
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"  # CSI (an unterminated one up to where it stops)
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"  # other escapes, or a lone ESC
)
# C0 controls but tab and newline, DEL, C1 controls, and the characters that change display order.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u206a-\u206f\ufff9-\ufffb]"
)
# A piece that ends inside a sequence that may still be going on.
_OPEN_TAIL = re.compile(
    r"(?:\x1b|\x1b\[[\x20-\x3f]*|\x9b[\x20-\x3f]*|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])[^\x07\x1b\x9c]*\x1b?"
    r"|\x1b[\x20-\x2f]+|\r)\Z"  # a carriage return: the next piece may start with its newline
)
MAX_HELD = 512  # an "open" sequence longer than this is not waited for: it is dropped as it stands


def sanitise(text: str | None) -> str:
    """``text`` without escape sequences, control characters (but newline and tab) or bidi controls.

    A carriage return becomes a newline (alone, it would let text overwrite the line it is on).
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text) is None:  # the common case: every sequence starts with a control character
        return text
    text = _SEQUENCE.sub("", text)
    return _CONTROL.sub("", text)


def sanitise_line(text: str | None) -> str:
    """``sanitise`` and every run of whitespace (line breaks included) as one space."""
    return re.sub(r"\s+", " ", sanitise(text)).strip()


class StreamSanitiser:
    """``sanitise`` for text that arrives in pieces: a piece ending inside an escape sequence keeps
    that tail back until the sequence ends (or the stream does, when it is dropped)."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        tail = _OPEN_TAIL.search(text)
        if tail is not None and len(text) - tail.start() <= MAX_HELD:
            self._held, text = text[tail.start():], text[: tail.start()]
        else:
            self._held = ""
        return sanitise(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return sanitise(held)


# A URL's user:password@ part, and query parameters that carry a secret.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@]+@")
_URL_SECRET_PARAM = re.compile(r"(?i)([?&](?:api[_-]?key|key|token|access[_-]?token|secret|password|sig)=)[^&#\s]+")


def hide_credentials(text: str) -> str:
    """Text that may hold a URL (an endpoint, an error quoting it) with the URL's credentials
    replaced by ``***``: ``http://user:SECRET@host/v1?api_key=...`` is announced on screens and in
    logs, and neither may show the secret."""
    return _URL_SECRET_PARAM.sub(r"\1***", _URL_USERINFO.sub(r"\1***@", text))
