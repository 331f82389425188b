"""What every command module shares: the consoles, the user-error type and settings loading."""

from __future__ import annotations

from rich.console import Console

from interviewer.config import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


class UserError(Exception):
    """Anything the user can fix; printed as one line."""


def settings_for(**overrides: object) -> Settings:
    return load_settings(**overrides)
