"""The LLM engine: one model call per candidate turn grades the answer and says what comes next.

The model reads the rubric, graded examples of the same question (few-shot), retrieved study
material with citations and the conversation so far, and returns per-point reasoning, verdicts
with verbatim quotes, misconceptions and the interviewer's next utterance (``prompts/assess.yaml``).
Our code then does what a model must not be trusted with: it checks every quote against the
answer and against its point (``quote_check``: a substantive passage, about that point, not spent
on points it is not about, not a negated statement of it), drops what is unsupported and
computes the score from verdicts and weights. Every model-written text is made safe to show
(``interviewer.safe_text``) before it leaves the engine, and words that state another score than
ours, or praise an answer we score low, are not shown (``utterance_check``).

When the model cannot give a usable answer (timeouts, rate limits, 5xx after retries, or invalid
output after one repair request) the turn is graded by the offline engine and the assessment
says so: the interview never stalls on a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from interviewer.domain import Assessment, MisconceptionHit, Passage, PointVerdict, Question, RubricPoint, Verdict
from interviewer.grading.base import AssessContext, Engine
from interviewer.grading.evidence import check_misconceptions, check_verdicts
from interviewer.grading.llm.client import CallResult, ModelCallError, ModelClient, ModelConfig, RequestLimit
from interviewer.grading.llm.output import GeneratedQuestion, GradingOutput, InvalidOutput, parse_model, response_schema
from interviewer.grading.llm.prompts import assess_values, few_shot_examples, material_block
from interviewer.grading.llm.quote_check import QuoteCheckParams, check_quotes
from interviewer.grading.llm.stream import UtteranceStream
from interviewer.grading.llm.templates import ChatPrompt
from interviewer.grading.llm.utterance_check import score_claim
from interviewer.grading.offline.engine import GraderParams, graded_question, point_phrasings, rubric_points
from interviewer.grading.scoring import score_verdicts
from interviewer.safe_text import sanitise, sanitise_line

log = logging.getLogger(__name__)

MAX_UTTERANCE_CHARS = 800
MAX_REPAIR_ECHO = 4_000
MAX_REASONING_CHARS = 600
MAX_COACHING_CHARS = 2_000


@dataclass
class Usage:
    """Tokens, cost and time spent on the model for one turn, over every request it took."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    latency_ms: float = 0.0
    queued_ms: float = 0.0  # the part of latency_ms spent waiting for a request slot
    calls: int = 0
    recovered: list[str] = field(default_factory=list)  # what went wrong before a usable reply came

    def add(self, result: CallResult) -> None:
        self.recovered.extend(f"a failed attempt ({reason})" for reason in result.failures)
        self.tokens_in += result.tokens_in
        self.tokens_out += result.tokens_out
        self.latency_ms += result.latency_ms
        self.queued_ms += result.queued_ms
        self.calls += result.attempts
        if result.cost is not None:
            self.cost = (self.cost or 0.0) + result.cost


