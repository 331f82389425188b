"""Regenerates the README's screenshot of the HTML report (docs/report.png).

A real report: eight interviews run through the core (ScriptedEngine grading the bank's graded
example answers, with follow-ups, hints and skips), backdated over four weeks, rendered by
``render_html`` and photographed by Debian's headless Chromium through Playwright (which never
downloads a browser here). The picture is the top of the page: summary, charts, session list
and the first scorecard of the newest interview, evidence highlighted.

Usage: python bench/report_screenshot.py docs/report.png [--height 2400]
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse  # noqa: E402
import asyncio  # noqa: E402
import tempfile  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from interviewer.interview.records import load_records  # noqa: E402
from interviewer.interview.session import Interviewer  # noqa: E402
from interviewer.review.report_html import render_html  # noqa: E402
from interviewer.rubrics import RubricBank  # noqa: E402
from interviewer.storage.store import Store  # noqa: E402
from interviewer.testing import ScriptedEngine  # noqa: E402
from harness.demo import backdate, example_rule, practise_from_examples  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
USER = "alice"
START = datetime(2026, 10, 26, 18, 30, tzinfo=timezone.utc)
WIDTH = 1100


def build_report(workdir: Path) -> str:
    """Eight interviews of USER over four weeks, rendered (fixed dates, so the picture is stable)."""
    bank = RubricBank.load()
    store = Store(f"sqlite:///{workdir}/history.db")
    engine = ScriptedEngine(rule=example_rule(bank.questions), name="offline", model=None)
    sessions = asyncio.run(practise_from_examples(Interviewer(bank, engine, store), USER, sessions=8, questions=4, seed=3))
    for n, session in enumerate(sessions):
        backdate(store, session.id, START + timedelta(days=n * 7 // 2, hours=(n % 3) - 1))
    records = load_records(store, bank, user=USER)
    store.close()
    return render_html(records, user=USER, generated_at=START + timedelta(days=28))


def screenshot(html_file: Path, out: Path, height: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": WIDTH, "height": height})
        page.goto(html_file.as_uri(), wait_until="load")
        page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": WIDTH, "height": height})
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the PNG, e.g. docs/report.png")
    parser.add_argument("--height", type=int, default=2400, help="pixels of the page's top to capture")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        html_file = Path(tmp) / "report.html"
        html_file.write_text(build_report(Path(tmp)), encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(html_file, args.out, args.height)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
