"""What every command module shares: the consoles, the user-error type and settings loading."""

from __future__ import annotations

from rich.console import Console

from interviewer.config import Settings, load_settings

class _Console(Console):
    """Rich's console, but an output nobody reads any more (`| head`, a killed `| tee`) is a
    BrokenPipeError for the CLI to handle (pause and say so), not Rich's silent exit 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the output was closed")


console = _Console()
err_console = _Console(stderr=True)


class UserError(Exception):
    """Anything the user can fix; printed as one line."""


def settings_for(**overrides: object) -> Settings:
    return load_settings(**overrides)