class LLMEngine:
    """Grades with any model litellm reaches; falls back to ``fallback`` (the offline grader)."""

    name = "llm"
    wants_context = True

    def __init__(self, config: ModelConfig, *, fallback: Engine | None = None, prompt_dir: str | None = None) -> None:
        self.config = config
        self.model: str | None = config.model
        self.limit = RequestLimit(config.max_parallel)  # one cap for the replica, not one per client
        self.client = ModelClient(config, limit=self.limit)
        self._coach_client = ModelClient(replace(config, retries=0), limit=self.limit)
        self.assess_prompt = ChatPrompt("assess", prompt_dir)
        self.generate_prompt = ChatPrompt("generate_question", prompt_dir)
        self.coach_prompt = ChatPrompt("coach_summary", prompt_dir)
        self._fallback = fallback
        self._fallback_lock = threading.Lock()
        self._few_shot: dict[str, tuple[Question, str, list[dict[str, str]]]] = {}  # id -> (question, rubric hash, pairs)
        self.grader_params = GraderParams.packaged()  # the offline measure a quote is weighed with
        self.quote_params = QuoteCheckParams.packaged()

    @property
    def prompt_version(self) -> str:
        return self.assess_prompt.version

    @property
    def fallback(self) -> Engine:
        with self._fallback_lock:
            if self._fallback is None:
                from interviewer.grading.offline.engine import OfflineEngine

                self._fallback = OfflineEngine()
            return self._fallback

    def warm_up(self) -> None:
        from interviewer.grading.llm.client import litellm_module

        threading.Thread(target=litellm_module, name="litellm-import", daemon=True).start()
        self.fallback.warm_up()

    def prepare(self, question: Question) -> None:
        """While the candidate reads the question: build its few-shot block and embed its points'
        phrasings, which the quote check measures every credited quote against (one batch now
        instead of on the answer's path: 116 ms against 39 ms per check of a strong answer).

        The offline fallback's own rubric work is not done ahead: it serves only a turn the model
        fails, where it adds a few tens of milliseconds.
        """
        threading.Thread(target=self._prepare, args=(question,), name=f"prepare-{question.id}", daemon=True).start()

    def _prepare(self, question: Question) -> None:
        points = rubric_points(question)
        self._examples(question, points)
        from interviewer.embedder import EmbedderError

        try:
            self.embedder.encode_cached(point_phrasings(points))
        except EmbedderError:
            pass  # the quote check says so on the turn itself

    def _examples(self, question: Question, points: list[RubricPoint]) -> list[dict[str, str]]:
        """Few-shot pairs depend on the rubric only: built once per rubric version.

        The same question object (the bank's) skips hashing its rubric again on every turn.
        """
        cached = self._few_shot.get(question.id)
        if cached is not None and cached[0] is question:
            return cached[2]
        key = question.content_hash
        if cached is not None and cached[1] == key:
            self._few_shot[question.id] = (question, key, cached[2])
            return cached[2]
        examples = few_shot_examples(question, points)
        if len(self._few_shot) >= 512:
            self._few_shot.clear()
        self._few_shot[question.id] = (question, key, examples)
        return examples

    # grading ------------------------------------------------------------------------------

    async def assess(
        self,
        question: Question,
        answer: str,
        *,
        focus: Sequence[str] | None = None,
        context: AssessContext | None = None,
    ) -> Assessment:
        context = context or AssessContext()
        points = rubric_points(question)
        graded = [p for p in points if focus is None or p.id in focus] or points
        values = assess_values(question, points, graded, answer, context)
        messages = self.assess_prompt.render(self._examples(question, points), **values)
        if self.client.supports_json_schema():
            response_format: dict[str, Any] = response_schema(GradingOutput, "grading")
        else:
            response_format = {"type": "json_object"}
        usage = Usage()
        streamer = UtteranceStream(context.on_utterance) if context.on_utterance else None
        try:
            output = await self._grading(messages, response_format, usage, streamer)
        except (ModelCallError, InvalidOutput) as problem:
            reason = problem.reason if isinstance(problem, ModelCallError) else f"the model's reply was unusable twice ({problem})"
            return await self._fall_back(question, answer, focus, reason, usage)
        except Exception as exc:  # a bug of ours or of a library must not cost the candidate the turn
            log.exception("unexpected failure in the LLM engine")
            return await self._fall_back(question, answer, focus, f"an unexpected error ({type(exc).__name__})", usage)
        # checking quotes embeds them: CPU work, off the event loop
        assessment = await asyncio.to_thread(self._assessment, question, graded, answer, output, usage)
        if streamer is not None and assessment.utterance:
            streamer.say(assessment.utterance)  # a repaired reply was not streamed: its checked words now
        return assessment

    @property
    def embedder(self) -> Any:
        """The fallback engine's sentence embedder (the offline grader's), else the shared one."""
        embedder = getattr(self._fallback, "embedder", None)
        if embedder is None:
            from interviewer.embedder import shared_embedder

            embedder = shared_embedder()
        return embedder

    async def _grading(
        self,
        messages: list[dict[str, str]],
        response_format: dict[str, Any],
        usage: Usage,
        streamer: UtteranceStream | None,
    ) -> GradingOutput:
        """The parsed reply; one repair request when the first reply does not parse."""
        result = await self.client.complete(messages, response_format=response_format, on_delta=streamer.feed if streamer else None)
        usage.add(result)
        try:
            return parse_model(result.content, GradingOutput)
        except InvalidOutput as problem:
            log.warning("invalid model output, asking once for a repair: %s", problem)
            usage.recovered.append(f"an unusable first reply ({problem})")
            repair = [
                *messages,
                {"role": "assistant", "content": result.content[:MAX_REPAIR_ECHO] or "(empty)"},
                {
                    "role": "user",
                    "content": f"That reply could not be used: {problem}. Reply again with only the JSON object "
                    "described in the instructions, with every rubric point graded.",
                },
            ]
            # Not streamed: what the candidate may have seen of the first reply stays as it was.
            second = await self.client.complete(repair, response_format=response_format)
            usage.add(second)
            return parse_model(second.content, GradingOutput)

    def _assessment(
        self, question: Question, graded: list[RubricPoint], answer: str, output: GradingOutput, usage: Usage
    ) -> Assessment:
        notes: list[str] = [f"the model answered after {', '.join(usage.recovered)}"] if usage.recovered else []
        judged = {j.point_id: j for j in output.points}
        unknown = sorted(set(judged) - {p.id for p in rubric_points(question)})
        if unknown:
            shown = [sanitise_line(u)[:40] for u in unknown[:5]] + (["..."] if len(unknown) > 5 else [])
            notes.append(f"the model graded unknown points {shown}; ignored")
        verdicts = []
        for point in graded:
            judgement = judged.get(point.id)
            if judgement is None:
                notes.append(f"the model gave no verdict for '{point.id}'; counted as missed")
                verdicts.append(PointVerdict(point_id=point.id, verdict=Verdict.missed))
                continue
            verdicts.append(
                PointVerdict(
                    point_id=point.id,
                    verdict=Verdict(judgement.verdict),
                    evidence=judgement.evidence,
                    confidence=1.0 if judgement.verdict != "missed" else 0.0,
                    reasoning=sanitise(judgement.reasoning)[:MAX_REASONING_CHARS] or None,
                )
            )
        verdicts, evidence_notes = check_verdicts(verdicts, answer)
        notes.extend(evidence_notes)
        verdicts, quote_notes = self._check_quotes(question, verdicts, answer)
        notes.extend(quote_notes)
        # the quotes are the answer's words, but as the model wrote them: safe to show
        verdicts = [v.model_copy(update={"evidence": sanitise(v.evidence)}) if v.evidence else v for v in verdicts]
        known = {m.id: m for m in question.misconceptions}
        claimed = [
            MisconceptionHit(misconception_id=m.misconception_id, evidence=m.evidence, correction=known[m.misconception_id].correction)
            for m in output.misconceptions
            if m.misconception_id in known
        ]
        hits, misconception_notes = check_misconceptions(list({h.misconception_id: h for h in claimed}.values()), answer)
        notes.extend(misconception_notes)
        hits = [h.model_copy(update={"evidence": sanitise(h.evidence)}) for h in hits]
        open_points = {v.point_id for v in verdicts if v.verdict != Verdict.covered}
        follow_up_point = output.follow_up_point if output.follow_up_point in open_points else None
        score = score_verdicts(graded_question(question), verdicts, hits)
        utterance = sanitise_line(output.utterance)[:MAX_UTTERANCE_CHARS] or None
        problem = score_claim(utterance, score)
        if problem is not None:
            notes.append(f"utterance check: the model's words {problem}; not shown")  # nor repeated here
            utterance = None
        return Assessment(
            question_id=question.id,
            verdicts=verdicts,
            misconceptions=hits,
            score=score,
            engine=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            rubric_hash=question.content_hash,
            latency_ms=round(usage.latency_ms, 1),
            tokens=usage.tokens_in + usage.tokens_out,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost=usage.cost,
            notes=[sanitise_line(n) for n in notes],
            utterance=utterance,
            follow_up_point=follow_up_point,
        )

    def _check_quotes(self, question: Question, verdicts: list[PointVerdict], answer: str) -> tuple[list[PointVerdict], list[str]]:
        """``quote_check.check_quotes`` with this engine's embedder (blocking: run off the event loop).

        Without the embedding model the relatedness checks cannot run: the word-count, keyword-list
        and contradiction checks still do, and a note says what was skipped.
        """
        from interviewer.embedder import EmbedderError

        try:
            return check_quotes(question, verdicts, answer, embedder=self.embedder, grader=self.grader_params,
                                params=self.quote_params)
        except EmbedderError as problem:
            log.warning("quote relatedness not checked: %s", problem)
            checked, notes = check_quotes(question, verdicts, answer, embedder=None, grader=self.grader_params,
                                          params=self.quote_params)
            return checked, [*notes, "evidence check: the embedding model is unavailable, so quotes were not checked "
                                     "against their points"]

    async def _fall_back(
        self, question: Question, answer: str, focus: Sequence[str] | None, reason: str, usage: Usage
    ) -> Assessment:
        log.warning("falling back to the offline grader: %s", reason)
        assessment = await self.fallback.assess(question, answer, focus=focus)
        spent = usage.tokens_in + usage.tokens_out
        return assessment.model_copy(
            update={
                "fallback": f"{self.model}: {reason}",
                "notes": [*assessment.notes, f"graded by the offline grader because {reason}"],
                "prompt_version": self.prompt_version,
                "tokens": spent or None,
                "tokens_in": usage.tokens_in or None,
                "tokens_out": usage.tokens_out or None,
                "cost": usage.cost,
                "latency_ms": round(usage.latency_ms + (assessment.latency_ms or 0.0), 1),
            }
        )

    # question generation and coaching ----------------------------------------------------

    async def ask(
        self, subject: str, passages: Sequence[Passage], avoid: Sequence[str] = (), topic: str | None = None
    ) -> Question:
        """A new question about ``subject`` with a rubric, written from ``passages``.

        Raises ModelCallError or InvalidOutput; callers keep a question of their own for that case.
        """
        messages = self.generate_prompt.render(
            topic=subject,
            avoid="; ".join(avoid) or "(none)",
            citations="; ".join(dict.fromkeys(p.citation for p in passages)) or "no citation",
            material=material_block(passages),
        )
        result = await self.client.complete(messages, response_format={"type": "json_object"})
        try:
            generated = parse_model(result.content, GeneratedQuestion)
        except InvalidOutput as problem:
            repair = [*messages, {"role": "assistant", "content": result.content[:MAX_REPAIR_ECHO] or "(empty)"},
                      {"role": "user", "content": f"That reply could not be used: {problem}. Reply again with only the JSON object."}]
            generated = parse_model((await self.client.complete(repair, response_format={"type": "json_object"})).content, GeneratedQuestion)
        return question_from_generated(generated, topic or _slug(subject, "notes"), passages)

    async def coach(self, results: str) -> tuple[str, Usage] | None:
        """A short coaching note for the end of the session, or None when the model cannot give one."""
        usage = Usage()
        try:  # no retries: the summary is ready and must not wait long for an optional note
            result = await self._coach_client.complete(self.coach_prompt.render(results=results))
        except ModelCallError as problem:
            log.warning("no coaching summary: %s", problem.reason)
            return None
        usage.add(result)
        text = sanitise(result.content).strip()
        return (text[:MAX_COACHING_CHARS], usage) if text else None


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or fallback


