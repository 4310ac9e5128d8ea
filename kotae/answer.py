"""Question -> retrieved chunks -> prompt -> generation -> checked citations -> Answer.

The pipeline is plain functions returning dataclasses, so each stage can be tested and
reused on its own:

1. :func:`retrieve`: the top chunks the asker may read (the ACL applies inside retrieval);
2. :func:`build_messages`: ja/en templates from ``kotae/prompts/``, sources numbered
   ``[1]``, ``[2]``..., packed by :func:`pack_sources` to fit the model's context window
   (tokens counted with the model's tokenizer when the backend has one);
3. the generator call (streamed or not);
4. :func:`parse_citations` and :func:`check_citations`: every cited number must point at
   a source that was in the prompt.

Without a generator, :func:`answer_question` extracts the best evidence sentences
(:mod:`kotae.extractive`), cited the same way. When nothing readable matches, or the model
says the sources do not answer, the answer says so in the question's language and its
status is ``no_evidence``. Every call is written to the query log (:mod:`kotae.querylog`),
errors included.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kotae.backends.generators import Completion, GenerationParams, Generator, Message, Usage
from kotae.documents.chunking import estimate_tokens
from kotae.documents.text import join_wrapped_lines
from kotae.errors import (
    ConfigError,
    ContextOverflowError,
    EmptyKnowledgeBaseError,
    KotaeError,
    QueryError,
    QuestionTooLongError,
)
from kotae.prompts import load_templates
from kotae.replies import (
    EMPTY,
    FALLBACK,
    NO_CONTENT,
    TRUNCATED,
    WRONG_LANGUAGE,
    Reply,
    clean_reply,
    ground,
    is_refusal,
)
from kotae.retrieval import SearchResult, search
from kotae.text.language import Language as Language  # re-exported, defined there once
from kotae.text.language import detect_language as detect_language
from kotae.text.normalize import normalize_text

if TYPE_CHECKING:
    from kotae.kb import Access, KnowledgeBase

AnswerStatus = Literal["ok", "no_evidence"]

SAFETY_TOKENS = 64  # headroom for chat-template tokens and BPE merges the count cannot see
DEFAULT_WINDOW = 4096  # when neither the backend nor the settings know the window
MAX_SNIPPET = 200

_CITATION = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]］】]")


def templates(language: Language) -> dict[str, str]:
    """The prompt and message templates of ``language`` (``kotae/prompts/answer.<lang>.toml``)."""
    return load_templates("answer", language)


@dataclass(frozen=True, slots=True)
class Citation:
    """A source the answer cites: ``number`` is the ``[n]`` in the answer text."""

    number: int
    document_id: int
    chunk_id: int
    title: str
    source: str
    location: str
    page: int | None
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "document_id": self.document_id,
            "chunk_id": self.chunk_id,
            "title": self.title,
            "source": self.source,
            "location": self.location,
            "page": self.page,
            "snippet": self.snippet,
        }


@dataclass(slots=True)
class Answer:
    """What ``kotae ask`` returns. ``timings`` are milliseconds per stage: ``retrieve_ms``,
    ``prompt_ms``, ``generate_ms`` (and ``first_token_ms`` when streamed; ``rewrite_ms`` for
    a chat follow-up), ``total_ms`` and ``kotae_ms`` (everything except the generator calls)."""

    question: str
    query: str  # what was searched: the question, or a follow-up rewritten standalone
    text: str
    language: Language
    mode: Literal["generate", "extractive"]
    status: AnswerStatus
    citations: list[Citation] = field(default_factory=list)
    sources: list[SearchResult] = field(default_factory=list)  # numbered 1.. as in the prompt
    invalid_citations: list[int] = field(default_factory=list)
    notice: str | None = None  # one line for the reader (no generator, bad citations)
    usage: Usage | None = None
    timings: dict[str, float] = field(default_factory=dict)
    generator: str | None = None
    prompt: list[Message] | None = None
    log_id: int | None = None
    raw_text: str | None = None  # the generator's reply as it came, before clean_reply
    flags: list[str] = field(default_factory=list)  # repairs and problems (kotae.replies)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "query": self.query,
            "answer": self.text,
            "language": self.language,
            "mode": self.mode,
            "status": self.status,
            "citations": [c.to_dict() for c in self.citations],
            "invalid_citations": self.invalid_citations,
            "notice": self.notice,
            "usage": self.usage.to_dict() if self.usage else None,
            "timings": self.timings,
            "generator": self.generator,
            "sources": [
                {"number": i, **_citation(i, s).to_dict(), "score": s.score}
                for i, s in enumerate(self.sources, 1)
            ],
            "log_id": self.log_id,
            "flags": self.flags,
        }


@dataclass(frozen=True, slots=True)
class Turn:
    """One exchange of a chat, kept to rewrite follow-up questions."""

    question: str
    query: str
    answer: str


# -- stages -------------------------------------------------------------------------------
def retrieve(kb: KnowledgeBase, query: str, access: Access, k: int) -> list[SearchResult]:
    """The top ``k`` chunks ``access`` may read (ACL applied inside retrieval)."""
    return search(kb, query, k, access)


def token_counter(generator: Generator | None) -> Callable[[str], int]:
    """Count with the model's tokenizer when the backend has one, else estimate."""
    if generator is None:
        return estimate_tokens

    def count(text: str) -> int:
        counted = generator.count_tokens(text)
        return estimate_tokens(text) if counted is None else counted

    return count


