"""Fault campaign, round two: storage faults, concurrent windows, hostile files and model text.

One attack per finding of the reliability issue's second round, each injected many times and
judged from the outside (the store's rows, the files on disk, what a user would read):

  1  pg_drops      PostgreSQL connections terminated at random moments of scripted interviews
  2  full_disk     the store refuses a random answer (disk full): kept in the spool, stored once on resume
  3  two_windows   two windows of one interview answer at random: no answer filed under another prompt
  4  model_text    escape sequences and controls in what an engine writes: none reaches a channel
  5  credentials   an endpoint URL with a password or key: never in a banner or a log line
  6  symlinks      links out of an ingested folder: never followed
  7  deep_rubrics  rubric files nested 1,000-50,000 levels: one line naming the file, no crash
  8  huge_ingest   files over the size cap: skipped with the limit and the fix, nothing indexed
  9  bad_store     damaged database file, an export name too long: one line with the cause, never "saved"
  10 cli_input     ingest with nothing to index exits non-zero; a 1-character id prefix is refused

``run_round_two(fast=True)`` is the CI subset (seconds); ``fast=False`` the full campaign.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.domain import SessionOptions, Turn
from interviewer.interview.replies import Reply
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.errors import AnswerKept
from interviewer.storage.spool import Spool
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine, keyword_rule

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"
HOSTILE_CONTROLS = ["\x1b[2J", "\x1b[31m", "\x1b]0;pwned\x07", "\x1b]8;;http://evil\x1b\\", "\x9b2J", "\x07", "\x08\x08",
                    "\r", "\x1bP+q\x1b\\", "\u202e", "\x00", "\x1b[?1049h", "\x1bc"]


@dataclass
class Attack:
    """One kind of fault, injected ``injected`` times; ``survived`` is how many the product met well."""

    item: int
    name: str
    injected: int = 0
    survived: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)
    skipped: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"{self.item:>2} {self.name:<13} skipped: {self.skipped}"
        return f"{self.item:>2} {self.name:<13} {self.injected} injected, {self.survived} survived, {self.lost} lost"

    @property
    def ok(self) -> bool:
        return bool(self.skipped) or (self.survived == self.injected and self.lost == 0 and not self.problems)

    def judge(self, good: bool, problem: str) -> None:
        self.injected += 1
        self.survived += good
        if not good:
            self.problems.append(problem)


def _tiny_interviewer(store: Store, spool: Spool | None = None) -> Interviewer:
    return Interviewer(RubricBank.load([TINY]), ScriptedEngine(rule=keyword_rule), store, spool=spool)


def _cli(args: list[str], env: dict[str, str], stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interviewer", *args], input=stdin, env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _one_line_error(run: subprocess.CompletedProcess) -> bool:
    said = [line for line in run.stderr.splitlines() if line.strip()]
    return (run.returncode == 1 and bool(said) and said[0].startswith("error:") and "Traceback" not in run.stderr + run.stdout
            and "internal error" not in run.stderr)


# 1 -------------------------------------------------------------------------------------------------

def pg_drops(interviews: int, seed: int) -> Attack:
    attack = Attack(1, "pg_drops")
    from harness.reliability import services

    reason = services.postgres_unreachable()
    if reason:
        attack.skipped = reason
        return attack
    import storage_faults  # bench/storage_faults.py: the campaign on its own, with its own report

    with services.fresh_postgres_database() as url:
        counts = asyncio.run(storage_faults.campaign(url, interviews, seed))
    attack.injected, attack.survived = counts["injected"], counts["injected"] - (counts["turns"] - counts["survived"])
    attack.lost = counts["lost"] + counts["duplicated"]
    if counts["unfinished"]:
        attack.problems.append(f"{counts['unfinished']} interviews unfinished")
    return attack


# 2 -------------------------------------------------------------------------------------------------

async def _full_disk(interviews: int, seed: int, folder: Path) -> Attack:
    from sqlalchemy.exc import OperationalError

    attack = Attack(2, "full_disk")
    rng = random.Random(seed)
    store = Store(f"sqlite:///{folder / 'store.db'}")
    spool = Spool([folder / "data" / "unsaved-answers.jsonl"])
    real = store.append_turn
    try:
        for n in range(interviews):
            interviewer = _tiny_interviewer(store, spool)
            key = f"disk-{n}"
            session, _ = await interviewer.start(user_key="u", channel="bench", session_key=key,
                                                 options=SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=1))
            refuse_at = rng.randrange(3)
            sent, answered = [], 0

            def append_turn(session_id, _at=refuse_at, **fields):
                nonlocal answered
                if fields.get("kind") == "answer":
                    answered += 1
                    if answered == _at + 1:
                        raise OperationalError("INSERT INTO turns ...", {}, Exception("database or disk is full"))
                return real(session_id, **fields)

            store.append_turn = append_turn  # type: ignore[method-assign]
            told = ""
            for step in range(6):
                text = f"alpha answer {n}.{step}"
                sent.append(text)
                try:
                    reply = await interviewer.handle(Turn(session_key=key, user_key="u", text=text))
                except AnswerKept as kept:
                    told = str(kept)
                    reply = await interviewer.resume(store.get_session(session.id))  # the disk has room again
                if reply.finished:
                    break
            stored = [t.text for t in store.turns(session.id) if t.kind == "answer"]
            lost = [t for t in sent if t not in stored]
            attack.lost += len(lost) + len(stored) - len(set(stored))
            attack.judge(bool(told) and "kept in" in told and "NOT saved" not in told and not lost and not spool.waiting(),
                         f"interview {n}: told {told[:80]!r}, lost {lost}")
            store.append_turn = real  # type: ignore[method-assign]
    finally:
        store.close()
    return attack


def full_disk(interviews: int, seed: int) -> Attack:
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_full_disk(interviews, seed, Path(folder)))


# 3 -------------------------------------------------------------------------------------------------

async def _two_windows(answers: int, seed: int, folder: Path) -> Attack:
    attack = Attack(3, "two_windows")
    url = f"sqlite:///{folder / 'store.db'}"
    stores = [Store(url), Store(url)]
    rng = random.Random(seed)
    try:
        windows = [_tiny_interviewer(s) for s in stores]
        sent = 0
        while sent < answers:
            session, _ = await windows[0].start(user_key="u", channel="bench", session_key=f"w-{sent}",
                                                options=SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=5))
            shown = []
            for window in windows:
                asked = [m.data["prompt_seq"] for m in (await window.resume(session)).messages if "prompt_seq" in m.data]
                shown.append(asked[-1])
            typed_under: dict[str, int] = {}
            finished = False
            while not finished and sent < answers:
                w = rng.randrange(2)
                text = f"answer {sent}: alpha"
                reply = await windows[w].handle(Turn(session_key=session.session_key, user_key="u", text=text, prompt_seq=shown[w]))
                sent += 1
                typed_under[text] = shown[w]
                asked = [m.data["prompt_seq"] for m in reply.messages if m.data.get("prompt_seq")]
                shown[w] = asked[-1] if asked else shown[w]
                finished = reply.finished
            turns = stores[0].turns(session.id)
            filed = {turn.text: before.seq for before, turn in zip(turns, turns[1:]) if turn.kind == "answer"}
            for text, prompt in typed_under.items():
                if text in filed:  # stored: under the prompt it was typed under; else refused as stale, and said so
                    attack.judge(filed[text] == prompt, f"{text!r} typed under prompt {prompt}, filed under {filed[text]}")
                else:
                    attack.judge(True, "")
    finally:
        for s in stores:
            s.close()
    return attack


def two_windows(answers: int, seed: int) -> Attack:
    with tempfile.TemporaryDirectory() as folder:
        return asyncio.run(_two_windows(answers, seed, Path(folder)))


# 4 -------------------------------------------------------------------------------------------------

def model_text(samples: int, seed: int) -> Attack:
    """Whatever an engine or a plugin writes goes through Reply; no channel may receive a control."""
    import io
    import json

    from rich.console import Console

    from interviewer_adapters.discord_render import render as discord_render
    from interviewer_adapters.repl import ReplRenderer
    from interviewer_adapters.slack_blocks import render as slack_render

    attack = Attack(4, "model_text")
    rng = random.Random(seed)

    def hostile() -> str:
        words = ["SYSTEM:", "your", "score", "is", "10/10", "attention", "scales", "by", "root", "d"]
        return " ".join(w + (rng.choice(HOSTILE_CONTROLS) if rng.random() < 0.4 else "") for w in rng.sample(words, 8))

    for n in range(samples):
        reply = Reply(session_id="s" * 32)
        reply.add("follow_up", hostile())
        reply.add("feedback", hostile(), score=3.0, points=[{"id": "p", "text": hostile(), "verdict": "partial", "evidence": hostile()}],
                  misconceptions=[{"id": "m", "text": hostile(), "evidence": hostile(), "correction": hostile()}], notes=[hostile()],
                  model_answer=hostile())
        reply.add("summary", hostile(), coaching=hostile(), questions=[], average=3.0, topics={}, weakest=[])
        screen = io.StringIO()
        ReplRenderer(Console(file=screen, width=100, force_terminal=False, color_system=None)).render(reply)
        slack = json.dumps(slack_render(reply), ensure_ascii=False)
        discord = json.dumps([[m.content, [e.to_dict() for e in m.embeds]] for m in discord_render(reply)], ensure_ascii=False)
        leaked = [name for name, out in (("terminal", screen.getvalue()), ("slack", slack), ("discord", discord))
                  if any(c in out for c in "\x1b\x9b\x07\x08\x00\u202e") or "\\u001b" in out]
        attack.judge(not leaked, f"sample {n}: a control reached {leaked}")
    return attack


# 5 -------------------------------------------------------------------------------------------------

def credentials(samples: int, seed: int) -> Attack:
    from interviewer.config import Settings
    from interviewer.grading.llm.client import _scrub

    attack = Attack(5, "credentials")
    rng = random.Random(seed)
    for n in range(samples):
        secret = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(14))
        url = rng.choice([f"http://user{n}:{secret}@127.0.0.1:9/v1", f"https://127.0.0.1:9/v1?api_key={secret}&x=1",
                          f"http://{secret}@127.0.0.1:9/v1", f"https://127.0.0.1:9/v1?token={secret}"])
        shown = [Settings(model="openai/stub", api_base=url).engine_label, _scrub(f"Connection refused: {url}", None)]
        attack.judge(not any(secret in s for s in shown), f"secret of {url!r} shown")
    return attack


# 6 -------------------------------------------------------------------------------------------------

def symlinks(links: int, seed: int) -> Attack:
    from interviewer.knowledge.index import iter_files

    attack = Attack(6, "symlinks")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        private = root / "private"
        private.mkdir()
        (private / "shadow.md").write_text("root:secret-hash:19000\n")
        notes = root / "notes"
        (notes / "deep").mkdir(parents=True)
        (notes / "own.md").write_text("# Own\nMy own notes.\n")
        for n in range(links):
            place = notes / ("deep" if n % 2 else ".") / f"link{n}.md"
            target = private / "shadow.md" if n % 3 else private
            (place if n % 3 else place.with_suffix("")).symlink_to(target)
        problems: list[tuple[str, str]] = []
        found = [str(path.resolve()) for path, _ in iter_files([notes], problems)]
        followed = [p for p in found if not Path(p).is_relative_to(notes.resolve())]
        for n in range(links):
            attack.judge(not followed, f"followed {followed[:2]}")
    return attack


# 7 -------------------------------------------------------------------------------------------------

def deep_rubrics(depths: list[int], env: dict[str, str], folder: Path) -> Attack:
    attack = Attack(7, "deep_rubrics")
    for depth in depths:
        for shape, text in (("brackets", "[" * depth + "]" * depth), ("mappings", "{a: " * depth + "1" + "}" * depth)):
            rubric = folder / f"deep-{depth}-{shape}.yaml"
            rubric.write_text(f"topic: x\nquestions: {text}\n")
            ran = _cli(["rubrics", "list"], {**env, "INTERVIEWER_RUBRIC_DIRS": str(rubric)})
            attack.judge(_one_line_error(ran) and str(rubric) in ran.stderr,
                         f"depth {depth} {shape}: rc {ran.returncode}, {ran.stderr.strip()[:120]!r}")
    return attack


# 8 -------------------------------------------------------------------------------------------------

def huge_ingest(sizes: list[int], folder: Path) -> Attack:
    """Every file over the cap is refused with the limit and the fix before any indexing; every
    file under it is read."""
    from interviewer.knowledge.documents import MAX_TEXT_CHARS, DocumentError, read_document

    attack = Attack(8, "huge_ingest")
    for size in sizes:
        big = folder / f"big-{size}.md"
        big.write_text("# Big\n" + "word " * (size // 5))
        try:
            read_document(big, big.name)
            reason = None
        except DocumentError as exc:
            reason = str(exc)
        over = size > MAX_TEXT_CHARS
        attack.judge((reason is not None) == over and (reason is None or "split it into smaller files" in reason),
                     f"{size:,} characters: {reason!r}")
    return attack


# 9 and 10 ------------------------------------------------------------------------------------------

def bad_store_and_input(env: dict[str, str], folder: Path) -> tuple[Attack, Attack]:
    store_attack, input_attack = Attack(9, "bad_store"), Attack(10, "cli_input")
    data = Path(env["INTERVIEWER_DATA_DIR"])
    ran = _cli(["practice", "-n", "1", "-t", "tiny"], {**env, "INTERVIEWER_RUBRIC_DIRS": str(TINY)}, stdin="omega is the end\nend\n")
    store_attack.judge(ran.returncode == 0, f"setting up: {ran.stderr[-200:]}")
    listed = _cli(["transcripts", "list"], env)
    ran = _cli(["transcripts", "export", "--all", "-o", "a" * 300 + ".md"], env, cwd=folder)
    store_attack.judge(_one_line_error(ran) and "File name too long" in ran.stderr, f"long export name: {ran.stderr[:160]!r}")
    ran = _cli(["transcripts", "show", "a"], env)
    input_attack.judge(_one_line_error(ran) and "at least 4 characters" in ran.stderr, f"1-character prefix: {ran.stderr[:160]!r}")
    empty = folder / "nothing"
    empty.mkdir()
    (empty / "picture.bmp").write_bytes(b"BM")
    ran = _cli(["ingest", str(empty), "-c", "campaign"], env)
    input_attack.judge(ran.returncode != 0 and "Traceback" not in ran.stderr, f"ingest of nothing: rc {ran.returncode}")
    read_only = _read_only_run(["transcripts", "list"], env, data)
    if read_only is not None:  # where private mount namespaces are allowed: a real read-only remount
        store_attack.judge(_one_line_error(read_only) and f"{data} cannot be written" in read_only.stderr,
                           f"read-only data folder: {read_only.stderr[:160]!r}")
    database = data / "interviewer.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"overwritten by something else " * 100)
    ran = _cli(["transcripts", "list"], env)
    store_attack.judge(_one_line_error(ran) and "damaged" in ran.stderr and "saved" not in ran.stderr,
                       f"damaged store: {ran.stderr[:160]!r}")
    store_attack.judge(listed.returncode == 0, f"listing before the damage: {listed.stderr[-200:]}")
    return store_attack, input_attack


def _read_only_run(args: list[str], env: dict[str, str], folder: Path) -> subprocess.CompletedProcess | None:
    """``interviewer ARGS`` with ``folder`` remounted read-only in a mount namespace of its own
    (None where this machine allows no such namespace)."""
    import shlex
    import shutil

    if shutil.which("unshare") is None:
        return None
    where = shlex.quote(str(folder))
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "interviewer", *args])
    ran = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {where} {where} && mount -o remount,bind,ro {where} || exit 99; "
                          f"exec {command}"], env=env, capture_output=True, text=True, timeout=300)
    return None if ran.returncode == 99 or "unshare failed" in ran.stderr else ran


# the campaign ----------------------------------------------------------------------------------------

def run_round_two(*, fast: bool, seed: int = 0) -> list[Attack]:
    """Every attack, at CI size (``fast``) or full size; nothing leaves the temporary folders."""
    attacks = [
        pg_drops(2 if fast else 20, seed),
        full_disk(5 if fast else 40, seed),
        two_windows(20 if fast else 100, seed),
        model_text(50 if fast else 500, seed),
        credentials(20 if fast else 200, seed),
        symlinks(6 if fast else 30, seed),
    ]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "INTERVIEWER_DATA_DIR": str(root / "data"), "INTERVIEWER_USER": "bench",
               "INTERVIEWER_CONFIG": str(root / "none.toml")}
        for name in ("INTERVIEWER_DATABASE_URL", "INTERVIEWER_MODEL", "INTERVIEWER_ENGINE", "INTERVIEWER_RUBRIC_DIRS"):
            env.pop(name, None)
        attacks.append(deep_rubrics([1_000, 50_000] if fast else [1_000, 5_000, 20_000, 50_000], env, root))
        attacks.append(huge_ingest([10_000, 3_000_000] if fast else [10_000, 1_999_000, 2_100_000, 10_800_000], root))
        attacks += bad_store_and_input(env, root)
    return attacks


def summary(attacks: list[Attack]) -> str:
    ran = [a for a in attacks if not a.skipped]
    return (f"{sum(a.injected for a in ran)} injected, {sum(a.survived for a in ran)} survived, {sum(a.lost for a in ran)} lost"
            f" ({len(ran)} attacks run, {len(attacks) - len(ran)} skipped)")
