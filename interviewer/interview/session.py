"""The interviewer: one session state machine shared by every channel.

Every step is written to the store before the next one starts (the candidate's answer before
grading, the grade before the follow-up), and the state is always rebuilt from the store, so a
crash at any point leaves a session that ``progress`` can carry on from.

One module although long: the loop's steps (ask, grade, follow up, feedback, finish) read each
other's effects on the transcript; the pure choices, the journal and the material live beside it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Callable
from contextvars import ContextVar

from interviewer.domain import SKIPPED, Assessment, PointVerdict, Question, Session, SessionOptions, Turn, Verdict
from interviewer.grading.base import AssessContext, Coach, Engine, Preparing
from interviewer.grading.scoring import merge_follow_up, score_verdicts
from interviewer.interview.feedback import coaching_input, feedback_text, scorecard_data, summary_data, summary_text, usage_totals
from interviewer.interview.journal import Journal
from interviewer.interview.ordering import KeyedLocks
from interviewer.interview.material import StudyMaterial
from interviewer.interview.policy import next_difficulty, pick_question
from interviewer.interview.records import SessionRecord, load_records
from interviewer.interview.replies import Reply, help_text, parse_command
from interviewer.interview.state import QuestionState, SessionState, rebuild
from interviewer.knowledge.retriever import Retriever
from interviewer.rubrics import RubricBank, RubricError
from interviewer.storage.spool import KeptAnswer, Spool
from interviewer.storage.store import Store
from interviewer.text import plural

log = logging.getLogger(__name__)

UtteranceSink = Callable[[str], None]
_utterance_sink: ContextVar[UtteranceSink | None] = ContextVar("utterance_sink", default=None)
MAX_STORED_CHARS = 1_000_000
DEFAULT_DIFFICULTY = 2


MAX_NOTICE_REASON = 110


def brief_reason(reason: str, limit: int = MAX_NOTICE_REASON) -> str:
    """A fallback reason short enough for a one-line notice: the innermost details go first.

    The full reason stays in the stored grade; the candidate only needs the gist.
    """
    while len(reason) > limit:
        shorter = re.sub(r" \([^()]*\)(?=\)*$)", "", reason, count=1)  # the last, innermost parenthesis
        if shorter == reason:
            return reason[: limit - 1].rstrip() + "…"
        reason = shorter
    return reason


class InterviewError(Exception):
    """A request the interviewer cannot carry out; the message is for the user."""


class Interviewer:
    """Owns the interview flow; adapters call ``start``, ``handle`` and ``resume``."""

    def __init__(
        self,
        bank: RubricBank,
        engine: Engine,
        store: Store,
        *,
        max_answer_chars: int = 20_000,
        retriever: Retriever | None = None,
        spool: Spool | None = None,
    ) -> None:
        self.bank = bank
        self.engine = engine
        self.store = store
        self.max_answer_chars = max_answer_chars
        self.journal = Journal(store, spool)
        self._arrivals = KeyedLocks()  # per session key: turns keep their arrival order
        self._generated: dict[str, Question] = {}  # questions built from notes, recovered from turns
        self.material = StudyMaterial(retriever)

    # public API ---------------------------------------------------------------------------

    async def start(
        self, *, user_key: str, channel: str, options: SessionOptions, session_key: str | None = None
    ) -> tuple[Session, Reply]:
        """Open a session and ask the first question."""
        self.engine.warm_up()
        asked_for = options.questions
        options = self.validate(options)
        session = await asyncio.to_thread(
            self.store.create_session, user_key=user_key, channel=channel, options=options, session_key=session_key
        )
        reply = Reply(session_id=session.id)
        everything = next(iter(self.bank.topics.values())) if len(self.bank.topics) == 1 else "all topics"
        topics = ", ".join(self.bank.topics[t] for t in options.topics) or everything
        count = len(options.question_ids) or options.questions
        every = " (all there are for it)" if not options.question_ids and count < asked_for else ""
        reply.add(
            "welcome",
            f"Mock interview: {plural(count, 'question')} on {topics}{every}. "
            "Answer as you would in a real interview. Type 'help' for commands.",
            topics=options.topics,
            questions=count,
        )
        async with self.journal.working_on(session.id):
            await self._progress(session, reply)
        return session, reply

    async def handle(self, turn: Turn, *, event_id: str | None = None, on_utterance: UtteranceSink | None = None) -> Reply:
        """Process one candidate message for the active session with ``turn.session_key``.

        ``on_utterance`` receives the interviewer's next words while a model streams them (the
        REPL shows them as they arrive); the returned Reply holds the same text in full.
        """
        async with self._arrivals.hold(turn.session_key):  # before any await: turns keep their arrival order
            return await self._handle_arrived(turn, event_id, on_utterance)

    async def _handle_arrived(self, turn: Turn, event_id: str | None, on_utterance: UtteranceSink | None) -> Reply:
        session = await self.active_session(turn.session_key)
        if session is None:
            return Reply().add("notice", "There is no interview running here. Start one first.", reason="no_session")
        if session.user_key != turn.user_key:
            return Reply(session_id=session.id).add(
                "notice", "This interview belongs to someone else.", reason="not_owner", owner=session.user_key
            )
        async with self.journal.working_on(session.id):
            token = _utterance_sink.set(on_utterance)  # per task: concurrent sessions never share a sink
            try:
                taken_back = await self._take_back_kept(session)
                reply = await self._handle(session, turn.text, event_id, turn.prompt_seq)
                reply.messages[:0] = taken_back.messages
                return reply
            finally:
                _utterance_sink.reset(token)

    async def active_session(self, session_key: str) -> Session | None:
        """The running interview at ``session_key`` (a thread, a DM, a terminal), if any."""
        return await asyncio.to_thread(self.store.active_session, session_key)

    async def first_delivery(self, event_id: str) -> bool:
        """True the first time a platform event arrives anywhere in the fleet; False for a retry
        that another replica (or this one) already took in. When the store cannot tell, the
        event is taken in: an answer carries its event id into the transcript, where a repeat
        is stored once, while a dropped one would be lost."""
        try:
            return await asyncio.to_thread(self.store.claim_delivery, event_id)
        except Exception:
            log.exception("could not record the delivery of %s", event_id)
            return True

    async def latest_unfinished(self, user_key: str, channel: str | None = None) -> Session | None:
        """The user's most recent interview that has not finished (in ``channel``, if given)."""
        return await asyncio.to_thread(self.store.latest_unfinished, user_key, channel)

    async def history(self, user_key: str, limit: int = 10) -> list[SessionRecord]:
        """The user's recent interviews as records, newest first (only ever their own)."""
        return await asyncio.to_thread(load_records, self.store, self.bank, user=user_key, limit=limit)

    async def transcript_of(self, user_key: str, session_id: str) -> SessionRecord | None:
        """One of the user's interviews by id or id prefix; None for a missing one and for
        someone else's, which look exactly alike."""

        def load() -> SessionRecord | None:
            session = self.store.find_session(session_id.strip(), user_key=user_key)
            if session is None:
                return None
            return load_records(self.store, self.bank, user=user_key, sessions=[session])[0]

        return await asyncio.to_thread(load)

    async def resume(self, session: Session) -> Reply:
        """Carry on an interrupted session: grade what was saved, then re-ask where it stopped."""
        reply = Reply(session_id=session.id)
        async with self.journal.working_on(session.id):
            state = await self._state(session)
            done = len(state.closed)
            reply.add(
                "notice",
                f"Resuming your interview from {session.created_at:%Y-%m-%d %H:%M} UTC "
                f"({plural(done, 'question')} done so far).",
            )
            reply.messages += (await self._take_back_kept(session)).messages
            before = len(reply.messages)
            await self._progress(session, reply)
            if len(reply.messages) == before:  # nothing new to say: repeat the open prompt
                self._repeat(session, await self._state(session), reply)
        return reply

    async def _take_back_kept(self, session: Session) -> Reply:
        """Store answers the store refused earlier (kept in the spool), where the interview still
        waits for them; they are graded by the next step like any saved answer."""

        async def still_awaited(answer: KeptAnswer) -> bool:
            current = (await self._state(session)).current
            return (current is not None and current.question_id == answer.question_id
                    and current.prompt_seq == answer.prompt_seq and current.pending_answer_seq is None)

        reply = Reply(session_id=session.id)
        stored = await self.journal.take_back(session.id, still_awaited)
        if stored:
            said = "Your answer" if stored == 1 else f"Your {stored} answers"
            reply.add("notice", f"{said} that the store could not take earlier (kept on disk meanwhile) "
                      f"{'is' if stored == 1 else 'are'} saved now.", reason="kept_answer_saved")
        return reply

    # turn handling ------------------------------------------------------------------------

    async def _handle(self, session: Session, text: str, event_id: str | None, prompt_seq: int | None = None) -> Reply:
        reply = Reply(session_id=session.id)
        state = await self._state(session)
        if state.finished:
            if session.status != "finished":  # killed between the summary and marking the session
                await self._mark_finished(session)
            if event_id is not None and await asyncio.to_thread(self.store.has_event, session.id, event_id):
                return reply  # the last answer delivered again (to another replica): it was answered
            return reply.add("notice", "This interview is over. Start a new one to keep practising.")
        command = parse_command(text)
        current = state.current
        if current is not None and current.pending_answer_seq is not None:
            await self._progress(session, reply)  # an answer whose grading failed earlier goes first
            state = await self._state(session)
            if command == "repeat" or state.finished:
                return reply
        if command == "help":
            return reply.add("help", help_text())
        if command == "repeat":
            self._repeat(session, state, reply)
            return reply
        if command == "end":
            await self.journal.append(session.id, role="candidate", kind="command", text="end", event_id=event_id)
            await self._progress(session, reply)
            return reply
        current = state.current
        if current is None:
            await self._progress(session, reply)
            return reply
        if prompt_seq is not None and prompt_seq != current.prompt_seq and command != "end":
            # Typed in a window showing an earlier prompt, or a button pressed on an earlier
            # message: filing it under the current prompt would grade (or skip) a question the
            # candidate never saw.
            reply.add("notice", "The interview had already moved on from that prompt (in another window, or on a later "
                      "message), so that was not recorded. Here is where it stands now; send it again if it fits:", reason="moved_on")
            self._repeat(session, state, reply)
            return reply
        if command == "hint":
            await self._hint(session, current, reply)
            return reply
        if command == "skip":
            await self.journal.append(session.id, role="candidate", kind="command", text="skip", question_id=current.question_id, event_id=event_id)
            await self._progress(session, reply)
            return reply
        if not re.search(r"\w", text):
            return reply.add(
                "notice",
                "I didn't catch an answer there. Type your answer (or 'hint', 'skip', 'help').",
                empty=True,
            )
        stored = text if len(text) <= MAX_STORED_CHARS else text[:MAX_STORED_CHARS]
        meta = {"stage": current.prompt_kind, "focus": current.focus}
        if len(text) > MAX_STORED_CHARS:
            meta["stored_truncated_from"] = len(text)
        saved = await self.journal.append_answer(
            session.id, current.prompt_seq, text=stored, question_id=current.question_id, meta=meta, event_id=event_id
        )
        if saved is None:  # the same event delivered twice: already handled
            return reply
        if len(text) > self.max_answer_chars:
            reply.add(
                "notice",
                f"That answer is {len(text):,} characters long; I graded the first {self.max_answer_chars:,}. "
                "In a real interview, aim for a focused answer of a few sentences.",
            )
        await self._progress(session, reply)
        return reply

    async def _progress(self, session: Session, reply: Reply) -> None:
        """Do every step that is due: grade saved answers, follow up or close, ask next, summarise."""
        for _ in range(10):  # each pass makes one step; a session never needs more than a few
            state = await self._state(session)
            if state.finished:
                if session.status != "finished":  # killed between the summary and marking the session
                    await self._mark_finished(session)
                reply.finished = True
                return
            current = state.current
            if current is not None and current.pending_answer_seq is not None:
                if not await self._grade(session, current, reply):
                    return
                continue
            if current is not None and current.skip_requested and current.assessment is None:
                await self._grade_skip(session, current)
                continue
            if current is not None and (current.needs_decision or (state.ended and current.assessment is not None)):
                await self._decide(session, state, current, reply)  # ending mid-follow-up still shows the scorecard
                continue
            if state.ended:
                await self._finish(session, state, reply)
                continue
            if current is not None:
                return  # waiting for the candidate
            if not await self._ask_next(session, state, reply):
                await self._finish(session, state, reply)
        log.error("session %s did not settle after 10 steps", session.id)

    async def _grade(self, session: Session, current: QuestionState, reply: Reply) -> bool:
        question = self._question(current.question_id)
        answer_turn = next(t for t in (await self.journal.transcript(session.id)).turns if t.seq == current.pending_answer_seq)
        focus = answer_turn.meta.get("focus") or None
        context = await self._context(session, question, current) if self.engine.wants_context else None
        try:
            assessment = await self.engine.assess(question, answer_turn.text[: self.max_answer_chars], focus=focus, context=context)
        except Exception as exc:  # the answer is saved; it is graded again on the next step
            log.exception("grading failed")
            reply.add("error", f"Grading failed ({type(exc).__name__}). Your answer is saved; send 'repeat' to grade it again.")
            return False
        if current.assessment is not None and focus:
            assessment = merge_follow_up(question, current.assessment, assessment)
        elif focus:
            assessment = assessment.model_copy(update={"score": score_verdicts(question, assessment.verdicts, assessment.misconceptions)})
        if len(answer_turn.text) > self.max_answer_chars and not any("truncated" in n for n in assessment.notes):
            assessment.notes.append(f"answer truncated to its first {self.max_answer_chars:,} characters for grading")
        await self.journal.add_assessment(session.id, answer_turn.seq, assessment)
        if assessment.fallback:
            reply.add(
                "notice",
                "The model could not grade this answer, so the offline grader scored it instead "
                f"({brief_reason(assessment.fallback.split(': ', 1)[-1])}).",
                fallback=assessment.fallback,
            )
        return True

    async def _context(self, session: Session, question: Question, current: QuestionState) -> AssessContext:
        """The conversation on this question so far, retrieved material, and whether a follow-up may come."""
        turns = (await self.journal.transcript(session.id)).turns
        conversation: list[tuple[str, str]] = []
        graded_seq = current.pending_answer_seq or turns[-1].seq + 1
        for turn in turns:  # the question itself is in the prompt already
            if turn.seq < graded_seq and turn.question_id == question.id and turn.kind in ("follow_up", "answer"):
                conversation.append(("candidate" if turn.role == "candidate" else "interviewer", turn.text))
        material = await self.material.passages(question)
        allowed = len(current.follow_up_points) < session.options.max_follow_ups and not current.skip_requested
        return AssessContext(conversation=conversation, material=material, follow_up_allowed=allowed, on_utterance=_utterance_sink.get())

    async def _grade_skip(self, session: Session, current: QuestionState) -> None:
        question = self._question(current.question_id)
        verdicts = [PointVerdict(point_id=p.id, verdict=Verdict.missed) for p in question.points]
        assessment = Assessment(
            question_id=question.id, verdicts=verdicts, score=0.0, engine=SKIPPED,
            rubric_hash=question.content_hash, notes=["skipped"],
        )
        turns = (await self.journal.transcript(session.id)).turns
        skip_seq = max(t.seq for t in turns if t.kind == "command" and t.text == "skip")
        await self.journal.add_assessment(session.id, skip_seq, assessment)

    async def _decide(self, session: Session, state: SessionState, current: QuestionState, reply: Reply) -> None:
        """After a grade: follow up on the most important gap, or close the question."""
        question = self._question(current.question_id)
        assessment = current.assessment
        assert assessment is not None
        gap = None if current.skip_requested or state.ended else self._follow_up_target(session, question, current, assessment)
        if gap is not None:
            open_points = [p.id for p in question.points if assessment.verdict_for(p.id) != Verdict.covered]
            if assessment.utterance and assessment.follow_up_point == gap.id:
                text, source = assessment.utterance, "model"
            else:
                text, source = f"{self._acknowledgement(assessment, current.previous_assessment)} {gap.follow_up}".strip(), "rubric"
            asked = await self.journal.append(
                session.id, role="interviewer", kind="follow_up", text=text, question_id=question.id,
                meta={"point_id": gap.id, "focus": open_points, "score_so_far": assessment.score, "source": source},
            )
            seq = asked.seq if asked is not None else None
            reply.add("follow_up", text, question_id=question.id, point_id=gap.id, score_so_far=assessment.score, prompt_seq=seq)
            reply.awaiting(seq)
            return
        data = scorecard_data(question, assessment, skipped=current.skipped, hints=len(current.hinted))
        if assessment.utterance and not assessment.follow_up_point and not current.skipped:
            data["remark"] = assessment.utterance
        data["read_more"] = await self.material.read_more(question, data)
        text = feedback_text(data)
        await self.journal.append(
            session.id, role="interviewer", kind="feedback", text=text, question_id=question.id,
            meta={"score": assessment.score, "skipped": current.skipped, "read_more": data["read_more"], "remark": data.get("remark")},
        )
        reply.add("feedback", text, **data)

    def _follow_up_target(self, session: Session, question: Question, current: QuestionState, assessment: Assessment):
        """The gap to ask about: the model's choice when it named an open one, else the heaviest."""
        if len(current.follow_up_points) >= session.options.max_follow_ups:
            return None
        gaps = [
            p for p in question.points
            if assessment.verdict_for(p.id) != Verdict.covered and p.id not in current.follow_up_points
        ]
        if not gaps:
            return None
        chosen = next((p for p in gaps if p.id == assessment.follow_up_point), None)
        return chosen or max(gaps, key=lambda p: (p.weight, assessment.verdict_for(p.id) == Verdict.missed))

    @staticmethod
    def _acknowledgement(assessment: Assessment, previous: Assessment | None = None) -> str:
        """Words before a follow-up that match the grade: praise only what earned it.

        What the latest answer added is judged against the grade before it, so "I do not know"
        after a good first answer is not met with "Good, that covers a lot"."""
        if len(assessment.misconceptions) > (len(previous.misconceptions) if previous else 0):
            return "Not quite: part of that is not right."
        covered = {v.point_id for v in assessment.verdicts if v.verdict == Verdict.covered}
        before = {v.point_id for v in previous.verdicts if v.verdict == Verdict.covered} if previous else set()
        if previous is not None and not covered - before:
            return "Let's try it from another angle."
        if not covered:
            return "Let's dig in."
        if assessment.score >= 7:
            return "Good, that covers a lot."
        if assessment.score >= 5:
            return "Thanks, that's a start."
        return "Let's build on that."

    async def _hint(self, session: Session, current: QuestionState, reply: Reply) -> None:
        question = self._question(current.question_id)
        candidates = [
            p for p in sorted(question.points, key=lambda p: -p.weight)
            if p.id not in current.hinted
            and (current.assessment is None or current.assessment.verdict_for(p.id) != Verdict.covered)
            and (not current.focus or p.id in current.focus)
        ]
        if current.prompt_kind == "follow_up" and current.follow_up_points:
            target_id = current.follow_up_points[-1]
            candidates.sort(key=lambda p: p.id != target_id)
        if not candidates:
            reply.add("hint", "No more hints for this question. Give it your best shot, or type 'skip'.")
            return
        point = candidates[0]
        await self.journal.append(session.id, role="interviewer", kind="hint", text=point.hint, question_id=question.id, meta={"point_id": point.id})
        reply.add("hint", f"Hint: {point.hint}", point_id=point.id)
        reply.awaiting(current.prompt_seq)

    def _repeat(self, session: Session, state: SessionState, reply: Reply) -> None:
        current = state.current
        if current is None:
            reply.add("notice", "There is no open question right now.")
            return
        question = self._question(current.question_id)
        kind = "follow_up" if current.prompt_kind == "follow_up" else "question"
        planned = len(session.options.question_ids) or session.options.questions
        data = self._question_data(question, current.index, state, planned)
        if kind == "follow_up":  # a follow-up alone ("And why is that?") makes no sense without its question
            reply.add("question", question.text, **data, context_for="follow_up")
        reply.add(kind, current.prompt_text, **data, prompt_seq=current.prompt_seq)
        reply.awaiting(current.prompt_seq)

    async def _ask_next(self, session: Session, state: SessionState, reply: Reply) -> bool:
        options = session.options
        planned = len(options.question_ids) or options.questions
        if len(state.questions) >= planned:
            return False
        target = options.difficulty or DEFAULT_DIFFICULTY
        for qs in state.closed:
            target = next_difficulty(target, qs.assessment.score if qs.assessment else 0.0)
        pool = self.bank.select(options.topics)
        seen = await asyncio.to_thread(self.store.seen_questions, session.user_key)
        rng = random.Random(f"{session.id}:{len(state.questions)}")
        question = pick_question(pool, options, state.asked_ids, seen, target, rng)
        if question is None:
            if not state.questions:
                reply.add("notice", "No questions match these filters.")
            return False
        index = len(state.questions) + 1
        if isinstance(self.engine, Preparing):
            self.engine.prepare(question)
        self.material.asked(question, for_model=self.engine.wants_context)
        meta = {"topic": question.topic, "difficulty": question.difficulty, "index": index, "total": planned}
        if question.generated:  # not in any bank: keep it with the transcript so resume finds it
            meta["question"] = question.model_dump(mode="json")
        asked = await self.journal.append(session.id, role="interviewer", kind="question", text=question.text, question_id=question.id, meta=meta)
        seq = asked.seq if asked is not None else None
        reply.add("question", question.text, **self._question_data(question, index, state, planned), prompt_seq=seq)
        reply.awaiting(seq)
        return True

    def _question_data(self, question: Question, index: int, state: SessionState, total: int | None = None) -> dict:
        return {
            "question_id": question.id,
            "topic": question.topic,
            "topic_title": self.bank.topics.get(question.topic, question.topic),
            "generated": question.generated,
            "difficulty": question.difficulty,
            "question_kind": question.kind,
            "index": index,
            "total": total or max(index, len(state.questions)),
        }

    async def _finish(self, session: Session, state: SessionState, reply: Reply) -> None:
        questions = {**self.bank.questions, **self._generated}
        data = summary_data(state, questions, self.bank.topics)
        grades = list((await self.journal.transcript(session.id)).grades.values())
        coaching_usage = await self._coach(state, questions, grades, data)
        usage = usage_totals(grades, coaching_usage)
        if usage is not None:
            data["usage"] = usage
        text = summary_text(data)
        await self.journal.append(session.id, role="interviewer", kind="summary", text=text, meta=data)
        await self._mark_finished(session)
        reply.add("summary", text, **data)
        reply.buttons = []
        reply.finished = True

    async def _mark_finished(self, session: Session) -> None:
        await self.journal.finish(session.id)
        session.status = "finished"

    async def _coach(self, state: SessionState, questions: dict[str, Question], grades: list[Assessment], data: dict) -> dict | None:
        """The model's coaching note for the summary (engines without ``coach`` give none).

        Skipped when the last answer had to be graded offline: the model is likely still down.
        """
        if not isinstance(self.engine, Coach) or data.get("average") is None or (grades and grades[-1].fallback):
            return None
        try:
            result = await self.engine.coach(coaching_input(state, questions))
        except Exception:  # the summary stands without it
            log.exception("coaching summary failed")
            return None
        if result is None:
            return None
        note, usage = result
        data["coaching"] = note
        return {"tokens_in": usage.tokens_in, "tokens_out": usage.tokens_out, "cost": usage.cost, "latency_ms": usage.latency_ms}

    # helpers ------------------------------------------------------------------------------

    async def _state(self, session: Session) -> SessionState:
        transcript = await self.journal.transcript(session.id)
        turns, grades = transcript.turns, transcript.grades
        for turn in turns:
            stored = turn.meta.get("question") if turn.kind == "question" else None
            if stored and turn.question_id not in self.bank.questions and turn.question_id not in self._generated:
                self._generated[turn.question_id] = Question.model_validate(stored)
        return rebuild(turns, grades)

    def _question(self, question_id: str) -> Question:
        if question_id in self._generated:
            return self._generated[question_id]
        return self.bank.get(question_id)

    def validate(self, options: SessionOptions) -> SessionOptions:
        """The options with topics resolved to slugs; InterviewError (for the user) if unusable."""
        try:
            topics = [self.bank.resolve_topic(t) for t in options.topics]
            for qid in options.question_ids:
                self.bank.get(qid)
        except RubricError as exc:
            raise InterviewError(str(exc)) from None
        available = len(self.bank.select(topics, options.difficulty))
        if not available and not options.question_ids:
            level = f" at difficulty {options.difficulty}" if options.difficulty else ""
            raise InterviewError(f"no questions for {', '.join(topics) or 'any topic'}{level}")
        # never announce more questions than the filters hold: the banner is the count asked
        return options.model_copy(update={"topics": topics, "questions": min(options.questions, max(available, 1))})
