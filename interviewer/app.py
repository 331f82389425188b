"""Wiring: settings -> rubric bank, engine, store -> Interviewer. Shared by the CLI and adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from interviewer.config import ConfigError, Settings
from interviewer.grading.base import Engine
from interviewer.grading.llm.templates import PromptError
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank, packaged_rubrics_dir
from interviewer.storage.store import Store

if TYPE_CHECKING:
    from interviewer.grading.llm.client import ModelConfig


@dataclass
class App:
    settings: Settings
    bank: RubricBank
    store: Store
    engine: Engine
    interviewer: Interviewer

    def warm_up_server(self) -> None:
        """Before a bot serves anyone: load the grader now, and open the study material in the
        background, so the first candidates' grading is neither slow nor without context."""
        self.engine.warm_up()
        self.interviewer.material.start()


def load_bank(settings: Settings) -> RubricBank:
    return RubricBank.load([packaged_rubrics_dir(), *settings.rubric_dirs])


def build_engine(settings: Settings) -> Engine:
    """The offline engine, or the LLM engine (with the offline one as its fallback) when a model is set."""
    from interviewer.grading.offline.engine import GraderParams, OfflineEngine

    offline = OfflineEngine(params=GraderParams.packaged(max_chars=settings.max_answer_chars))  # the fitted thresholds
    if not settings.model:
        return offline
    from interviewer.grading.llm.engine import LLMEngine

    prompt_dir = str(settings.prompt_dir) if settings.prompt_dir else None
    try:
        return LLMEngine(model_config(settings), fallback=offline, prompt_dir=prompt_dir)
    except PromptError as exc:
        raise ConfigError(f"cannot use the prompts: {exc}") from None


def model_config(settings: Settings) -> ModelConfig:
    """The model settings, checked: an unknown provider or a missing API key is a ConfigError."""
    from interviewer.grading.llm.client import ModelConfig, missing_keys, provider_of

    assert settings.model
    try:
        provider_of(settings.model)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    config = ModelConfig(
        model=settings.model,
        api_base=settings.api_base,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        timeout=settings.llm_timeout,
        retries=settings.llm_retries,
        stream=settings.llm_stream,
        max_parallel=settings.llm_max_parallel,
    )
    missing = missing_keys(config)
    if missing:
        raise ConfigError(
            f"model {settings.model} needs {' or '.join(missing)} in the environment "
            "(or INTERVIEWER_API_KEY; for a local server set INTERVIEWER_API_BASE)"
        )
    return config


def build_app(settings: Settings, *, engine: Engine | None = None, bank: RubricBank | None = None) -> App:
    bank = bank or load_bank(settings)
    store = Store(settings.resolved_database_url)
    engine = engine or build_engine(settings)
    from interviewer.knowledge.service import MATERIAL_INDEXING, MaterialRetriever

    retriever = MaterialRetriever(settings, exclusive=lambda: store.owning(MATERIAL_INDEXING))
    interviewer = Interviewer(bank, engine, store, max_answer_chars=settings.max_answer_chars, retriever=retriever)
    return App(settings=settings, bank=bank, store=store, engine=engine, interviewer=interviewer)
