"""Grading engines: one interface (``Engine``), an offline default and model-backed ones."""

from interviewer.engines.base import Engine

__all__ = ["Engine"]
