"""Wiring: settings -> rubric bank, engine, store -> Interviewer. Shared by the CLI and adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from interviewer.config import ConfigError, Settings
from interviewer.grading.base import Engine
from interviewer.grading.llm.templates import PromptError
from interviewer.interview.session import Interviewer
from interviewer.registry import EnginePlugin, installed_engines
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
    """The engine the settings name (``INTERVIEWER_ENGINE``; by default llm with a model, else
    offline), from the installed engine plugins; ConfigError (one line) when it cannot be built."""
    name = settings.engine_name
    plugin = BUILT_IN_ENGINES.get(name)
    if plugin is None:  # only then look through the installed packages: it costs a scan
        engines, broken = installed_engines()
        plugin = next((e for e in engines if e.name == name), None)
        if plugin is None:
            why = next((b.problem for b in broken if b.name == name), None)
            names = ", ".join(sorted({*BUILT_IN_ENGINES, *(e.name for e in engines)}))
            raise ConfigError(f"no grading engine {name!r}: {why}" if why else f"no grading engine {name!r} is installed (there are: {names})")
    return plugin.build(settings)


def offline_engine(settings: Settings) -> Engine:
    """The embedded engine with its fitted thresholds."""
    from interviewer.grading.offline.engine import GraderParams, OfflineEngine

    return OfflineEngine(params=GraderParams.packaged(max_chars=settings.max_answer_chars))


def llm_engine(settings: Settings) -> Engine:
    """The model through litellm, with the offline engine for the turns the model fails."""
    from interviewer.grading.llm.engine import LLMEngine

    if not settings.model:
        raise ConfigError("the llm engine needs a model: pass --model or set INTERVIEWER_MODEL")
    prompt_dir = str(settings.prompt_dir) if settings.prompt_dir else None
    try:
        return LLMEngine(model_config(settings), fallback=offline_engine(settings), prompt_dir=prompt_dir)
    except PromptError as exc:
        raise ConfigError(f"cannot use the prompts: {exc}") from None


OFFLINE = EnginePlugin("offline", build=offline_engine, help="Rubric matching with the embedded MiniLM model: no key, no network.")
LLM = EnginePlugin("llm", build=llm_engine, help="Any model through litellm ($INTERVIEWER_MODEL), the offline engine as its fallback.")
BUILT_IN_ENGINES = {plugin.name: plugin for plugin in (OFFLINE, LLM)}


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
    from interviewer.storage.spool import Spool

    retriever = MaterialRetriever(settings, exclusive=lambda: store.owning(MATERIAL_INDEXING))
    interviewer = Interviewer(bank, engine, store, max_answer_chars=settings.max_answer_chars, retriever=retriever,
                              spool=Spool.beside(settings.data_dir))
    return App(settings=settings, bank=bank, store=store, engine=engine, interviewer=interviewer)
