"""The HTML report: its numbers, its scorecards, its safety, and how it looks in a real browser.

The history is real: interviews run through the core (practise_from_examples answering with the
bank's graded examples, so follow-ups, hints and skips happen), backdated over several weeks.
The browser test opens the file in Debian's headless Chromium and fails on any console error,
page error or request other than the page itself.
"""

from __future__ import annotations

import asyncio
import re
import struct
import zlib
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from markupsafe import escape

from interviewer.interview.records import load_records
from interviewer.interview.session import Interviewer
from interviewer.review.charts import bar_chart, line_chart
from interviewer.review.highlight import evidence_marks, segments
from interviewer.interview.records import (
    MisconceptionRecord,
    QuestionRecord,
    SessionRecord,
    UsageRecord,
)
from interviewer.review.report_html import CSP, highlighted, render_html
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine

from harness.demo import backdate, example_rule, practise_from_examples

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
START = datetime(2026, 10, 5, 18, 0, tzinfo=timezone.utc)
GENERATED = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[SessionRecord]:
    """Six interviews of one user, three to four days apart, newest first (as exports load them)."""
    tmp_path = tmp_path_factory.mktemp("history")
    bank = RubricBank.load()
    store = Store(f"sqlite:///{tmp_path}/t.db")
    engine = ScriptedEngine(rule=example_rule(bank.questions), name="offline", model=None)
    sessions = asyncio.run(practise_from_examples(Interviewer(bank, engine, store), "alice", sessions=6, questions=4, seed=11))
    for n, session in enumerate(sessions):
        backdate(store, session.id, START + timedelta(days=3 * n + n % 2, hours=n % 3))
    loaded = load_records(store, bank, user="alice")
    store.close()
    return loaded


@pytest.fixture(scope="module")
def html(records: list[SessionRecord]) -> str:
    return render_html(records, user="alice", generated_at=GENERATED)


@pytest.fixture(scope="module")
def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def questions(records: list[SessionRecord]) -> list[tuple[SessionRecord, QuestionRecord]]:
    return [(r, q) for r in records for q in r.questions]


def article(soup: BeautifulSoup, record: SessionRecord, q: QuestionRecord):
    found = soup.find(id=f"s-{record.id}-q{q.index}")
    assert found is not None, f"no scorecard for question {q.index} of {record.id}"
    return found


def core(quote: str) -> str:
    """A quote as highlight marks it: from its first word to its last (no end punctuation)."""
    return re.sub(r"^\W+|\W+$", "", quote.strip())


def test_the_history_has_what_the_report_must_show(records: list[SessionRecord]) -> None:
    """The other tests rely on these: several days, follow-ups, skips, several topics."""
    assert len(records) == 6
    assert len({r.started_at.date() for r in records}) == 6
    qs = [q for _, q in questions(records)]
    assert any(q.follow_ups for q in qs) and any(q.skipped for q in qs)
    assert len({q.topic for q in qs if q.score is not None}) > 3
    assert any(p.evidence for q in qs if q.final for p in q.final.points if p.verdict == "covered")


# Content ------------------------------------------------------------------------------------------


def test_summary_card_numbers(records: list[SessionRecord], soup: BeautifulSoup) -> None:
    qs = [q for _, q in questions(records)]
    graded = [q for q in qs if q.score is not None]
    average = sum(q.score for q in graded) / len(graded)
    by_topic: dict[str, list[float]] = {}
    for q in graded:
        by_topic.setdefault(q.topic_title, []).append(q.score)
    means = {t: sum(v) / len(v) for t, v in by_topic.items()}
    first = min(r.started_at for r in records)
    last = max(r.last_activity_at for r in records)

    assert soup.find(id="stat-sessions").get_text() == "6"
    assert soup.find(id="stat-answered").get_text() == str(sum(not q.skipped for q in graded))
    assert soup.find(id="stat-average").get_text() == f"{average:.1f}"
    ranked = sorted(means, key=lambda t: (-means[t], t.lower()))  # ties: alphabetical
    assert soup.find(id="stat-best").get_text() == f"{ranked[0]} {means[ranked[0]]:.1f}"
    assert soup.find(id="stat-weakest").get_text() == f"{ranked[-1]} {means[ranked[-1]]:.1f}"
    assert soup.find(id="stat-dates").get_text() == f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    assert "alice" in soup.title.get_text()
    assert soup.find(id="stat-usage") is None  # the offline grader costs nothing: no usage row


