"""An engine plugin: every rubric point half covered, whatever the answer (a test's fixed point)."""

from __future__ import annotations

from interviewer.plugins import EnginePlugin
from interviewer.testing import ScriptedEngine


def half_engine(settings: object) -> ScriptedEngine:
    return ScriptedEngine(rule=lambda question, answer: {p.id: "partial" for p in question.points}, name="half")


plugin = EnginePlugin(name="half", build=half_engine, help="Gives every point half credit (a test plugin).")
