"""Wiring: settings -> rubric bank, engine, store -> Interviewer. Shared by the CLI and adapters."""

from __future__ import annotations

from dataclasses import dataclass

from interviewer.config import Settings
from interviewer.core import Interviewer
from interviewer.engines.base import Engine
from interviewer.rubrics import RubricBank, packaged_rubrics_dir
from interviewer.store import Store


@dataclass
class App:
    settings: Settings
    bank: RubricBank
    store: Store
    engine: Engine
    interviewer: Interviewer


def load_bank(settings: Settings) -> RubricBank:
    return RubricBank.load([packaged_rubrics_dir(), *settings.rubric_dirs])


def build_engine(settings: Settings) -> Engine:
    from interviewer.engines.offline import GraderParams, OfflineEngine

    return OfflineEngine(params=GraderParams(max_chars=settings.max_answer_chars))


def build_app(settings: Settings, *, engine: Engine | None = None, bank: RubricBank | None = None) -> App:
    bank = bank or load_bank(settings)
    store = Store(settings.resolved_database_url)
    engine = engine or build_engine(settings)
    from interviewer.knowledge.service import MaterialRetriever

    interviewer = Interviewer(
        bank, engine, store, max_answer_chars=settings.max_answer_chars, retriever=MaterialRetriever(settings)
    )
    return App(settings=settings, bank=bank, store=store, engine=engine, interviewer=interviewer)