def test_topic_chart_has_one_bar_per_topic_with_its_mean(records: list[SessionRecord], soup: BeautifulSoup) -> None:
    graded = [q for _, q in questions(records) if q.score is not None]
    titles = {q.topic_title for q in graded}
    bars = soup.select("svg.bars g.row")
    assert len(bars) == len(titles)
    topic, scores = next(iter({t: [q.score for q in graded if q.topic_title == t] for t in titles}.items()))
    assert f"{topic}: {sum(scores) / len(scores):.1f} of 10" in [b.title.get_text() for b in bars]


def test_time_chart_has_a_dot_per_graded_session(records: list[SessionRecord], soup: BeautifulSoup) -> None:
    dots = soup.select("svg.line circle.dot")
    assert len(dots) == sum(r.average is not None for r in records)
    assert len(soup.select("svg.line polyline.trend")) == 1
    assert any(t.get_text().endswith("Oct") for t in soup.select("svg.line text.tick"))  # date ticks


def test_every_question_shows_its_text_score_and_provenance(records: list[SessionRecord], soup: BeautifulSoup) -> None:
    for record, q in questions(records):
        card = article(soup, record, q)
        assert card.h3.get_text() == f"{q.index}. {q.text}"
        expected = "not graded" if q.score is None else f"{q.score:.1f} / 10"
        assert card.select_one(".score").get_text() == expected + (" · skipped" if q.skipped else "")
        if q.final is not None:
            assert card.select_one(".prov").get_text().startswith(f"graded by {q.final.engine}")
            assert [li.select_one(".verdict").get_text() for li in card.select(".points li")] == [
                f"{ {'covered': '✓', 'partial': '◐', 'missed': '✗'}[p.verdict]} {p.verdict}" for p in q.final.points
            ]
        if q.model_answer:
            assert card.select_one("details summary").get_text() == "Model answer"


def test_the_conversation_keeps_answers_follow_ups_and_hints_in_order(records: list[SessionRecord], soup: BeautifulSoup) -> None:
    for record, q in questions(records):
        shown = [t.select_one(".text").get_text() for t in article(soup, record, q).select("li.turn")]
        assert shown == [e.text for e in q.exchanges if e.kind not in ("question", "feedback")]


def test_evidence_is_highlighted_in_place(records: list[SessionRecord], soup: BeautifulSoup) -> None:
    checked = 0
    for record, q in questions(records):
        if q.final is None:
            continue
        marks = [m.get_text() for m in article(soup, record, q).select(".answer mark.covered")]
        for point in q.final.points:
            if point.verdict == "covered" and point.evidence and any(point.evidence in a.text for a in q.answers):
                assert any(core(point.evidence) in m for m in marks), point.evidence
                checked += 1
    assert checked >= 5
    assert soup.select(".answer mark.partial")  # the history has partly covered points too


def test_the_prefilter_changes_no_highlight(records: list[SessionRecord]) -> None:
    """``highlighted`` drops quotes that are not in an answer before ``segments``; same output."""
    compared = 0
    for _, q in questions(records):
        marks = evidence_marks(q.final)
        for answer in q.answers:
            unfiltered = "".join(
                str(escape(t)) if label is None or not t.strip() else f'<mark class="{label}" title="{label}">{escape(t)}</mark>'
                for t, label in segments(answer.text, marks)
            )
            assert str(highlighted(answer.text, marks)) == unfiltered
            compared += bool(marks)
    assert compared > 10


def test_nothing_is_loaded_or_run(html: str) -> None:
    lowered = html.lower()
    for banned in ("<script", "http://", "https://", "src=", "<link", "url(", "@import", "<iframe", "<object"):
        assert banned not in lowered, banned
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html


def test_a_hostile_answer_topic_and_user_are_escaped(records: list[SessionRecord]) -> None:
    record = next(r for r in records if any(q.final and any(p.evidence for p in q.final.points) for q in r.questions))
    q = next(q for q in record.questions if q.final and any(p.evidence for p in q.final.points))
    evidence = next(p.evidence for p in q.final.points if p.evidence)
    answer = f"<script>alert(1)</script> {evidence} <img src=x onerror=alert(2)>"
    exchanges = [e.model_copy(update={"text": answer}) if e.kind == "answer" else e for e in q.exchanges]
    hostile_q = q.model_copy(update={"exchanges": exchanges, "topic_title": "<b onmouseover=alert(3)>RAG</b>"})
    hostile = record.model_copy(update={"questions": [hostile_q if x is q else x for x in record.questions]})
    out = render_html([hostile], user="<script>alert(4)</script>", generated_at=GENERATED)
    lowered = out.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<b onmouseover" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(2)&gt;" in out
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in out
    assert "&lt;b onmouseover=alert(3)&gt;RAG&lt;/b&gt;" in out  # in the meta line and the bar chart's label
    card = BeautifulSoup(out, "html.parser").find(id=f"s-{record.id}-q{q.index}")
    assert card.select_one(".answer").get_text() == answer  # the text survives, shown as text
    assert card.select_one(".answer mark") is not None  # and the evidence is still highlighted


