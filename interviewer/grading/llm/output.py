"""The structure the LLM engine asks a model for, and tolerant parsing of what comes back.

Models wrap JSON in code fences, add a sentence before it, capitalise verdicts or key points by
id; all of that is accepted. What cannot be parsed into ``GradingOutput`` raises
``InvalidOutput`` with a message short enough to send back in the one repair request.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_OUTPUT_CHARS = 200_000


class InvalidOutput(Exception):
    """The model's reply is not the JSON we asked for; the message says what is wrong."""


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PointJudgement(Lenient):
    point_id: str = Field(description="Id of the rubric point.")
    reasoning: str = Field(default="", description="One or two sentences on what the answer says about the point.")
    evidence: str | None = Field(default=None, description="A passage copied word for word from the answer; null when missed.")
    verdict: Literal["covered", "partial", "missed"]

    @field_validator("verdict", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("evidence", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in {"", "null", "none", "n/a"}:
            return None
        return value


class FoundMisconception(Lenient):
    misconception_id: str
    evidence: str = ""


class GradingOutput(Lenient):
    """Reasoning first, verdicts next, the utterance last (so it can stream after the grade)."""

    analysis: str = Field(default="", description="Two or three sentences on the answer as a whole.")
    points: list[PointJudgement]
    misconceptions: list[FoundMisconception] = Field(default_factory=list)
    follow_up_point: str | None = Field(default=None, description="Point id the utterance asks about, or null.")
    utterance: str = Field(default="", description="What the interviewer says next.")

    @field_validator("points", mode="before")
    @classmethod
    def _points_by_id(cls, value: Any) -> Any:
        if isinstance(value, dict):  # {"point-id": {...}} instead of a list
            return [{"point_id": k, **v} if isinstance(v, dict) else {"point_id": k, "verdict": v} for k, v in value.items()]
        return value

    @field_validator("follow_up_point", mode="before")
    @classmethod
    def _null_point(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in {"", "null", "none"}:
            return None
        return value


class GeneratedPoint(Lenient):
    id: str
    text: str
    weight: float = 2.0
    keywords: list[str] = Field(default_factory=list)
    follow_up: str
    hint: str


class GeneratedQuestion(Lenient):
    question: str
    difficulty: int = 2
    points: list[GeneratedPoint]
    model_answer: str | None = None


def extract_json(text: str) -> Any:
    """The JSON object in a model reply: bare, fenced, or surrounded by prose."""
    if len(text) > MAX_OUTPUT_CHARS:
        raise InvalidOutput(f"the reply is {len(text):,} characters long; expected one short JSON object")
    stripped = text.strip()
    if not stripped:
        raise InvalidOutput("the reply was empty")
    try:  # bare JSON first: a quote of an answer with a code fence in it must not be taken for a fence
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    fenced = re.search(r"```(?:json)?\s*(.*?)```", stripped, re.DOTALL)
    if fenced:
        stripped = fenced.group(1).strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    start, end = stripped.find("{"), stripped.rfind("}")
    if start >= 0 and end > start:
        try:
            return json.loads(stripped[start : end + 1])
        except json.JSONDecodeError as exc:
            raise InvalidOutput(f"the reply is not valid JSON ({exc.msg} at character {exc.pos})") from None
    raise InvalidOutput("the reply contains no JSON object")


def parse_model(text: str, model: type[BaseModel]) -> Any:
    data = extract_json(text)
    if not isinstance(data, dict):
        raise InvalidOutput("the reply must be one JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors()[:3]
        )
        raise InvalidOutput(f"the JSON does not match the schema ({problems})") from None


def response_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    """An OpenAI ``json_schema`` response format in strict mode (every key required, no extras)."""
    schema = model.model_json_schema()

    def tighten(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for key in ("default", "title"):
                node.pop(key, None) if not isinstance(node.get(key), dict) else None
            for value in node.values():
                tighten(value)
        elif isinstance(node, list):
            for value in node:
                tighten(value)

    tighten(schema)
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}
