"""Prompt templates as validated, versioned data files (``prompts/*.yaml``), rendered with langchain-core.

A prompt file names its ``id`` and ``version``; the pair is stored with every grade it produced
(``assess-v1``), so a change of wording is traceable in the transcripts. Files are validated when
loaded: unknown keys, a template with unbalanced braces or a missing persona are errors that name
the file and line, never a failure in the middle of an interview.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from interviewer.domain import NonEmpty, Slug, Strict
from interviewer.packaged import data_dir
from interviewer.rubrics import describe_validation_error, read_yaml_mapping

_NO_EXAMPLES: list[dict[str, str]] = []  # one shared empty list, so prompts without examples reuse one template
ROLE_NAMES = {"system": "system", "human": "user", "ai": "assistant"}
MessageDict = dict[str, str]


class PromptError(Exception):
    """A prompt file that cannot be used; the message names the file."""


class PromptMessage(Strict):
    role: Literal["system", "human", "ai"]
    template: NonEmpty


class FewShotSpec(Strict):
    """How one graded example is shown to the model: a human turn and the model's reply."""

    human: NonEmpty
    ai: NonEmpty
    max_examples: int = Field(default=3, ge=0, le=8)


class PromptFile(Strict):
    id: Slug
    version: int = Field(ge=1)
    description: NonEmpty
    template: str | None = Field(default=None, description="A fragment included in other prompts (the persona).")
    messages: list[PromptMessage] = Field(default_factory=list)
    few_shot: FewShotSpec | None = None
    final: list[PromptMessage] = Field(default_factory=list)

    @property
    def tag(self) -> str:
        return f"{self.id}-v{self.version}"


def packaged_prompts_dir() -> Path:
    return data_dir("interviewer.prompts", "prompts")


def _fstring_check(path: Path, template: str) -> None:
    from langchain_core.prompts import PromptTemplate

    try:
        PromptTemplate.from_template(template)
    except (ValueError, KeyError) as exc:
        raise PromptError(f"{path}: template does not parse ({exc}); write literal braces as {{{{ and }}}}") from None


def load_prompt_file(path: Path) -> PromptFile:
    """Parse and validate one prompt file."""
    text, raw = read_yaml_mapping(path, PromptError, "prompt", "id, version and messages")
    try:
        prompt = PromptFile.model_validate(raw)
    except ValidationError as exc:
        raise PromptError(describe_validation_error(path, text, raw, exc)) from None
    if prompt.template is None and not (prompt.messages or prompt.final):
        raise PromptError(f"{path}: a prompt needs messages (or a template fragment)")
    for template in [m.template for m in (*prompt.messages, *prompt.final)]:
        _fstring_check(path, template)
    if prompt.few_shot is not None:
        _fstring_check(path, prompt.few_shot.human)
        _fstring_check(path, prompt.few_shot.ai)
    return prompt


@lru_cache(maxsize=32)
def load_prompt(name: str, directory: str | None = None) -> PromptFile:
    """A prompt by id, cached per process: ``directory``'s file if it has one, else the packaged one."""
    path = Path(directory) / f"{name}.yaml" if directory else None
    if path is None or not path.is_file():
        path = packaged_prompts_dir() / f"{name}.yaml"
    if not path.is_file():
        raise PromptError(f"{path}: no such prompt file")
    return load_prompt_file(path)


class ChatPrompt:
    """A prompt file bound to the persona, rendered into litellm-style chat messages."""

    def __init__(self, name: str, directory: str | None = None) -> None:
        self.spec = load_prompt(name, directory)
        self.persona = load_prompt("persona", directory)
        if self.persona.template is None:
            raise PromptError("persona prompt has no template")
        self._templates: dict[int, tuple[list[dict[str, str]], Any]] = {}

    @property
    def version(self) -> str:
        return f"{self.spec.tag}.{self.persona.tag}"

    def _template(self, examples: list[dict[str, str]]) -> Any:
        key = id(examples)
        cached = self._templates.get(key)
        if cached is None or cached[0] is not examples:  # the identity check guards against a reused id
            if len(self._templates) >= 512:
                self._templates.clear()
            cached = self._templates[key] = (examples, _compose(self.spec, examples))
        return cached[1]

    def render(self, examples: list[dict[str, str]] | None = None, **values: Any) -> list[MessageDict]:
        """Fill the template; ``examples`` are few-shot pairs for the ``few_shot`` block.

        The composed template is kept per examples list (callers cache those per rubric), so a
        turn only fills in values instead of rebuilding langchain objects.
        """
        template = self._template(examples or _NO_EXAMPLES)
        try:
            messages = template.format_messages(persona=self.persona.template.strip(), **values)
        except KeyError as exc:
            raise PromptError(f"prompt '{self.spec.id}' needs a value for {exc}") from None
        return [{"role": ROLE_NAMES[_role(m.type)], "content": str(m.content)} for m in messages]


def _compose(spec: PromptFile, examples: list[dict[str, str]]) -> Any:
    from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate

    parts: list[Any] = [(m.role, m.template) for m in spec.messages]
    few_shot = spec.few_shot
    if few_shot is not None and examples:
        example_prompt = ChatPromptTemplate.from_messages([("human", few_shot.human), ("ai", few_shot.ai)])
        parts.append(FewShotChatMessagePromptTemplate(examples=examples[: few_shot.max_examples], example_prompt=example_prompt))
    parts.extend((m.role, m.template) for m in spec.final)
    return ChatPromptTemplate.from_messages(parts)


def _role(message_type: str) -> str:
    return {"system": "system", "human": "human", "ai": "ai"}.get(message_type, "human")
