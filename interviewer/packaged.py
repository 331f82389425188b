"""Where the data that ships with the package lies: installed, or in a source checkout.

The wheel maps the top-level ``rubrics/`` and ``prompts/`` folders in as ``interviewer.bank`` and
``interviewer.prompts``. Run from a checkout whose ``interviewer`` package shadows an installed
one (``python -m pytest`` after a plain ``pip install .``), those names do not exist: the same
folders are then read where they sit, beside the package, so code and data come from one tree.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def data_dir(package: str, checkout_folder: str) -> Path:
    """The installed data package ``package``, else the checkout's ``checkout_folder``."""
    try:
        return Path(str(files(package)))
    except ModuleNotFoundError:
        fallback = CHECKOUT / checkout_folder
        if not fallback.is_dir():
            raise
        return fallback
