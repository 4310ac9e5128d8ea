"""``kotae eval synth``: an eval set written by a generator from the knowledge base's chunks.

For a PoC on a company's own documents there is rarely a question set. kotae samples
chunks (spread over the documents, seeded), asks the configured generator for one question
each with its short answer copied from the chunk (``kotae/prompts/synth.<lang>.toml``, in
the chunk's language), and keeps a question only when:

- the reply holds a JSON object with a non-empty question and answer (local models' prose
  and code fences are tolerated, as for the judge);
- the chunk answers it: the answer appears in the chunk (NFKC, spaces and case aside), or,
  failing that, the generator confirms ``{"answerable": true}`` for the chunk alone;
- it is not a duplicate of a kept question (same text, or character-bigram Jaccard ≥ 0.8).

Each item carries its source chunk (``source_chunk``), its document (``sources``) and the
reference answer. :class:`SynthReport` counts what was dropped and why.

Only chunks the given access may read are sampled (public ones by default, as for
``kotae search``), and chunks are sent to a generator outside this machine (see
:func:`external_destination`) only with ``allow_external``.
"""

from __future__ import annotations

import ipaddress
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kotae.backends.generators import GenerationParams, Generator, Message
from kotae.errors import ConfigError
from kotae.evaluation.model import EvalItem
from kotae.jsonreply import first_json_object
from kotae.prompts import load_templates
from kotae.text.language import detect_language

if TYPE_CHECKING:
    from kotae.kb import Access, KnowledgeBase

IN_PROCESS_BACKENDS = ("llamacpp", "transformers", "fake")  # the model runs in kotae itself

MIN_CHUNK_CHARS = 80
MAX_CHUNK_CHARS = 1500  # the passage shown to the generator
DUPLICATE_JACCARD = 0.8


def synth_templates(language: str) -> dict[str, str]:
    return load_templates("synth", language)


@dataclass(slots=True)
class SynthReport:
    """The kept questions and how many were dropped, by reason."""

    items: list[EvalItem] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    chunks_tried: int = 0


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _bigrams(text: str) -> set[str]:
    squashed = _squash(text)
    return {squashed[i : i + 2] for i in range(len(squashed) - 1)} or {squashed}


def is_duplicate(question: str, kept: Sequence[set[str]]) -> bool:
    grams = _bigrams(question)
    return any(len(grams & other) / len(grams | other) >= DUPLICATE_JACCARD for other in kept)


def external_destination(generator: Generator) -> str | None:
    """Where ``generator`` sends text when that is outside this machine, else ``None``.

    Local: an in-process backend (llamacpp, transformers, fake) or a ``base_url`` on a
    loopback host (127.0.0.1, localhost, ::1). Anything else, plug-ins without a
    ``base_url`` included, is external."""
    base_url = getattr(generator, "base_url", None)
    backend = generator.name.split(":", 1)[0]
    if base_url is None:
        return None if backend in IN_PROCESS_BACKENDS else f"the {backend!r} backend"
    host = urlsplit(str(base_url)).hostname or ""
    if host == "localhost":
        return None
    try:
        return None if ipaddress.ip_address(host).is_loopback else host
    except ValueError:
        return host or str(base_url)


def _refuse_external(generator: Generator) -> None:
    destination = external_destination(generator)
    if destination is None:
        return
    raise ConfigError(
        f"eval synth would send chunks of your documents to {destination} "
        f"({generator.name}), outside this machine: give --allow-external to allow it, "
        "or use a local generator",
        message_ja=f"eval synth は資料の本文を外部（{destination}、{generator.name}）に"
        "送ることになります。許可する場合は --allow-external を付けるか、"
        "ローカルの生成モデルを使ってください",
    )


def sample_chunks(kb: KnowledgeBase, n: int, seed: int, access: Access | None = None) -> list[Any]:
    """Up to ``n`` chunks of at least MIN_CHUNK_CHARS that ``access`` may read (default:
    public), round-robin over shuffled documents."""
    from kotae.kb import Access

    access = access or Access.public()
    rng = random.Random(seed)
    readable = (
        None
        if access.groups is None
        else kb.catalog.readable_document_ids(sorted(access.groups)).tolist()
    )
    by_document = kb.catalog.chunk_ids_by_document(MIN_CHUNK_CHARS, readable)
    queues = [rng.sample(ids, len(ids)) for ids in by_document.values()]
    rng.shuffle(queues)
    picked: list[int] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop())
    found = kb.catalog.chunks_by_id(picked)
    return [found[c] for c in picked if c in found]


def synthesize(
    kb: KnowledgeBase,
    generator: Generator,
    n: int,
    *,
    language: str = "auto",
    seed: int = 0,
    attempts: float = 2.0,
    access: Access | None = None,
    allow_external: bool = False,
) -> SynthReport:
    """Up to ``n`` questions, trying at most ``attempts * n`` chunks that ``access`` may
    read (default: public). Raises :class:`~kotae.errors.ConfigError` before sending
    anything when the generator is outside this machine and not ``allow_external``."""
    from kotae.evaluation.answer_metrics import answer_in_evidence
    from kotae.evaluation.datasets import document_key

    if not allow_external:
        _refuse_external(generator)
    report = SynthReport()
    kept: list[set[str]] = []
    params = GenerationParams(max_tokens=256, temperature=0.0)
    for chunk in sample_chunks(kb, max(n, int(n * attempts)), seed, access):
        if len(report.items) >= n:
            break
        report.chunks_tried += 1
        lang = detect_language(chunk.text) if language == "auto" else language
        t = synth_templates(lang)
        passage = chunk.text[:MAX_CHUNK_CHARS]
        user = t["user"].format(title=chunk.title, text=passage)
        reply = generator.generate([Message("system", t["system"]), Message("user", user)], params)
        data = first_json_object(reply.text) or {}
        question = str(data.get("question") or "").strip()
        answer = str(data.get("answer") or "").strip()
        if not question or not answer:
            report.dropped["no question and answer in the reply"] += 1
            continue
        if not answer_in_evidence([chunk.text], [answer], 1) and not _confirmed(
            generator, t, passage, question, params
        ):
            report.dropped["the chunk does not answer it"] += 1
            continue
        if is_duplicate(question, kept):
            report.dropped["duplicate"] += 1
            continue
        kept.append(_bigrams(question))
        document = kb.catalog.document(chunk.document_id)
        report.items.append(
            EvalItem(
                id=f"synth-{chunk.id}",
                question=question,
                answers=(answer,),
                sources=(document_key(document),) if document else (),
                tags=("synth",),
                language="ja" if lang == "ja" else "en",
                source_chunk=chunk.id,
            )
        )
    return report


def _confirmed(
    generator: Generator,
    t: dict[str, str],
    passage: str,
    question: str,
    params: GenerationParams,
) -> bool:
    messages = [
        Message("system", t["verify_system"]),
        Message("user", t["verify_user"].format(text=passage, question=question)),
    ]
    data = first_json_object(generator.generate(messages, params).text) or {}
    return data.get("answerable") is True