def test_misconceptions_are_marked_and_corrected(records: list[SessionRecord]) -> None:
    record, q = next((r, q) for r, q in questions(records) if q.final and q.answers)
    said = q.answers[0].text.split(". ")[0]
    final = q.final.model_copy(update={"misconceptions": [
        MisconceptionRecord(misconception_id="m1", evidence=said, correction="Actually, it is the other way round."),
    ]})
    changed = record.model_copy(update={"questions": [q.model_copy(update={"grades": [*q.grades[:-1], final]})]})
    card = BeautifulSoup(render_html([changed], user="alice"), "html.parser").find(id=f"s-{record.id}-q{q.index}")
    assert core(said) in [m.get_text() for m in card.select(".answer mark.misconception")]
    assert "Actually, it is the other way round." in card.select_one(".misc").get_text()


def test_the_interviewers_remark_is_shown_without_the_scorecard_text(records: list[SessionRecord]) -> None:
    record, q = next((r, q) for r, q in questions(records) if q.final)
    changed = record.model_copy(update={"questions": [q.model_copy(update={"remark": "Good on the mechanism; say more about the trade-off."})]})
    card = BeautifulSoup(render_html([changed], user="alice"), "html.parser").find(id=f"s-{record.id}-q{q.index}")
    assert card.select_one(".remark").get_text() == "Interviewer: Good on the mechanism; say more about the trade-off."


def test_model_usage_appears_in_the_summary_when_a_model_graded(records: list[SessionRecord]) -> None:
    usage = UsageRecord(models=["gpt-4o-mini"], graded_by_model=4, fallbacks=0, tokens_in=12_345, tokens_out=678, cost=0.0123, model_seconds=3.2)
    priced = [records[0].model_copy(update={"usage": usage}), records[1]]
    soup = BeautifulSoup(render_html(priced, user="alice"), "html.parser")
    assert soup.find(id="stat-usage").get_text() == "12,345 tokens in · 678 out · $0.0123"


def test_one_session_charts_its_questions(records: list[SessionRecord]) -> None:
    record = max(records, key=lambda r: sum(q.score is not None for q in r.questions))
    soup = BeautifulSoup(render_html([record], user="alice"), "html.parser")
    chart = soup.select_one("svg.line")
    assert chart["aria-label"] == "Score per question in this session"
    assert len(chart.select("circle.dot")) == sum(q.score is not None for q in record.questions)
    assert soup.find(id="index-title") is None  # no session index for one session
    xs = [float(dot["cx"]) for dot in chart.select("circle.dot")]
    gaps = [b - a for a, b in zip(xs, xs[1:])]
    assert gaps[0] > 0 and max(gaps) - min(gaps) < 0.2                     # one step per question, whatever the pauses
    assert [t.get_text() for t in chart.select("text.tick") if t.get_text().startswith("Q")][:2] == ["Q1", "Q2"]


def test_an_empty_report_still_renders() -> None:
    soup = BeautifulSoup(render_html([], user=None, generated_at=GENERATED), "html.parser")
    assert soup.find(id="stat-sessions").get_text() == "0"
    assert "No interviews." in soup.get_text()
    assert len(soup.select("svg.chart")) == 2


def test_rendering_is_deterministic(records: list[SessionRecord], html: str) -> None:
    assert render_html(records, user="alice", generated_at=GENERATED) == html


def test_the_template_ships_inside_the_package() -> None:
    assert resources.files("interviewer").joinpath("templates", "report.html.j2").is_file()


# Charts ---------------------------------------------------------------------------------------


def test_bar_chart_escapes_labels_and_clamps_values() -> None:
    svg = bar_chart([("<RAG & co>", 12.0), ("Embeddings", -1.0), ("Vision", 5.0)], title='Scores "by" topic')
    soup = BeautifulSoup(svg, "html.parser")
    chart = soup.svg
    assert chart["role"] == "img" and chart["aria-label"] == 'Scores "by" topic'
    assert chart.find("title", recursive=False).get_text() == 'Scores "by" topic'
    assert "<RAG" not in svg and "&lt;RAG &amp; co&gt;" in svg
    widths = [float(r["width"]) for r in soup.select("rect.bar")]
    assert len(widths) == 3 and widths[0] == max(widths) and widths[1] == min(widths) and widths[2] == pytest.approx(widths[0] / 2)


