"""Exports of stored interviews: JSON for analysis, Markdown for reading, HTML for a report.

All three render the records of ``interviewer.interview.records``; the store is read in a few bulk
queries however many sessions are exported, so a whole history exports in seconds.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import Literal

from interviewer.interview.feedback import duration_label, grade_provenance, quoted_claim
from interviewer.labels import EMOJI_MARK, TEXT_MARK
from interviewer.review.highlight import evidence_marks, segments
from interviewer.text import visible
from interviewer.interview.records import (
    ExportDocument,
    QuestionRecord,
    SessionRecord,
)

Format = Literal["md", "json", "html"]
FORMATS: tuple[Format, ...] = ("md", "json", "html")
SCHEMA_FILE = "transcripts-v1.json"
# Never written to, whatever flag is given: an export is a report, not a system file.
SYSTEM_DIRS = tuple(Path(p) for p in ("/etc", "/bin", "/sbin", "/usr", "/lib", "/lib64", "/boot", "/dev", "/proc",
                                      "/sys", "/var", "/opt", "/srv", "/root/.ssh", "C:/Windows", "C:/Program Files"))


class OutputPathError(ValueError):
    """An export path outside the places exports may go; the message says where they may."""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def export_path(output: Path, data_dir: Path, *, anywhere: bool = False, cwd: Path | None = None) -> Path:
    """Where an export may be written, resolved; OutputPathError when it is not allowed.

    The policy (why: a transcript export is a report the user asked for, so the ordinary places a
    user keeps files are fine, and nothing else is, so that a mistyped or pasted path cannot
    drop files somewhere surprising):
    - a relative path may not climb out of the current directory with '..';
    - an absolute path must be inside the current directory, the home directory, the temporary
      directory or the data dir's 'exports' folder, unless ``anywhere`` (--force-path) is given;
    - system directories (/etc, /usr, /var, ...) are refused always, as is a target that exists
      and is not a regular file (a device, a directory).
    """
    try:
        return _checked_export_path(output, data_dir, anywhere=anywhere, cwd=cwd)
    except OSError as exc:  # a name too long for the file system, a folder we may not look into
        shown = str(output) if len(str(output)) <= 80 else f"{str(output)[:60]}...{str(output)[-15:]}"
        fix = "; choose a shorter file name" if exc.errno == errno.ENAMETOOLONG else ""
        raise OutputPathError(f"{shown}: {exc.strerror or exc}{fix}") from None


def _checked_export_path(output: Path, data_dir: Path, *, anywhere: bool, cwd: Path | None) -> Path:
    cwd = (cwd or Path.cwd()).resolve()
    expanded = output.expanduser()
    target = (cwd / expanded).resolve() if not expanded.is_absolute() else expanded.resolve()
    if not expanded.is_absolute() and ".." in expanded.parts and not _inside(target, cwd):
        raise OutputPathError(f"{output}: the path climbs out of the current directory; give a path inside it")
    system = [d for d in SYSTEM_DIRS if _inside(target, d.resolve() if d.exists() else d)]
    temp = Path(tempfile.gettempdir()).resolve()
    if system and not _inside(target, temp):
        raise OutputPathError(f"{output}: exports are never written into system directories ({system[0]})")
    roots = [cwd, Path.home().resolve(), temp, (data_dir / "exports").resolve()]
    if not anywhere and not any(_inside(target, root) for root in roots):
        raise OutputPathError(
            f"{output}: exports go inside the current directory, your home directory, the temporary directory "
            f"or {data_dir / 'exports'}; add --force-path to write elsewhere"
        )
    if target.exists() and not target.is_file():
        raise OutputPathError(f"{output}: exists and is not a regular file")
    if os.path.islink(expanded) and not anywhere:
        raise OutputPathError(f"{output}: is a symbolic link; add --force-path to write through it")
    return target


def schema() -> dict:
    """The published JSON Schema of the JSON export."""
    return json.loads(resources.files("interviewer").joinpath("data", SCHEMA_FILE).read_text(encoding="utf-8"))


def generated_schema() -> dict:
    """The schema as the models define it; ``schema()`` must equal this (a test checks)."""
    document = ExportDocument.model_json_schema(by_alias=True, mode="serialization")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["$id"] = "interviewer.transcripts/v1"
    return document


def to_json(records: list[SessionRecord], user: str | None) -> str:
    return ExportDocument(user=user, sessions=records).model_dump_json(by_alias=True, indent=2) + "\n"


def to_html(records: list[SessionRecord], user: str | None) -> str:
    from interviewer.review.report_html import render_html

    return render_html(records, user=user)


def render(records: list[SessionRecord], fmt: Format, user: str | None) -> str:
    """The export as text. Markdown and HTML go to terminals and editors as they are, so control
    characters a candidate typed are made visible there (JSON escapes them itself)."""
    if fmt == "json":
        return to_json(records, user)
    if fmt == "html":
        return visible(to_html(records, user))
    return visible(to_markdown(records, user))


# Markdown ---------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """Candidate text shown as text: no accidental emphasis, links or HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _highlighted(answer: str, question: QuestionRecord) -> str:
    marks = evidence_marks(question.final)
    pieces = []
    for text, label in segments(answer, marks):
        escaped = md_escape(text)
        if label is None or not text.strip():
            pieces.append(escaped)
        else:
            lead = escaped[: len(escaped) - len(escaped.lstrip())]
            tail = escaped[len(escaped.rstrip()):]
            core = escaped.strip()
            wrap = {"covered": "**", "partial": "*", "misconception": "~~"}[label]
            pieces.append(f"{lead}{wrap}{core}{wrap}{tail}")
    return "".join(pieces)


