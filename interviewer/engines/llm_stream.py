"""Streaming the interviewer's words out of a JSON reply while it is still arriving.

The grading JSON puts ``utterance`` last, so by the time its characters stream in, the verdicts
are complete. ``UtteranceStream`` watches the raw text for the ``"utterance": "`` key and passes
the decoded characters of that string on as they come, escapes included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

_KEY = re.compile(r'"utterance"\s*:\s*"')
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class UtteranceStream:
    """Feed raw deltas in; the utterance's decoded text comes out through ``sink``."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self._raw = ""
        self._start: int | None = None  # index in _raw of the utterance's first character
        self._position = 0
        self._done = False
        self.emitted = ""

    def feed(self, delta: str) -> None:
        if self._done:
            return
        self._raw += delta
        if self._start is None:
            match = _KEY.search(self._raw)
            if match is None:
                return
            self._start = self._position = match.end()
        out = []
        raw = self._raw
        i = self._position
        while i < len(raw):
            char = raw[i]
            if char == '"':
                self._done = True
                break
            if char != "\\":
                out.append(char)
                i += 1
                continue
            if i + 1 >= len(raw):
                break  # the escape is split across deltas: wait for the rest
            code = raw[i + 1]
            if code == "u":
                if i + 6 > len(raw):
                    break
                try:
                    out.append(json.loads(f'"{raw[i:i + 6]}"'))
                except ValueError:
                    pass
                i += 6
                continue
            out.append(_SIMPLE_ESCAPES.get(code, code))
            i += 2
        self._position = i
        text = "".join(out)
        if text:
            self.emitted += text
            self.sink(text)