def test_long_topic_titles_wrap_onto_two_lines_instead_of_being_cut() -> None:
    """"Classic machine learning algori…" hid which topic a bar was; titles run to 60 characters."""
    long = "Statistics for ML: distributions and descriptive statistics"
    soup = BeautifulSoup(bar_chart([(long, 6.0), ("Classic machine learning algorithms", 4.0), ("RAG", 8.0)]), "html.parser")
    rows = [[t.get_text() for t in label.find_all("tspan")] for label in soup.select("text.label")]
    assert rows[0] == ["Statistics for ML: distributions", "and descriptive statistics"]
    assert rows[1] == ["Classic machine learning", "algorithms"] and rows[2] == ["RAG"]
    assert all("…" not in line for lines in rows for line in lines)
    tops = [float(r["y"]) for r in soup.select("rect.bar")]
    assert tops[1] - tops[0] >= 36                                          # the rows make room for two lines


def test_line_chart_with_one_point_and_with_a_thousand() -> None:
    one = BeautifulSoup(line_chart([(START, 6.5)], title="One"), "html.parser")
    assert len(one.select("circle.dot")) == 1 and not one.select("polyline")
    assert one.svg["role"] == "img" and one.svg.title.get_text() == "One"
    many = [(START + timedelta(hours=6 * n), (n * 37 % 101) / 10) for n in range(1000)]
    svg = line_chart(many, title="Many")
    soup = BeautifulSoup(svg, "html.parser")
    assert len(soup.select("circle.dot")) == 1000
    assert len(soup.select("polyline.trend")[0]["points"].split()) == 1000
    ticks = [t.get_text() for t in soup.select("text.tick")]
    assert "Jan 2027" in ticks and len(ticks) <= 6 + 7  # month ticks (at most six) and the score axis
    assert line_chart(list(reversed(many)), title="Many") == svg  # order-free and deterministic


def test_empty_charts_say_so() -> None:
    assert "No graded answers yet" in bar_chart([])
    assert "No graded sessions yet" in line_chart([])


# In a browser -----------------------------------------------------------------------------------


def png_info(data: bytes) -> tuple[int, int, bool]:
    """(width, height, whether it has more than one colour), with Pillow or by decoding the PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    try:
        from io import BytesIO

        from PIL import Image
    except ImportError:
        return _decode_png(data)
    image = Image.open(BytesIO(data)).convert("RGB")
    return image.width, image.height, image.getcolors(1) is None


def _decode_png(data: bytes) -> tuple[int, int, bool]:
    pos, idat, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0], "bad CRC"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG layout"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    previous, first = bytearray(stride), None
    for y in range(height):  # unfilter row by row; stop at the first pixel unlike the first one
        kind, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + a) & 255
            elif kind == 2:
                row[i] = (row[i] + b) & 255
            elif kind == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        first = first if first is not None else bytes(row[:bpp])
        if row != first * width:
            return width, height, True
        previous = row
    return width, height, False


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: `make test` installs Debian's chromium when it can (as root with apt-get)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def open_report(browser, path: Path, **context):
    """A page showing ``path``, and the console messages, page errors and requests it produced."""
    page = browser.new_page(viewport={"width": 1200, "height": 1600}, **context)
    seen: dict[str, list[str]] = {"console": [], "errors": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url == path.as_uri() else route.abort())
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


def test_the_report_in_headless_chromium(browser, html: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    page, seen = open_report(browser, path)
    try:
        assert [m for m in seen["console"] if m.startswith("error")] == []
        assert seen["errors"] == []
        assert seen["requests"] == [path.as_uri()]
        for selector in ("svg.chart.bars", "svg.chart.line"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 50, selector
        assert page.locator("svg.bars rect.bar").count() > 0
        assert page.locator("svg.line circle.dot").count() > 0
        bar_widths = page.eval_on_selector_all("svg.bars rect.bar", "els => els.map(e => e.getBBox().width)")
        assert max(bar_widths) > 100
        assert page.locator(".answer mark.covered").first.is_visible()
        assert page.locator("details .model").first.is_hidden()  # the model answer starts folded
        shot = page.screenshot()
        (tmp_path / "report.png").write_bytes(shot)
        width, height, varied = png_info(shot)
        assert (width, height) == (1200, 1600)
        assert varied, "the screenshot is a single colour"
    finally:
        page.close()


def test_printing_unfolds_the_model_answers(browser, html: str, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    page, seen = open_report(browser, path)
    try:
        page.emulate_media(media="print")
        assert page.locator("details .model").first.is_visible()
        assert seen["requests"] == [path.as_uri()]
    finally:
        page.close()
