"""One settings object: environment variables ``INTERVIEWER_*`` and an optional TOML file.

Secrets are read only from the environment and are never part of ``repr`` or logs.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated

from platformdirs import user_config_dir, user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from interviewer.safe_text import hide_credentials


class ConfigError(Exception):
    """Configuration that cannot be used; the message is shown to the user as is."""


def default_data_dir() -> Path:
    return Path(user_data_dir("interviewer", appauthor=False))


def default_config_file() -> Path:
    return Path(user_config_dir("interviewer", appauthor=False)) / "config.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    rubric_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    user: str = Field(default_factory=lambda: os.environ.get("USER") or "candidate")
    questions: int = Field(default=5, ge=1, le=50)
    max_follow_ups: int = Field(default=2, ge=0, le=5)
    max_answer_chars: int = Field(default=20_000, ge=500)
    chroma_url: str | None = None
    model: str | None = Field(default=None, description="A litellm model string; unset means the offline engine.")
    engine: str | None = Field(
        default=None, description="A grading engine by its plugin name (offline, llm or an installed one); unset: llm when a model is set, else offline."
    )
    api_base: str | None = Field(default=None, description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, ...).")
    api_key: SecretStr | None = None
    llm_timeout: float = Field(default=60.0, gt=0, le=600)
    llm_retries: int = Field(default=2, ge=0, le=10)
    llm_stream: bool = True
    llm_max_parallel: int = Field(
        default=0, ge=0, le=1000, description="Model requests this process sends at once; the rest wait (0 = no limit)."
    )
    prompt_dir: Path | None = Field(default=None, description="Your own prompt files, overriding the packaged ones by name.")

    @field_validator("rubric_dirs", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        """INTERVIEWER_RUBRIC_DIRS as a JSON list, or as paths joined like PATH (one path alone too)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError("not a JSON list of paths; give paths separated by ':' or a JSON list") from None
            return [part for part in text.split(os.pathsep) if part]
        return value

    @property
    def engine_name(self) -> str:
        """The engine plugin that grades: the one named, else llm with a model, else offline."""
        return self.engine or ("llm" if self.model else "offline")

    @property
    def engine_label(self) -> str:
        """Which engine grades, as the CLI announces it."""
        if self.engine_name not in ("offline", "llm"):
            return f"{self.engine_name} (an installed engine plugin)"
        if self.engine_name == "offline":
            return "offline (all-MiniLM-L6-v2 rubric matching; set INTERVIEWER_MODEL or --model to grade with an LLM)"
        where = f" at {hide_credentials(self.api_base)}" if self.api_base else ""
        return f"llm ({self.model}{where}; falls back to the offline grader if the model fails)"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'interviewer.db'}"


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from (lowest first) the TOML file, the environment, then explicit overrides."""
    path = config_file or Path(os.environ.get("INTERVIEWER_CONFIG", default_config_file()))
    file_values: dict[str, object] = {}
    if path.is_file():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: cannot read config file ({exc})") from None
        if "api_key" in file_values:
            raise ConfigError(f"{path}: secrets belong in the environment, not in the config file")
    env_names = {name.removeprefix("INTERVIEWER_").lower() for name in os.environ if name.startswith("INTERVIEWER_")}
    init = {k: v for k, v in file_values.items() if k not in env_names}
    init.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**init)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"])
        raise ConfigError(f"invalid setting '{field}': {error['msg']}") from None
    except SettingsError as exc:  # an environment value that is not what its field takes
        raise ConfigError(f"invalid setting in the environment: {exc}") from None
