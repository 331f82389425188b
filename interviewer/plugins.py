"""Channels as plugins: what ``interviewer serve NAME`` finds, lists and starts.

A channel is any installed package that declares an entry point in the group
``interviewer.channels`` naming a ``ChannelPlugin`` (simonw/llm and errbot find their plugins the
same way): no change to this package is needed to add one. The plugin's ``command`` is a typer
command function, its parameters being the channel's options; it becomes
``interviewer serve NAME``. It should import its platform SDK inside the command, so that
``interviewer --help`` never pays for SDKs it does not use. ``serving`` gives it the wired
application: settings, rubric bank, engine (loaded), store and study material (opening).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from interviewer.config import load_settings

if TYPE_CHECKING:  # the wiring imports the whole core: only a channel about to serve needs it
    from interviewer.app import App

log = logging.getLogger(__name__)

CHANNELS = "interviewer.channels"
MODEL_HELP = (
    "Grade with this LLM (a litellm model string: openai/gpt-4o-mini, anthropic/..., ollama_chat/llama3.1, "
    "or openai/<name> with INTERVIEWER_API_BASE); default: $INTERVIEWER_MODEL, else the offline grader."
)
"""The help of a ``--model`` option, the same for every command that takes one."""


@dataclass(frozen=True)
class ChannelPlugin:
    """One chat channel: ``interviewer serve <name>`` runs ``command``."""

    name: str
    command: Callable[..., None]
    help: str = ""


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that could not be loaded, kept to be reported instead of crashing the CLI."""

    name: str
    problem: str


def installed_channels() -> tuple[list[ChannelPlugin], list[BrokenPlugin]]:
    """Every channel the installed packages declare, by name; broken ones apart, with the reason."""
    found: dict[str, ChannelPlugin] = {}
    broken: list[BrokenPlugin] = []
    for point in sorted(entry_points(group=CHANNELS), key=lambda p: p.name):
        try:
            plugin = point.load()
        except Exception as exc:  # a plugin's bug must not take the whole CLI down
            broken.append(BrokenPlugin(point.name, f"{point.value} cannot be loaded ({type(exc).__name__}: {exc})"))
            continue
        if not isinstance(plugin, ChannelPlugin):
            broken.append(BrokenPlugin(point.name, f"{point.value} is a {type(plugin).__name__}, not an interviewer ChannelPlugin"))
        elif plugin.name in found:
            broken.append(BrokenPlugin(point.name, f"{point.value} repeats the channel name {plugin.name!r}"))
        else:
            found[plugin.name] = plugin
    for problem in broken:
        log.warning("channel plugin %s: %s", problem.name, problem.problem)
    return list(found.values()), broken


def serving(*, model: str | None = None) -> App:
    """The application a channel serves: the grader loaded and the study material opening now,
    so the first candidates are neither slow nor graded without context."""
    from interviewer.app import build_app

    application = build_app(load_settings(model=model))
    application.warm_up_server()
    return application
