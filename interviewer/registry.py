"""Plugins found through entry points: chat channels (``interviewer.channels``) and grading
engines (``interviewer.engines``), as simonw/llm and errbot find theirs.

A package adds one by naming a ``ChannelPlugin`` or an ``EnginePlugin`` in its entry points;
nothing in this project changes. A plugin that cannot be loaded is reported with the reason,
never allowed to take the CLI down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

log = logging.getLogger(__name__)

CHANNELS = "interviewer.channels"
ENGINES = "interviewer.engines"


@dataclass(frozen=True)
class ChannelPlugin:
    """One chat channel: ``interviewer serve <name>`` runs ``command`` (a typer command function)."""

    name: str
    command: Callable[..., None]
    help: str = ""


@dataclass(frozen=True)
class EnginePlugin:
    """One grading engine: ``build(settings)`` returns an ``Engine`` (``INTERVIEWER_ENGINE=<name>``)."""

    name: str
    build: Callable[[Any], Any]
    help: str = ""


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    problem: str


Plugin = TypeVar("Plugin", ChannelPlugin, EnginePlugin)


def installed(group: str, kind: type[Plugin]) -> tuple[list[Plugin], list[BrokenPlugin]]:
    """Every plugin of ``group`` the installed packages declare, by name; broken ones apart."""
    found: dict[str, Plugin] = {}
    broken: list[BrokenPlugin] = []
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        try:
            plugin = point.load()
        except Exception as exc:  # a plugin's bug must not take the whole CLI down
            broken.append(BrokenPlugin(point.name, f"{point.value} cannot be loaded ({type(exc).__name__}: {exc})"))
            continue
        if not isinstance(plugin, kind):
            broken.append(BrokenPlugin(point.name, f"{point.value} is a {type(plugin).__name__}, not an interviewer {kind.__name__}"))
        elif plugin.name in found:
            broken.append(BrokenPlugin(point.name, f"{point.value} repeats the name {plugin.name!r}"))
        else:
            found[plugin.name] = plugin
    for problem in broken:
        log.warning("plugin %s: %s", problem.name, problem.problem)
    return list(found.values()), broken


def installed_channels() -> tuple[list[ChannelPlugin], list[BrokenPlugin]]:
    return installed(CHANNELS, ChannelPlugin)


def installed_engines() -> tuple[list[EnginePlugin], list[BrokenPlugin]]:
    return installed(ENGINES, EnginePlugin)
