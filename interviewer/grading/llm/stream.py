"""Streaming the interviewer's words out of a JSON reply while it is still arriving.

The grading JSON puts ``utterance`` last, so by the time its characters stream in, the verdicts
are complete. ``UtteranceStream`` watches the raw text for the ``"utterance": "`` key and passes
the decoded characters of that string on as they come, escapes included.

What is passed on is already safe to show: escape sequences and control characters are removed
(``interviewer.safe_text``), and the last few words are held back until more arrive, so that
words stating a score or praising the answer ("Perfect, 10/10!") are caught before they are
shown: from there on nothing more is streamed. The score does not exist yet while the words
stream, so the stream holds back every such utterance; the final reply, shown once the answer is
graded, carries it when it agrees with the computed score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from interviewer.grading.llm.utterance_check import mentions_grade
from interviewer.safe_text import StreamSanitiser

_KEY = re.compile(r'"utterance"\s*:\s*"')
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
HELD_WORDS = 4  # "a 9 out of 10" is caught before its first word is shown
_LAST_WORDS = re.compile(r"(?:\S+\s+){%d}\S*\Z" % HELD_WORDS)


class UtteranceStream:
    """Feed raw deltas in; the utterance's decoded text comes out through ``sink``."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self._raw = ""
        self._start: int | None = None  # index in _raw of the utterance's first character
        self._position = 0
        self._done = False
        self._safe = StreamSanitiser()
        self._said = ""  # everything decoded so far, made safe
        self._shown = 0  # how much of it went to the sink
        self.muted = False  # the words stated a score or praised the answer: nothing more is shown
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
        self._pass_on(self._safe.feed("".join(out)), final=self._done)

    def _pass_on(self, text: str, *, final: bool) -> None:
        if final:
            text += self._safe.flush()
        self._said += text
        if self.muted:
            return
        if mentions_grade(self._said):
            self.muted = True
            return
        end = len(self._said)
        if not final:
            held = _LAST_WORDS.search(self._said, self._shown)
            end = held.start() if held else self._shown
        if end > self._shown:
            piece, self._shown = self._said[self._shown:end], end
            self.emitted += piece
            self.sink(piece)

    def say(self, text: str) -> None:
        """The whole (checked) utterance at once, when nothing of it was streamed."""
        if text and not self.emitted and not self.muted:
            self.emitted = text
            self.sink(text)
