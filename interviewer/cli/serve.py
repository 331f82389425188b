"""``interviewer serve NAME``: every installed channel plugin, as a subcommand of its own.

The channels come from entry points (``interviewer.plugins``): Slack and Discord ship with the
package, and any other installed channel appears here the same way, with no change to this code.
"""

from __future__ import annotations

import typer

from interviewer.registry import installed_channels


def serve_app() -> typer.Typer:
    """The ``serve`` group: one subcommand per installed channel; broken plugins named in its help."""
    channels, broken = installed_channels()
    epilog = "".join(f"\n\nNot available: {b.name} ({b.problem})." for b in broken) or None
    group = typer.Typer(
        help="Run the interviewer as a chat bot in one of the installed channels: " + (", ".join(c.name for c in channels) or "none") + ".",
        no_args_is_help=True, epilog=epilog,
    )
    for channel in channels:
        group.command(channel.name, help=channel.help or None)(channel.command)
    return group
