"""Settings of a knowledge base: flag > ``KOTAE_<SECTION>__<KEY>`` env > ``kotae.toml`` > defaults.

``kotae.toml`` lives in the knowledge-base directory. Every key can be overridden by an
environment variable such as ``KOTAE_RETRIEVAL__CANDIDATES=200`` (pydantic-settings).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kotae.errors import ConfigError

CONFIG_FILE = "kotae.toml"


class ChunkingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(default=512, ge=32, le=8192)
    overlap_tokens: int = Field(default=48, ge=0, le=1024)


class RetrievalSettings(BaseModel):
    """How a query is answered. Field weights were chosen on the shared benchmarks
    (docs/decisions/0002-lexical-analysis.md)."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["lexical", "dense", "hybrid"] = "hybrid"  # hybrid = lexical without embedder
    words_weight: float = Field(default=1.0, ge=0)
    grams_weight: float = Field(default=0.25, ge=0)
    pairs_weight: float = Field(default=0.35, ge=0)
    lexical_weight: float = Field(default=1.0, ge=0)  # weights of the reciprocal rank fusion
    dense_weight: float = Field(default=1.0, ge=0)
    rrf_k: int = Field(default=60, ge=1)
    candidates: int = Field(default=100, ge=1, le=10_000)  # per retriever, before fusion / rerank
    rerank_candidates: int = Field(default=30, ge=1, le=1000)
    vector_index: Literal["exact", "hnsw"] = "exact"  # hnsw needs kotae[ann]


class BackendSettings(BaseModel):
    """A model backend chosen by name; other keys are the backend's own options."""

    model_config = ConfigDict(extra="allow")
    backend: str = ""  # "" = none

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOTAE_", env_nested_delimiter="__", extra="forbid", toml_file=None
    )
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    embedder: BackendSettings = Field(default_factory=BackendSettings)
    reranker: BackendSettings = Field(default_factory=BackendSettings)
    query_log: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_TOML_PATH.get("path"))
        return (init_settings, env_settings, toml)


_TOML_PATH: dict[str, Path | None] = {"path": None}


def load_settings(toml_path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from flags (``overrides``), environment, ``toml_path``, defaults."""
    if toml_path is not None and toml_path.exists():
        try:
            tomllib.loads(toml_path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path}: not valid TOML: {exc}") from exc
    _TOML_PATH["path"] = toml_path if toml_path is not None and toml_path.exists() else None
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        where = f" in {toml_path}" if toml_path else ""
        raise ConfigError(f"invalid settings{where}: {problems}") from exc
    finally:
        _TOML_PATH["path"] = None


DEFAULT_TOML = """\
# kotae knowledge-base settings. Every key can also be set by an environment variable
# KOTAE_<SECTION>__<KEY>, e.g. KOTAE_RETRIEVAL__CANDIDATES=200.

[chunking]
max_tokens = 512
overlap_tokens = 48

[retrieval]
# hybrid = lexical BM25 fused with dense vectors when an embedder is configured.
mode = "hybrid"
words_weight = 1.0   # Japanese morphemes / English stems
grams_weight = 0.25  # character n-grams
pairs_weight = 0.35  # adjacent word pairs
candidates = 100

# Dense retrieval (optional). A local model folder:
# [embedder]
# backend = "sentence-transformers"
# model = "/models/multilingual-e5-small"
# query_prefix = "query: "
# passage_prefix = "passage: "
# or an OpenAI-compatible /v1/embeddings server (vLLM, TEI, Ollama, llama.cpp):
# [embedder]
# backend = "openai"
# base_url = "http://127.0.0.1:8000/v1"
# model = "intfloat/multilingual-e5-small"
# api_key_env = "EMBEDDINGS_API_KEY"
"""