def format_source(number: int, result: SearchResult, language: Language, text: str) -> str:
    location = f" ({result.location})" if result.location else ""
    return templates(language)["source"].format(
        number=number, title=result.title, location=location, text=text
    )


def pack_sources(
    sources: Sequence[SearchResult],
    budget: int,
    count: Callable[[str], int],
    language: Language,
) -> list[str]:
    """Formatted sources, best first, that fit in ``budget`` tokens together.

    Whole sources are added while they fit; the first one that does not is cut to the
    space left (when some is left) and packing stops, so the best evidence always comes
    first and lower-ranked sources give way.
    """
    packed: list[str] = []
    used = 0
    for number, result in enumerate(sources, 1):
        block = format_source(number, result, language, result.text)
        cost = count(block) + 1  # + the blank line between sources
        if used + cost <= budget:
            packed.append(block)
            used += cost
            continue
        left = budget - used - count(format_source(number, result, language, "")) - 1
        if left >= 16:
            packed.append(format_source(number, result, language, _cut(result.text, left, count)))
        break
    return packed


def _cut(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` within ``tokens`` (binary search on characters)."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[:middle] + "…") <= tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def build_messages(
    question: str,
    sources: Sequence[SearchResult],
    language: Language,
    *,
    count: Callable[[str], int] = estimate_tokens,
    window: int = DEFAULT_WINDOW,
    max_tokens: int = 512,
    context_tokens: int | None = None,
) -> tuple[list[Message], int]:
    """The chat messages for ``question`` and how many sources made it into the prompt.

    The sources get what is left of ``window`` after the system prompt, the question and
    the answer budget ``max_tokens`` (and at most ``context_tokens`` when set). Raises
    :class:`~kotae.errors.QuestionTooLongError` when not even the question fits.
    """
    t = templates(language)
    frame = t["user"].format(sources="", question=question)
    fixed = count(t["system"]) + count(frame) + SAFETY_TOKENS
    budget = window - max_tokens - fixed
    if context_tokens is not None:
        budget = min(budget, context_tokens)
    if budget < 16:
        raise QuestionTooLongError(
            f"the prompt does not fit the model's context window of {window} tokens: the "
            f"question and instructions take {fixed} and the answer budget {max_tokens}. "
            "Shorten the question, lower [answer] max_tokens, or use a model with a larger "
            "window (set [generator] context_window if the server's is larger).",
            message_ja=(
                f"プロンプトがモデルのコンテキスト長 {window} トークンに収まりません"
                f"（質問と指示で {fixed}、回答枠で {max_tokens}）。質問を短くするか、"
                "[answer] max_tokens を下げるか、より長いコンテキストのモデルを使ってください。"
            ),
        )
    blocks = pack_sources(sources, budget, count, language)
    user = t["user"].format(sources="\n\n".join(blocks), question=question)
    return [Message("system", t["system"]), Message("user", user)], len(blocks)


def parse_citations(text: str) -> list[int]:
    """Cited source numbers in order of first appearance: ``[1]``, ``[1][2]``, ``[1, 3]``,
    full-width ``［1］`` and ``【1】``."""
    seen: dict[int, None] = {}
    for match in _CITATION.finditer(text):
        for number in re.split(r"\s*[,，、]\s*", match.group(1)):
            seen.setdefault(int(number), None)
    return list(seen)


def strip_citations(text: str) -> str:
    """``text`` without its citation markers, e.g. to score an answer against a reference."""
    return re.sub(r"\s*" + _CITATION.pattern, "", text).strip()


def check_citations(
    numbers: Sequence[int], sources: Sequence[SearchResult]
) -> tuple[list[Citation], list[int]]:
    """(citations that point at a source in the prompt, numbers that point at none)."""
    valid, invalid = [], []
    for number in numbers:
        if 1 <= number <= len(sources):
            valid.append(_citation(number, sources[number - 1]))
        else:
            invalid.append(number)
    return valid, invalid


def _citation(number: int, result: SearchResult, snippet: str | None = None) -> Citation:
    text = snippet if snippet is not None else result.snippet
    return Citation(
        number=number,
        document_id=result.document_id,
        chunk_id=result.chunk_id,
        title=result.title,
        source=result.source,
        location=result.location,
        page=result.page,
        snippet=text[:MAX_SNIPPET],
    )


def is_no_answer(text: str, language: Language) -> bool:
    """Whether the model said the sources do not answer: the templates' ``no_answer`` in
    either language, or a short reply saying so in other words (:func:`is_refusal`)."""
    phrases = [templates(lang)["no_answer"] for lang in (language, _other(language))]
    return is_refusal(text, language, phrases)


# -- follow-up questions ------------------------------------------------------------------
_REFERRING = re.compile(
    r"(それ|その|これ|この|あれ|あの|そこ|ここ|そちら|こちら|同じ|前者|後者|さっき|上記|"
    r"\b(it|its|this|that|these|those|they|them|their|there|he|she|the same)\b)",
    re.IGNORECASE,
)


def rewrite_followup(
    question: str,
    history: Sequence[Turn],
    language: Language,
    generator: Generator | None = None,
) -> str:
    """``question`` as a standalone search query, using the previous turns.

    With a generator the model rewrites it (``rewrite_*`` templates). Without one, a
    question that refers back (それ/その/it/that...) or is very short gets the previous
    query prepended, which is what lexical retrieval needs.
    """
    if not history:
        return question
    if generator is not None:
        t = templates(language)
        lines = "\n".join(f"Q: {turn.question}\nA: {turn.answer[:300]}" for turn in history)
        messages = [
            Message("system", t["rewrite_system"]),
            Message("user", t["rewrite_user"].format(history=lines, question=question)),
        ]
        with _question_must_fit():
            reply = generator.generate(messages, GenerationParams(max_tokens=128))
        rewritten = reply.text.strip()
        first_line = rewritten.splitlines()[0].strip() if rewritten else ""
        return first_line or question
    short = len(question) <= (12 if language == "ja" else 24)
    if short or _REFERRING.search(question):
        return f"{history[-1].query} {question}"
    return question


# -- the whole pipeline -------------------------------------------------------------------
@dataclass(slots=True)
class AskOptions:
    """Per-call choices; defaults come from the knowledge base's ``[answer]`` settings."""

    mode: Literal["auto", "extractive", "generate"] | None = None
    language: Literal["auto", "ja", "en"] | None = None
    sources: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    history: Sequence[Turn] = ()
    session: str | None = None
    on_token: Callable[[str], None] | None = None  # set = stream the generation
    on_sources: Callable[[list[SearchResult]], None] | None = None  # after retrieval
    kind: Literal["ask", "chat", "eval"] = "ask"


def answer_question(
    kb: KnowledgeBase,
    question: str,
    access: Access,
    generator: Generator | None = None,
    options: AskOptions | None = None,
) -> Answer:
    """Answer ``question`` for ``access`` from the knowledge base, and log it.

    ``generator=None`` with mode ``auto`` extracts evidence sentences. Raises
    :class:`~kotae.errors.QueryError` for an empty question,
    :class:`~kotae.errors.EmptyKnowledgeBaseError` when nothing was ingested,
    :class:`~kotae.errors.QuestionTooLongError` when the question leaves no room in the
    model's context window (also when the generator reports the overflow), and the
    generator's :class:`~kotae.errors.BackendError` subclasses; each is logged as an error.
    """
    options = options or AskOptions()
    settings = kb.settings.answer
    started = time.perf_counter()
    question = question.strip()
    asked_in = detect_language(question)
    wanted = options.language or settings.language
    language: Language = asked_in if wanted == "auto" else wanted
    mode = options.mode or settings.mode
    if mode == "generate" and generator is None:
        raise ConfigError(
            "answer mode 'generate' needs a generator: set [generator] backend in kotae.toml "
            "or KOTAE_GENERATOR__BACKEND",
            message_ja="生成モードには生成モデルの設定が必要です（kotae.toml の [generator] か "
            "KOTAE_GENERATOR__BACKEND）",
        )
    generating = generator is not None and mode != "extractive"
    mode_name = "generate" if generating else "extractive"
    log = _Logger(kb, options, question, language, mode_name, access)
    log.generator = generator.name if generating and generator is not None else None
    try:
        if not normalize_text(question).strip():
            raise QueryError(
                "empty question: type what you want to know",
                message_ja="質問が空です。知りたいことを入力してください。",
            )
        history = list(options.history)[-settings.history_turns :] if settings.history_turns else []
        t0 = time.perf_counter()
        query = rewrite_followup(question, history, language, generator if generating else None)
        log.query = query
        rewrite_ms = _ms(t0)
        t0 = time.perf_counter()
        sources = retrieve(kb, query, access, options.sources or settings.sources)
        timings = {"retrieve_ms": _ms(t0)}
        if history:
            timings["rewrite_ms"] = rewrite_ms
        log.sources = sources
        if options.on_sources is not None:
            options.on_sources(sources)
        if not sources and kb.catalog.is_empty():
            raise EmptyKnowledgeBaseError(
                f"the knowledge base {kb.path} is empty: add documents with `kotae ingest`",
                message_ja=f"ナレッジベース {kb.path} に資料がありません。"
                "`kotae ingest` で資料を登録してください。",
            )
        if not sources or not covers_question(kb, query, sources):
            answer = Answer(
                question,
                query,
                templates(language)["no_evidence"],
                language,
                log.mode,  # type: ignore[arg-type]
                "no_evidence",
                sources=sources,  # the closest readable passages, none of them cited
                generator=log.generator,
                flags=[BELOW_THRESHOLD] if sources else [],
            )
        elif generating:
            assert generator is not None
            answer = _generate(question, query, sources, language, generator, options, kb)
            timings.update(answer.timings)
        else:
            answer = _extract(kb, question, query, sources, language, options)
            timings.update(answer.timings)
    except KotaeError as exc:
        log.write_error(exc, _ms(started))
        raise
    except Exception as exc:
        log.write_error(exc, _ms(started))
        raise
    timings["total_ms"] = _ms(started)
    model_ms = timings.get("generate_ms", 0.0) + (
        timings.get("rewrite_ms", 0.0) if generating else 0
    )
    timings["kotae_ms"] = round(timings["total_ms"] - model_ms, 3)
    answer.timings = timings
    answer.log_id = log.write(answer)
    return answer


BELOW_THRESHOLD = "below_evidence_threshold"  # no chunk covers the question: model not asked


def covers_question(kb: KnowledgeBase, query: str, sources: Sequence[SearchResult]) -> bool:
    """Whether the best of ``sources`` covers at least ``[answer] evidence_threshold`` of
    the question (:func:`kotae.extractive.evidence_support`). Below it, kotae answers "no
    evidence" without extracting or calling the model: a small model given unrelated
    passages answers anyway, from them. Only sources in the question's language are
    weighed; with none, the question is let through (a Japanese question over English
    documents shares no words with them)."""
    from kotae.extractive import evidence_support

    threshold = kb.settings.answer.evidence_threshold
    asked_in = detect_language(query)
    same = [s for s in sources if detect_language(f"{s.title} {s.text}") == asked_in]
    if threshold <= 0 or not same:
        return True  # a question over documents in the other language: words cannot tell
    sources = same
    lexical = kb.lexical
    support = evidence_support(
        query,
        sources,
        kb.tokenizer,
        lambda words: lexical.document_frequencies("words", words),
        lexical.num_chunks(),
    )
    return support >= threshold


def _generate(
    question: str,
    query: str,
    sources: list[SearchResult],
    language: Language,
    generator: Generator,
    options: AskOptions,
    kb: KnowledgeBase,
) -> Answer:
    settings = kb.settings.answer
    max_tokens = options.max_tokens or settings.max_tokens
    temperature = settings.temperature if options.temperature is None else options.temperature
    t0 = time.perf_counter()
    window = generator.context_window or settings.context_tokens or DEFAULT_WINDOW
    messages, used = build_messages(
        question,
        sources,
        language,
        count=token_counter(generator),
        window=window,
        max_tokens=max_tokens,
        context_tokens=settings.context_tokens,
    )
    sources = sources[:used]
    timings = {"prompt_ms": _ms(t0)}
    params = GenerationParams(max_tokens=max_tokens, temperature=temperature)
    t0 = time.perf_counter()
    with _question_must_fit():
        if options.on_token is not None:
            stream = generator.stream(messages, params)
            completion = _consume(stream, options.on_token, t0, timings)
        else:
            completion = generator.generate(messages, params)
    timings["generate_ms"] = _ms(t0)
    reply = read_reply(completion, len(sources), language)
    reply = ground(reply, question, [f"{s.title}\n{s.text}" for s in sources])
    citations, _ = check_citations(reply.cited, sources)
    status: AnswerStatus = "no_evidence" if reply.no_answer or EMPTY in reply.flags else "ok"
    text = reply.text or templates(language)["no_answer"]
    answer = Answer(
        question,
        query,
        text,
        language,
        "generate",
        status,
        citations=citations if status == "ok" else [],
        sources=sources,
        invalid_citations=reply.invalid,
        notice=reply_notice(reply, language, cited=bool(citations), status=status),
        usage=completion.usage,
        timings=timings,
        generator=generator.name,
        prompt=messages,
        raw_text=completion.text,
        flags=list(reply.flags),
    )
    if NO_CONTENT in reply.flags or EMPTY in reply.flags:
        _fall_back_to_evidence(answer, kb, language)
    return answer


def _fall_back_to_evidence(answer: Answer, kb: KnowledgeBase, language: Language) -> None:
    """A reply with no answer in it (empty, only "[1]", the question restated) is replaced
    by the best evidence sentence of the same sources, as without a generator; the flags
    keep what the model did, and ``extractive_fallback`` says what kotae showed. (One
    sentence: on the tune half of JSQuAD its source was the right one every time, while
    three sentences from several sources cited a wrong one half the time.)"""
    extracted = _extract(
        kb, answer.question, answer.query, answer.sources, language, AskOptions(), sentences=1
    )
    answer.text = extracted.text
    answer.status = extracted.status
    answer.citations = extracted.citations
    answer.flags.append(FALLBACK)
    answer.timings.update(extracted.timings)
    answer.notice = templates(language)["fallback"]


def read_reply(completion: Completion, sources: int, language: Language) -> Reply:
    """The model's reply cleaned (:func:`kotae.replies.clean_reply`): the prompts' own "the
    sources do not answer" sentences, in both languages, count as "don't know"."""
    phrases = [templates(lang)["no_answer"] for lang in (language, _other(language))]
    return clean_reply(
        completion.text,
        sources,
        language,
        finish_reason=completion.finish_reason,
        no_answer_phrases=phrases,
    )


def reply_notice(reply: Reply, language: Language, *, cited: bool, status: str) -> str | None:
    """One line per problem of the reply, for the reader (``None`` when there is none)."""
    t = templates(language)
    lines = []
    if EMPTY in reply.flags:
        lines.append(t["empty_reply"])
    if reply.invalid:
        numbers = " ".join(f"[{n}]" for n in reply.invalid)
        lines.append(t["invalid_citations"].format(numbers=numbers))
    if WRONG_LANGUAGE in reply.flags:
        lines.append(t["wrong_language"])
    if TRUNCATED in reply.flags:
        lines.append(t["truncated"])
    if not cited and status == "ok" and not reply.invalid:
        lines.append(t["no_citations"])
    return "\n".join(lines) or None


def _other(language: Language) -> Language:
    return "en" if language == "ja" else "ja"


@contextmanager
def _question_must_fit() -> Iterator[None]:
    """The generator's context overflow as :class:`~kotae.errors.QuestionTooLongError`: the
    sources were already packed into the window, so what does not fit is the question."""
    try:
        yield
    except ContextOverflowError as exc:
        raise QuestionTooLongError(
            f"the question is too long for the model's context window: {exc} Shorten the question.",
            message_ja=f"質問がモデルのコンテキスト長に対して長すぎます。質問を短くしてください。"
            f"（{exc.message_ja or exc}）",
        ) from exc


def _consume(
    stream: Iterator[str | Completion],
    on_token: Callable[[str], None],
    started: float,
    timings: dict[str, float],
) -> Completion:
    final: Completion | None = None
    pieces: list[str] = []
    for item in stream:
        if isinstance(item, Completion):
            final = item
            continue
        if not pieces:
            timings["first_token_ms"] = _ms(started)
        pieces.append(item)
        on_token(item)
    if final is None:  # a backend that yields no final Completion still gives its text
        final = Completion("".join(pieces), "", None)
    return final


def _extract(
    kb: KnowledgeBase,
    question: str,
    query: str,
    sources: list[SearchResult],
    language: Language,
    options: AskOptions,
    sentences: int | None = None,
) -> Answer:
    from kotae.extractive import select_evidence

    t0 = time.perf_counter()
    evidence = select_evidence(
        query, sources, kb.tokenizer, n=sentences or kb.settings.answer.evidence_sentences
    )
    lines, citations, cited = [], [], set()
    for item in evidence:
        lines.append(f"{one_line(item.text)} [{item.source_rank}]")
        if item.source_rank not in cited:
            cited.add(item.source_rank)
            citations.append(_citation(item.source_rank, sources[item.source_rank - 1], item.text))
    timings = {"extract_ms": _ms(t0)}
    if not lines:
        text, status = templates(language)["no_evidence"], "no_evidence"
    else:
        text, status = "\n".join(lines), "ok"
    return Answer(
        question,
        query,
        text,
        language,
        "extractive",
        status,  # type: ignore[arg-type]
        citations=citations,
        sources=sources,
        notice=templates(language)["no_generator"],
        timings=timings,
    )


def one_line(text: str) -> str:
    """An evidence passage on one line: table rows joined by " / ", a line wrapped inside
    Japanese text joined without a space (the loaders' rule, ``join_wrapped_lines``), other
    line breaks (bullets, slide lines, a sentence end) become a space."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and all("|" in line for line in lines):
        return " / ".join(lines)
    return join_wrapped_lines(lines).replace("\n", " ")


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


class _Logger:
    """Writes one query-log row per call, success or failure (unless logging is off)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        options: AskOptions,
        question: str,
        language: Language,
        mode: str,
        access: Access,
    ) -> None:
        from kotae.querylog import access_record

        self.kb = kb
        self.user = access.user
        self.reader = access
        self.access = access_record(access)
        self.options = options
        self.question = question
        self.query = question
        self.language = language
        self.mode = mode
        self.generator: str | None = None
        self.sources: list[SearchResult] = []
        self.session = options.session or (uuid.uuid4().hex if options.kind == "chat" else None)

    def _entry(self, status: str) -> Any:
        from kotae.querylog import LogEntry

        return LogEntry(
            kind=self.options.kind,
            status=status,  # type: ignore[arg-type]
            question=self.question,
            query=self.query,
            user=self.user,
            session=self.session,
            language=self.language,
            mode=self.mode,
            generator=self.generator,
            retrieved=[
                {
                    "rank": s.rank,
                    "chunk_id": s.chunk_id,
                    "document_id": s.document_id,
                    "score": round(s.score, 6),
                }
                for s in self.sources
            ],
            access=self.access,
        )

    def _record(self, entry: Any) -> int | None:
        from kotae.querylog import record
        from kotae.security.audit import record_kb_query

        log_id = None
        if self.kb.settings.query_log:
            log_id = record(self.kb.catalog, entry, keep_days=self.kb.settings.log.keep_days)
        record_kb_query(
            self.kb,
            str(self.options.kind),
            self.reader,
            (s.document_id for s in self.sources),
            status=entry.status,
            log_id=log_id,
        )
        return log_id

    def write(self, answer: Answer) -> int | None:
        entry = self._entry(answer.status)
        entry.answer = answer.text
        entry.prompt = [m.to_dict() for m in answer.prompt] if answer.prompt else None
        entry.citations = [c.to_dict() for c in answer.citations]
        entry.usage = answer.usage.to_dict() if answer.usage else None
        entry.timings = answer.timings
        if answer.invalid_citations:
            entry.error = f"invalid citations: {answer.invalid_citations}"
        return self._record(entry)

    def write_error(self, exc: BaseException, total_ms: float) -> None:
        entry = self._entry("error")
        entry.error = f"{type(exc).__name__}: {exc}"
        entry.timings = {"total_ms": total_ms}
        self._record(entry)