def _quote_block(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.splitlines() or [""])


def _md_question(q: QuestionRecord) -> list[str]:
    score = "not graded" if q.score is None else f"{q.score:.1f}/10" + (" (skipped)" if q.skipped else "")
    lines = [f"### {q.index}. {md_escape(q.text)}", "", f"*{md_escape(q.topic_title)} · level {q.difficulty} · {q.kind}* · **{score}**", ""]
    for exchange in q.exchanges:
        if exchange.kind == "question":
            continue
        if exchange.kind == "answer":
            lines += ["**You:**", _quote_block(_highlighted(exchange.text, q)), ""]
        elif exchange.kind == "follow_up":
            lines += [f"**Follow-up:** {md_escape(exchange.text)}", ""]
        elif exchange.kind == "hint":
            lines += [f"**Hint:** {md_escape(exchange.text)}", ""]
        elif exchange.kind == "command":
            lines += [f"*You typed `{exchange.text}`.*", ""]
    if q.remark:
        lines += [f"**Interviewer:** {md_escape(q.remark)}", ""]
    final = q.final
    if final is not None:
        lines += ["| | Point | Evidence | Read |", "|---|---|---|---|"]
        for p in final.points:
            evidence = f"“{md_escape(p.evidence)}”" if p.evidence else "—"
            lines.append(f"| {TEXT_MARK[p.verdict]} | {md_escape(p.text)} | {evidence} | {md_escape(p.cite or '')} |")
        lines.append("")
        for m in final.misconceptions:
            lines += [f"- **Misconception:** you said {md_escape(quoted_claim(m.evidence))} {md_escape(m.correction)}"]
        if final.misconceptions:
            lines.append("")
        lines += [f"<sub>{md_escape(grade_provenance(final))}</sub>", ""]
    if q.read_more:
        lines += ["**Read more:** " + "; ".join(md_escape(c) for c in q.read_more), ""]
    if q.model_answer:
        lines += ["<details><summary>Model answer</summary>", "", md_escape(q.model_answer), "", "</details>", ""]
    return lines


def to_markdown(records: list[SessionRecord], user: str | None) -> str:
    lines = [f"# Interview transcripts{f' of {md_escape(user)}' if user else ''}", ""]
    if not records:
        return "\n".join([*lines, "No interviews.", ""])
    for r in records:
        average = "not graded" if r.average is None else f"{r.average:.1f}/10"
        lines += [
            f"## Interview {r.id[:8]} · {r.started_at:%Y-%m-%d %H:%M} UTC",
            "",
            f"- Average: **{average}** over {sum(q.score is not None for q in r.questions)} graded of {len(r.questions)} questions",
            f"- Channel: {r.channel} · status: {r.status} · duration: {duration_label(r.duration_seconds)}",
            f"- Graded by: {', '.join(r.engines) or '—'}" + (f" ({', '.join(r.models)})" if r.models else ""),
        ]
        if r.topic_scores:
            lines.append("- By topic: " + ", ".join(f"{md_escape(t)} {s:.1f}" for t, s in r.topic_scores.items()))
        if r.usage is not None:
            cost = f"${r.usage.cost:.4f}" if r.usage.cost is not None else "unpriced"
            lines.append(f"- Model usage: {r.usage.tokens_in:,} tokens in, {r.usage.tokens_out:,} out, {cost}")
        lines.append("")
        for q in r.questions:
            lines += _md_question(q)
        if r.coaching:
            lines += ["**Coaching:**", "", md_escape(r.coaching), ""]
    return "\n".join(lines).rstrip() + "\n"



# Plain text (chat views) -------------------------------------------------------------------------



def question_text(q: QuestionRecord) -> str:
    """One question of a transcript as plain text: what was said, each point's verdict and evidence."""
    score = "not graded" if q.score is None else f"{q.score:.1f}/10" + (" (skipped)" if q.skipped else "")
    lines = [f"Q{q.index} · {q.topic_title} · {score}", q.text]
    labels = {"answer": "You", "follow_up": "Follow-up", "hint": "Hint"}
    for exchange in q.exchanges:
        if exchange.kind in labels:
            lines.append(f"{labels[exchange.kind]}: {exchange.text}")
        elif exchange.kind == "command":
            lines.append(f"(you typed '{exchange.text}')")
    final = q.final
    if final is not None:
        for p in final.points:
            lines.append(f"{EMOJI_MARK[p.verdict]} {p.text}" + (f' — "{p.evidence}"' if p.evidence else ""))
        for m in final.misconceptions:
            lines.append(f'⚠️ you said "{m.evidence}". {m.correction}')
    if q.read_more:
        lines.append("Read more: " + "; ".join(q.read_more))
    return "\n".join(lines)


def to_text(record: SessionRecord) -> str:
    """A whole interview as plain text, the summary last."""
    parts = [question_text(q) for q in record.questions]
    if record.summary:
        parts.append(record.summary)
    return "\n\n".join(parts)
