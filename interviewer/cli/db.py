"""``interviewer db upgrade|current``: migrate and inspect the transcript store."""

from __future__ import annotations


import typer

from interviewer.cli.common import console, settings_for


db_app = typer.Typer(help="Migrate and inspect the transcript store ($INTERVIEWER_DATABASE_URL).", no_args_is_help=True)


def _open_store_unmigrated():
    """The configured store without migrating it: the db commands decide when to migrate."""
    from interviewer.storage.store import Store

    return Store(settings_for().resolved_database_url, auto_migrate=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the transcript store to the latest schema (run once per deploy, before replicas)."""
    from interviewer.storage.schema import HEAD_REVISION

    store = _open_store_unmigrated()
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    if before == after:
        console.print(f"Already at revision {after} (head {HEAD_REVISION}).")
    else:
        console.print(f"Upgraded from revision {before or 'none'} to {after}.")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the transcript store and whether it is the latest."""
    from interviewer.storage.schema import HEAD_REVISION

    store = _open_store_unmigrated()
    try:
        revision = store.revision()
    finally:
        store.close()
    state = "head" if revision == HEAD_REVISION else f"behind head {HEAD_REVISION}: run 'interviewer db upgrade'"
    console.print(f"{revision or 'none'} ({state})")
