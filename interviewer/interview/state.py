"""The state of an interview, rebuilt from its append-only transcript.

Nothing about a session lives only in memory: replaying the stored turns and grades gives the
state back exactly, which is what makes a killed interview resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from interviewer.domain import Assessment, TurnRecord


@dataclass
class QuestionState:
    question_id: str
    index: int
    prompt_seq: int
    prompt_kind: str = "question"  # the last thing asked: "question" or "follow_up"
    prompt_text: str = ""
    focus: list[str] = field(default_factory=list)
    follow_up_points: list[str] = field(default_factory=list)
    hinted: list[str] = field(default_factory=list)
    answer_seqs: list[int] = field(default_factory=list)
    assessment: Assessment | None = None
    previous_assessment: Assessment | None = None  # the grade before the latest answer (what it added)
    pending_answer_seq: int | None = None
    needs_decision: bool = False
    skip_requested: bool = False
    closed: bool = False
    difficulty: int = 2

    @property
    def skipped(self) -> bool:
        """Skipped without any answer (a skip during a follow-up keeps the grade so far)."""
        return self.skip_requested and not self.answer_seqs


@dataclass
class SessionState:
    questions: list[QuestionState] = field(default_factory=list)
    ended: bool = False
    finished: bool = False

    @property
    def current(self) -> QuestionState | None:
        if self.questions and not self.questions[-1].closed:
            return self.questions[-1]
        return None

    @property
    def asked_ids(self) -> list[str]:
        return [q.question_id for q in self.questions]

    @property
    def closed(self) -> list[QuestionState]:
        return [q for q in self.questions if q.closed]


def rebuild(turns: list[TurnRecord], grades: dict[int, Assessment]) -> SessionState:
    """Fold the transcript into the session state."""
    state = SessionState()
    for turn in turns:
        current = state.current
        if turn.kind == "question" and turn.question_id:
            state.questions.append(
                QuestionState(
                    question_id=turn.question_id,
                    index=len(state.questions) + 1,
                    prompt_seq=turn.seq,
                    prompt_text=turn.text,
                    difficulty=int(turn.meta.get("difficulty", 2)),
                )
            )
        elif current is None:
            if turn.kind == "command" and turn.text == "end":
                state.ended = True
            elif turn.kind == "summary":
                state.finished = True
        elif turn.kind == "follow_up":
            current.prompt_kind, current.prompt_seq, current.prompt_text = "follow_up", turn.seq, turn.text
            current.focus = list(turn.meta.get("focus", []))
            current.follow_up_points.append(turn.meta.get("point_id", ""))
            current.needs_decision = False
        elif turn.kind == "hint":
            current.hinted.append(turn.meta.get("point_id", ""))
        elif turn.kind == "answer":
            current.answer_seqs.append(turn.seq)
            grade = grades.get(turn.seq)
            if grade is None:
                current.pending_answer_seq = turn.seq
            else:
                current.previous_assessment, current.assessment = current.assessment, grade
                current.pending_answer_seq = None
                current.needs_decision = True
        elif turn.kind == "command" and turn.text == "skip":
            current.skip_requested = True
            current.pending_answer_seq = None
            current.assessment = grades.get(turn.seq, current.assessment)
            current.needs_decision = True
        elif turn.kind == "command" and turn.text == "end":
            state.ended = True
        elif turn.kind == "feedback":
            current.closed = True
            current.needs_decision = False
        if turn.kind == "summary":
            state.finished = True
    return state
