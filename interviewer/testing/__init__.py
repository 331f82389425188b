"""Test doubles shipped with the package (as errbot and Rasa do), for our tests and for yours.

``ScriptedEngine`` grades without any model: each call takes the next scripted verdict map (or
a rule deciding from the answer text). ``CollectingResponder`` records every reply an adapter
would have sent. ``StubLLMServer`` is an OpenAI-compatible HTTP server on 127.0.0.1 for testing
the LLM engine through litellm, and ``grading_rule`` makes it answer like a well-behaved grader.
Only what a plugin author needs lives here; our own campaigns and stubs are in ``bench/harness``.
"""

from interviewer.testing.engines import CollectingResponder, ScriptedEngine, VerdictMap, keyword_rule
from interviewer.testing.llm_server import JSONHandler, LoopbackServer, QuietHTTPServer, Responder, StubLLMServer, StubReply
from interviewer.testing.model_rules import grading_reply, grading_rule, prompt_answer, prompt_points, prompt_rubric

__all__ = [
    "CollectingResponder", "JSONHandler", "LoopbackServer", "QuietHTTPServer", "Responder", "ScriptedEngine",
    "StubLLMServer", "StubReply", "VerdictMap", "grading_reply", "grading_rule", "keyword_rule", "prompt_answer",
    "prompt_points", "prompt_rubric",
]
