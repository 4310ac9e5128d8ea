"""``kotae eval run``: each configuration over an eval set, resumable, with bounded concurrency.

A **configuration** is a TOML file with any of kotae.toml's sections (``[retrieval]``,
``[answer]``, ``[generator]``, ``[judge]``, ``[eval]``...). It is laid over the knowledge
base's own settings (the file wins over ``KOTAE_*`` variables, which win over the knowledge
base's kotae.toml), so ``llama.toml`` may hold only a ``[generator]`` and an
``[eval.price]``. Sections that change how documents were indexed (``[chunking]``,
``[embedder]``) must match the knowledge base's: the index is shared.

For each question the runner answers through the same pipeline as ``kotae ask``
(:func:`kotae.answer.answer_question`, logged with kind ``eval``), ranks documents for the
retrieval metrics, and scores the answer (:mod:`kotae.evaluation.metrics`), the citations,
and, with a ``[judge]``, correctness and faithfulness (:mod:`kotae.evaluation.judge`). Each
result is committed as soon as it is computed; running the same set with the same
configuration again resumes the unfinished run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kotae.answer import Answer, AskOptions, answer_question, detect_language
from kotae.backends.generators import Generator, create_generator
from kotae.config import CONFIG_FILE, Settings, hide_secrets, load_file_settings, load_settings
from kotae.errors import ConfigError, KotaeError
from kotae.evaluation.metering import meter_start, metered
from kotae.evaluation.model import EvalItem, QuestionResult, RunSummary
from kotae.index.catalog_evals import now
from kotae.kb import Access, KnowledgeBase
from kotae.replies import FALLBACK

INDEX_SECTIONS = ("chunking", "embedder")
# A configuration's backend sections replace the knowledge base's whole: a gpt-4o.toml
# without base_url must not inherit the knowledge base's vLLM address (and send it the key).
REPLACED_SECTIONS = ("generator", "judge", "reranker")
PASSAGE_CHARS = 300  # of each source kept with a result, for the report's drill-down


@dataclass(slots=True)
class RunConfig:
    """One configuration to evaluate: its label, its effective settings, where it came from."""

    name: str
    settings: Settings
    path: Path | None = None

    def digest(self) -> str:
        """What identifies the configuration for resuming (use case and secrets aside)."""
        data = self.settings.model_dump(exclude={"use_case"})
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_config(kb_path: Path, path: Path | None) -> RunConfig:
    """The knowledge base's own settings, or ``path``'s sections laid over them: tables are
    merged key by key, except the backend sections (``[generator]``, ``[judge]``,
    ``[reranker]``), which the file replaces whole."""
    base = kb_path / CONFIG_FILE
    if path is None:
        settings = load_settings(base)
        return RunConfig(settings.eval.name or "default", settings, None)
    if not path.is_file():
        raise ConfigError(f"no configuration file {path}")
    try:
        overrides = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    own = load_settings(base)
    merged = own.model_dump()
    for section, value in overrides.items():
        if section in REPLACED_SECTIONS or not isinstance(value, dict):
            merged[section] = value  # a backend is never half the file's, half the base's
        elif isinstance(merged.get(section), dict):
            merged[section] = _deep_merge(merged[section], value)
        else:
            merged[section] = value
    settings = load_file_settings(merged, path)  # errors name ``path``
    for section in INDEX_SECTIONS:
        if getattr(settings, section) != getattr(own, section):
            raise ConfigError(
                f"{path}: [{section}] differs from the knowledge base's; it changes how "
                "documents are indexed. Evaluate it on a knowledge base built with it."
            )
    return RunConfig(settings.eval.name or path.stem, settings, path)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def set_digest(items: Sequence[EvalItem]) -> str:
    blob = json.dumps([i.to_dict() for i in items], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def hidden(settings: Settings) -> dict[str, Any]:
    """The settings as stored with a run: secrets masked, URL credentials removed."""
    data: dict[str, Any] = hide_secrets(settings.model_dump(exclude={"use_case"}))
    return data


Progress = Callable[[int, int], None]  # (done, total)


def run_eval(
    kb_path: Path,
    items: Sequence[EvalItem],
    set_name: str,
    config: RunConfig,
    *,
    new: bool = False,
    progress: Progress | None = None,
    as_user: str | None = None,
    groups: Sequence[str] | None = None,
    everything: bool = False,
) -> RunSummary:
    """Evaluate ``config`` over ``items``; resume the unfinished run of the same set,
    configuration and access unless ``new``. Returns the finished run with its aggregated
    metrics.

    Questions are answered as ``kotae ask`` would answer them: with the public documents
    only by default, as the user ``as_user`` (their groups' ACL applies inside retrieval),
    as a member of ``groups``, or, with ``everything``, from every document. The run's
    stored config records the access (``access``, see :func:`run_access`)."""
    from kotae.evaluation.metrics import summarize

    if sum((as_user is not None, groups is not None, everything)) > 1:
        raise ConfigError("use only one of --as, --groups and --all")
    with KnowledgeBase(kb_path, config.settings) as kb:
        store = kb.catalog
        access = kb.access_for(user=as_user, groups=groups, everything=everything)
        evaluator = _Evaluator(kb, config.settings, access)  # fails early if a backend is down
        recorded = run_access(access)
        set_hash, config_hash = set_digest(items), config.digest() + "@" + _access_key(recorded)
        run = None if new else store.resumable_eval_run(set_hash, config_hash)
        if run is None:
            run = RunSummary(
                id=uuid.uuid4().hex[:12],
                name=run_name(config.name, recorded),
                set_name=set_name,
                created_at=now(),
                status="running",
                n_questions=len(items),
                config={**hidden(config.settings), "as_user": as_user, "access": recorded},
            )
            store.create_eval_run(run, set_hash, config_hash, items)
        done = store.eval_done_ids(run.id)
        todo = [(i, item) for i, item in enumerate(items) if item.id not in done]
        counter = _Counter(len(done), len(items), progress)
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=config.settings.eval.concurrency)
        try:
            futures = [pool.submit(evaluator.evaluate, item) for _, item in todo]
            for (position, _), future in zip(todo, futures, strict=True):
                store.save_eval_result(run.id, position, future.result())
                counter.step()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            store.add_eval_wall_time(run.id, time.perf_counter() - started)
            store.finish_eval_run(run.id, "interrupted")
            raise
        finally:
            pool.shutdown()
            evaluator.close()
        wall_s = store.add_eval_wall_time(run.id, time.perf_counter() - started)
        per_question = store.eval_results(run.id)
        run.metrics = summarize(per_question)
        run.cost_per_1000, run.currency = _cost(config.settings, per_question, wall_s)
        run.status = "done"
        store.finish_eval_run(run.id, "done", run)
        return run


def run_name(config_name: str, recorded: dict[str, Any]) -> str:
    """A run's name: its configuration's, with ``@user`` when it answered as a user
    (``default@sato``), so that ``kotae eval list`` tells whose access it measured."""
    user = recorded.get("user")
    return f"{config_name}@{user}" if user else config_name


def run_access(access: Access) -> dict[str, Any]:
    """The access a run answers with, as its config records it: ``{"all": true}``,
    ``{"groups": [...]}`` (``[]`` = public) or ``{"user": name, "groups": [...]}``."""
    from kotae.querylog import access_record

    return access_record(access)


def _access_key(recorded: dict[str, Any]) -> str:
    """The access part of the resume key: a run never resumes under other access (a
    user whose groups changed starts a new run)."""
    if recorded.get("all"):
        return "all"
    groups = ",".join(recorded.get("groups") or ())
    user = recorded.get("user")
    return f"user:{user}[{groups}]" if user else f"groups[{groups}]"


def _cost(
    settings: Settings, results: Sequence[QuestionResult], wall_s: float
) -> tuple[float | None, str | None]:
    price = settings.eval.price
    if price is None:
        return None, None
    from kotae.evaluation.metrics import Price, cost_per_1000

    value = cost_per_1000(
        results,
        Price(
            currency=price.currency,
            input_per_million=price.input_per_million,
            output_per_million=price.output_per_million,
            gpu_hour=price.gpu_hour,
            gpus=price.gpus,
        ),
        wall_s=wall_s,
    )
    return value, price.currency


class _Counter:
    def __init__(self, done: int, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = done, total, progress
        if progress is not None:
            progress(done, total)

    def step(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


class _Evaluator:
    """Answers and scores one question; shared by the worker threads."""

    def __init__(self, kb: KnowledgeBase, settings: Settings, access: Access) -> None:
        self.kb = kb
        self.settings = settings
        self.generator = metered(_backend(settings.generator.backend, settings.generator.options()))
        self.judge = _backend(settings.judge.backend, settings.judge.options())
        self.access = access
        self._keys: dict[int, str] = {}
        self._lock = threading.Lock()
        self._check("[generator]", self.generator)
        self._check("[judge]", self.judge)

    def _check(self, section: str, backend: Generator | None) -> None:
        """Fail before the first question when a backend cannot answer at all."""
        if backend is None:
            return
        try:
            backend.ping()
        except KotaeError as exc:
            self.close()
            english = str(exc).replace("[generator]", section)
            japanese = (exc.message_ja or str(exc)).replace("[generator]", section)
            raise type(exc)(
                f"{section} {backend.name}: {english}",
                message_ja=f"{section} {backend.name}: {japanese}",
            ) from exc

    def close(self) -> None:
        for backend in (self.generator, self.judge):
            if backend is not None:
                backend.close()

    def evaluate(self, item: EvalItem) -> QuestionResult:
        from kotae.evaluation.metrics import answer_metrics, citation_metrics, retrieval_metrics

        language = item.language or detect_language(item.question)
        result = QuestionResult(item_id=item.id, status="ok")
        ranked: list[str] | None = None
        meter = meter_start()
        started = time.perf_counter()
        try:
            ranked = self._ranked_documents(item)
            started = time.perf_counter()  # total_ms, as for an answer: the ask pipeline
            options = AskOptions(kind="eval", on_token=_ignore if self.generator else None)
            answer = answer_question(self.kb, item.question, self.access, self.generator, options)
        except KotaeError as exc:
            result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
            # a failure counts in latency at the time it took, and in cost for its tokens
            result.timings["total_ms"] = round((time.perf_counter() - started) * 1000, 3)
            result.usage = meter.usage()
            self._score_failure(result, item, language, ranked)
            return result
        result.metrics["success"] = 1.0
        result.status = answer.status
        result.answer = answer.text
        if answer.raw_text is not None and answer.raw_text.strip() != answer.text:
            result.raw_answer = answer.raw_text
        result.flags = list(answer.flags)
        result.metrics.update(abstention_metrics(item, answer))
        if answer.mode == "generate" and answer.status == "ok" and FALLBACK not in answer.flags:
            result.metrics.update(language_metrics(answer.text, language))  # the model's text
        result.passages = [
            f"[{i}] {s.title}: {s.text[:PASSAGE_CHARS]}" for i, s in enumerate(answer.sources, 1)
        ]
        result.retrieved = [self._match(key, item.sources) for key in ranked]
        result.cited = [
            self._match(self._key(c.document_id), item.sources) for c in answer.citations
        ]
        result.sources = [
            self._match(self._key(s.document_id), item.sources) for s in answer.sources
        ]
        relevant = set(item.sources)
        if relevant:
            result.metrics.update(retrieval_metrics(result.retrieved, relevant))
            result.metrics.update(citation_metrics(result.cited, relevant))
        if item.answers:
            if answer.mode == "generate":
                result.metrics.update(answer_metrics(answer.text, item.answers, language))
                if self.kb.dense_enabled and answer.status == "ok":
                    result.metrics["similarity"] = self._similarity(answer.text, item.answers)
            else:
                from kotae.answer import strip_citations
                from kotae.evaluation.answer_metrics import answer_in_evidence

                lines = answer.text.splitlines() if answer.status == "ok" else []
                lines = [strip_citations(line) for line in lines]
                hit = answer_in_evidence(lines, item.answers, 3)
                result.metrics["answer_in_evidence@3"] = float(hit)
        self._timings(result, answer)
        if self.judge is not None and answer.mode == "generate":
            self._judge(result, item, answer, language)
        return result

    def _score_failure(
        self, result: QuestionResult, item: EvalItem, language: str, ranked: list[str] | None
    ) -> None:
        """A question the system failed on (an error, not a judge failure) scores 0 on what
        it should have produced, so errors lower the means and the gate sees them."""
        from kotae.evaluation.metrics import retrieval_metrics

        result.metrics["success"] = 0.0
        relevant = set(item.sources)
        if relevant:
            if ranked is not None:
                result.retrieved = [self._match(key, item.sources) for key in ranked]
            result.metrics.update(retrieval_metrics(result.retrieved, relevant))
            result.metrics["citation_recall"] = 0.0
        if item.unanswerable:
            result.metrics["no_answer_rate"] = 0.0
        if item.answers:
            result.metrics["false_no_answer_rate"] = 0.0  # it did not answer either
            generating = self.generator is not None and self.settings.answer.mode != "extractive"
            if not generating:
                result.metrics["answer_in_evidence@3"] = 0.0
            elif language == "ja":
                result.metrics["char_f1"] = 0.0
            else:
                result.metrics.update({"token_f1": 0.0, "em": 0.0})

    def _similarity(self, text: str, references: Sequence[str]) -> float:
        """Cosine similarity of the answer to the closest reference answer, with the
        knowledge base's embedder (vectors are L2-normalized)."""
        from kotae.answer import strip_citations

        vectors = self.kb.dense.embedder.embed([strip_citations(text), *references])
        return float(max(vectors[1:] @ vectors[0]))

    def _ranked_documents(self, item: EvalItem) -> list[str]:
        """Document keys, best first (a document ranks as its best chunk)."""
        from kotae.retrieval import rank_chunks

        k = self.settings.eval.k
        ranked = rank_chunks(self.kb, item.question, k * 4, self.access)
        chunk_docs = self.kb.catalog.chunks_by_id([c for c, _ in ranked])
        keys: list[str] = []
        for chunk_id, _ in ranked:
            row = chunk_docs.get(chunk_id)
            if row is None:
                continue
            key = self._key(row.document_id)
            if key not in keys:
                keys.append(key)
            if len(keys) == k:
                break
        return keys

    def _key(self, document_id: int) -> str:
        from kotae.evaluation.datasets import document_key

        with self._lock:
            if document_id not in self._keys:
                row = self.kb.catalog.document(document_id)
                self._keys[document_id] = document_key(row) if row else str(document_id)
            return self._keys[document_id]

    def _match(self, key: str, references: Sequence[str]) -> str:
        """The reference ``key`` matches (as written in the eval set), else ``key``."""
        from kotae.evaluation.datasets import matches_source

        for reference in references:
            if matches_source(key, reference):
                return reference
        return key

    def _timings(self, result: QuestionResult, answer: Answer) -> None:
        timings = answer.timings
        result.timings["total_ms"] = timings.get("total_ms", 0.0)
        if "first_token_ms" in timings:
            result.timings["ttft_ms"] = (
                timings.get("retrieve_ms", 0.0)
                + timings.get("prompt_ms", 0.0)
                + timings["first_token_ms"]
            )
        if answer.usage is not None:
            result.usage = {
                "prompt_tokens": answer.usage.prompt_tokens,
                "completion_tokens": answer.usage.completion_tokens,
            }
            generate_s = timings.get("generate_ms", 0.0) / 1000
            if generate_s > 0:
                result.timings["tokens_per_s"] = answer.usage.completion_tokens / generate_s
            result.timings.update(token_rates(timings, answer.usage))

    def _judge(self, result: QuestionResult, item: EvalItem, answer: Answer, language: str) -> None:
        from kotae.evaluation.judge import JudgeFormatError, judge_answer

        assert self.judge is not None
        sources = [s.text for s in answer.sources]
        try:
            verdict = judge_answer(
                self.judge, item.question, answer.text, item.answers, sources, language
            )
        except (JudgeFormatError, KotaeError) as exc:
            for name in ("correctness", "faithfulness"):
                result.metrics[name] = None
                result.failures[name] = f"{type(exc).__name__}: {exc}"[:300]
            return
        result.metrics.update(verdict.scores)


def abstention_metrics(item: EvalItem, answer: Answer) -> dict[str, float]:
    """Whether the answer said "the sources do not answer", where that is right and where
    it is wrong.

    - ``no_answer_rate`` (unanswerable questions): 1 when it said so.
    - ``false_no_answer_rate`` (questions with a reference answer): 1 when it said so
      although the knowledge base holds the answer.

    What counts is the answer the reader gets: a model reply with no answer in it (empty,
    only "[1]") is replaced by the evidence, or by "no evidence" below the threshold
    (:func:`kotae.answer._fall_back_to_evidence`), and scored as that.
    """
    declined = answer.status == "no_evidence"
    if item.unanswerable:
        return {"no_answer_rate": float(declined)}
    if item.answers:
        return {"false_no_answer_rate": float(answer.status == "no_evidence")}
    return {}


def language_metrics(text: str, language: str) -> dict[str, float]:
    """``language_match``: 1 when a generated answer is in the question's language, 0 when
    it is in the other one; not applicable when the answer is too short to tell (a name,
    a number)."""
    from kotae.replies import answer_language

    found = answer_language(text)
    return {} if found is None else {"language_match": float(found == language)}


def token_rates(timings: dict[str, float], usage: Any) -> dict[str, float]:
    """Prefill and decode speed of a streamed generation, as the client sees them:
    ``prefill_tokens_per_s`` = prompt tokens / time to the first token (a server that
    reuses a cached prompt prefix computes fewer, so this is an upper bound of the work
    done per second); ``decode_tokens_per_s`` = the tokens after the first / the time
    after the first token."""
    first = timings.get("first_token_ms")
    total = timings.get("generate_ms")
    rates: dict[str, float] = {}
    if first is None or total is None or usage is None:
        return rates
    if first > 0 and usage.prompt_tokens > 0:
        rates["prefill_tokens_per_s"] = usage.prompt_tokens / (first / 1000)
    if total > first and usage.completion_tokens > 1:
        rates["decode_tokens_per_s"] = (usage.completion_tokens - 1) / ((total - first) / 1000)
    return rates


def _ignore(_: str) -> None:
    """Streaming sink: the eval streams only to measure the time to first token."""


def _backend(name: str, options: dict[str, Any]) -> Generator | None:
    return create_generator(name, options) if name else None


def unmatched_sources(kb: KnowledgeBase, items: Sequence[EvalItem]) -> list[tuple[str, str]]:
    """(item id, reference source) for every reference that names no document: not a
    source, a trailing part of one's path (the file name...), nor a corpus id."""
    import unicodedata

    from kotae.evaluation.datasets import document_key

    known: set[str] = set()
    for row in kb.documents():
        known.add(document_key(row))
        parts = unicodedata.normalize("NFC", row.source).split("/")
        known.update("/".join(parts[i:]) for i in range(len(parts)))
    missing = []
    for item in items:
        for source in item.sources:
            reference = unicodedata.normalize("NFC", source.strip()).removeprefix("./")
            if reference not in known:
                missing.append((item.id, source))
    return missing