def _safe_generated(generated: GeneratedQuestion) -> GeneratedQuestion:
    """Every text of a generated question made safe to show (the model wrote all of it)."""
    points = [
        point.model_copy(update={
            "id": sanitise_line(point.id), "text": sanitise_line(point.text), "follow_up": sanitise_line(point.follow_up),
            "hint": sanitise_line(point.hint), "keywords": [sanitise_line(k) for k in point.keywords],
        })
        for point in generated.points
    ]
    model_answer = sanitise(generated.model_answer).strip() or None if generated.model_answer is not None else None
    return generated.model_copy(update={"question": sanitise_line(generated.question), "points": points, "model_answer": model_answer})


def question_from_generated(generated: GeneratedQuestion, topic: str, passages: Sequence[Passage]) -> Question:
    """Validate a generated question as strictly as a bank question (raises InvalidOutput)."""
    from pydantic import ValidationError

    generated = _safe_generated(generated)
    cite = passages[0].citation if passages else None
    seen: set[str] = set()
    points = []
    for n, raw in enumerate(generated.points[:6], start=1):
        point_id = _slug(raw.id, f"p{n}")
        if point_id in seen:
            point_id = f"{point_id}-{n}"
        seen.add(point_id)
        points.append(
            {
                "id": point_id,
                "text": raw.text,
                "weight": min(3.0, max(1.0, float(raw.weight))),
                "keywords": [k for k in raw.keywords if k.strip()][:4],
                "follow_up": raw.follow_up,
                "hint": raw.hint,
                "cite": cite if cite and " > " in cite else None,
            }
        )
    digest = hashlib.sha1(f"{topic}\n{generated.question}".encode()).hexdigest()[:10]
    try:
        return Question.model_validate(
            {
                "id": f"gen-{digest}",
                "text": generated.question,
                "difficulty": min(3, max(1, int(generated.difficulty))),
                "tags": ["generated", "llm"],
                "points": points,
                "model_answer": generated.model_answer,
                "topic": topic,
                "generated": True,
            }
        )
    except ValidationError as exc:
        raise InvalidOutput(f"the generated question is not valid ({exc.errors()[0]['msg']})") from None
