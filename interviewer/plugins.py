"""The plugin API: what a channel or an engine package imports from this project.

A channel is any installed package that declares an entry point in the group
``interviewer.channels`` naming a ``ChannelPlugin``; an engine, one in ``interviewer.engines``
naming an ``EnginePlugin`` (``interviewer.registry`` finds them). A channel's ``command`` is a
typer command function, its parameters being the channel's options; it becomes
``interviewer serve NAME``. It should import its platform SDK inside the command, so that
``interviewer --help`` never pays for SDKs it does not use. ``serving`` gives it the wired
application: settings, rubric bank, engine (loaded), store and study material (opening).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from interviewer.config import load_settings
from interviewer.registry import BrokenPlugin, ChannelPlugin, EnginePlugin, installed_channels, installed_engines

if TYPE_CHECKING:  # the wiring imports the whole core: only a channel about to serve needs it
    from interviewer.app import App

__all__ = ["MODEL_HELP", "BrokenPlugin", "ChannelPlugin", "EnginePlugin", "installed_channels", "installed_engines", "serving"]

MODEL_HELP = (
    "Grade with this LLM (a litellm model string: openai/gpt-4o-mini, anthropic/..., ollama_chat/llama3.1, "
    "or openai/<name> with INTERVIEWER_API_BASE); default: $INTERVIEWER_MODEL, else the offline grader."
)
"""The help of a ``--model`` option, the same for every command that takes one."""


def serving(*, model: str | None = None) -> App:
    """The application a channel serves: the grader loaded and the study material opening now,
    so the first candidates are neither slow nor graded without context."""
    import os

    from interviewer.app import build_app

    # A server's encodes share the cores with other sessions and replicas: one thread each is
    # faster there (interviewer/embedder.py, bench/torch_threads.py). Set it to override.
    os.environ.setdefault("INTERVIEWER_TORCH_THREADS", "1")
    application = build_app(load_settings(model=model))
    application.warm_up_server()
    return application
