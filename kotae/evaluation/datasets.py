"""Eval sets on disk, public QA datasets turned into eval sets, and the rule that says
which knowledge-base document a question's reference ``sources`` name.

An eval set is a JSONL file of :class:`~kotae.evaluation.model.EvalItem` lines, read
strictly by :func:`read_eval_set`: a bad line is one :class:`~kotae.errors.DatasetError`
naming the file, the line and what is wrong, so a typo never silently drops a question.

:func:`import_dataset` converts the shared QA layout (``corpus.jsonl``, ``queries.jsonl``
with ``answers``, ``qrels.tsv``) or BEIR (``_id``, ``qrels/test.tsv``) into items, and
:func:`ingest_corpus` loads the dataset's corpus into a knowledge base, one document per
corpus line, exactly as ``kotae ingest corpus.jsonl`` would: the document's source is
``/absolute/path/corpus.jsonl#ID`` and its metadata ``id`` is the corpus id.
:func:`read_queries` and :func:`read_qrels` are the one reader of a dataset's queries and
qrels, for ``eval import`` and ``kotae bench`` alike (a qrel scored 0 is not relevant).

**Document keys.** :func:`document_key` names a retrieved document: its metadata ``id``
(corpus records) or else its source (the absolute path as ingested).
:func:`matches_source` says whether a document is the one a reference names: the exact
source, a trailing part of the source path (``経費精算規程.md``, ``規程/経費精算規程.md``,
``corpus.jsonl#ID``) or the metadata ``id``.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kotae.errors import DatasetError
from kotae.evaluation.model import EvalItem

if TYPE_CHECKING:
    from kotae.index.catalog import DocumentRow
    from kotae.ingest import IngestReport
    from kotae.kb import KnowledgeBase

ALLOWED_KEYS = (
    "id",
    "question",
    "answers",
    "sources",
    "tags",
    "language",
    "source_chunk",
    "unanswerable",
)
LANGUAGES = ("ja", "en")
# keys people write by habit (BEIR, SQuAD, singulars) -> the eval-set key they meant
_HINTS = {
    "text": "question",
    "query": "question",
    "_id": "id",
    "answer": "answers",
    "source": "sources",
    "tag": "tags",
}


# -- eval sets -----------------------------------------------------------------------


def read_eval_set(path: str | Path) -> list[EvalItem]:
    """The items of an eval set; blank lines are skipped, anything else malformed raises
    :class:`DatasetError` naming ``path:LINE``. A set without any question is an error."""
    path = Path(path)
    items: list[EvalItem] = []
    first_line: dict[str, int] = {}
    for number, obj in _json_lines(path):
        where = f"{path}:{number}"
        item = _eval_item(obj, where)
        if item.id in first_line:
            raise DatasetError(
                f'{where}: duplicate id "{item.id}" (already on line {first_line[item.id]})'
            )
        first_line[item.id] = number
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no questions (the eval set is empty)")
    return items


def write_eval_set(items: Iterable[EvalItem], path: str | Path) -> None:
    """Write ``items`` as JSONL (UTF-8, Japanese kept readable), atomically: a temporary
    file in the same folder replaces ``path`` only once it is complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open applies the umask, so the set gets the permissions of any new file
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for item in items:
                handle.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; a UTF-8 BOM is allowed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror})") from exc
    for number, data in enumerate(raw.split(b"\n"), 1):
        try:
            line = data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise DatasetError(
                f"{path}:{number}: not UTF-8 text (save the file as UTF-8)"
            ) from None
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})"
            ) from None


def _eval_item(obj: Any, where: str) -> EvalItem:
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object {{...}}, got {_kind(obj)}")
    unknown = [key for key in obj if key not in ALLOWED_KEYS]
    if unknown:
        names = ", ".join(f'"{key}"' for key in unknown)
        hints = "".join(
            f'; did you mean "{_HINTS[key]}" instead of "{key}"?'
            for key in unknown
            if key in _HINTS
        )
        plural = "s" if len(unknown) > 1 else ""
        raise DatasetError(
            f"{where}: unknown key{plural} {names}{hints} (allowed: {', '.join(ALLOWED_KEYS)})"
        )
    for key in ("id", "question"):
        if key not in obj:
            raise DatasetError(f'{where}: missing "{key}"')
    item_id = obj["id"]
    if not isinstance(item_id, str):
        hint = f' (write "{item_id}")' if isinstance(item_id, int) else ""
        raise DatasetError(f'{where}: "id" must be a string, got {_kind(item_id)}{hint}')
    if not item_id.strip():
        raise DatasetError(f'{where}: "id" is empty')
    question = obj["question"]
    if not isinstance(question, str):
        raise DatasetError(f'{where}: "question" must be a string, got {_kind(question)}')
    if not question.strip():
        raise DatasetError(f'{where}: "question" is empty')
    language = obj.get("language")
    if language is not None and language not in LANGUAGES:
        raise DatasetError(f'{where}: "language" must be "ja" or "en", got {json.dumps(language)}')
    chunk = obj.get("source_chunk")
    if chunk is not None and (not isinstance(chunk, int) or isinstance(chunk, bool)):
        raise DatasetError(f'{where}: "source_chunk" must be an integer, got {_kind(chunk)}')
    unanswerable = obj.get("unanswerable", False)
    if not isinstance(unanswerable, bool):
        got = _kind(unanswerable)
        raise DatasetError(f'{where}: "unanswerable" must be true or false, got {got}')
    answers = _strings(obj, "answers", where)
    if unanswerable and (answers or obj.get("sources")):
        raise DatasetError(f'{where}: an "unanswerable" question has no "answers" and no "sources"')
    return EvalItem(
        id=item_id,
        question=question,
        answers=answers,
        sources=_strings(obj, "sources", where),
        tags=_strings(obj, "tags", where),
        language=language,
        source_chunk=chunk,
        unanswerable=unanswerable,
    )


def _strings(obj: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """``obj[key]`` as a tuple of non-blank strings (absent = empty)."""
    value = obj.get(key, [])
    if not isinstance(value, list):
        hint = (
            f" (write [{json.dumps(value, ensure_ascii=False)}])" if isinstance(value, str) else ""
        )
        raise DatasetError(f'{where}: "{key}" must be a list of strings, got {_kind(value)}{hint}')
    for index, element in enumerate(value):
        if not isinstance(element, str):
            raise DatasetError(f'{where}: "{key}"[{index}] must be a string, got {_kind(element)}')
        if not element.strip():
            raise DatasetError(f'{where}: "{key}"[{index}] is empty')
    return tuple(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# -- public datasets -----------------------------------------------------------------


_T = TypeVar("_T")


def sample(items: Sequence[_T], limit: int | None, seed: int = 0) -> list[_T]:
    """A random sample of ``limit`` of ``items``, the same for the same ``seed``, in the
    items' own order; all of them when ``limit`` is None or not below their number."""
    if limit is not None and limit < 1:
        raise DatasetError(f"--limit must be at least 1, not {limit}")
    if limit is None or limit >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]


def sample_record(limit: int | None, seed: int, total: int) -> dict[str, Any] | None:
    """How a sample was drawn, for the results: None when every query was used."""
    if limit is None or limit >= total:
        return None
    return {"limit": limit, "seed": seed, "of": total}


@dataclass(frozen=True, slots=True)
class ImportedSet:
    """An eval set converted from a dataset folder."""

    name: str  # the folder's name, also each item's tag
    items: list[EvalItem]
    skipped: int  # queries with neither a qrel nor an answer
    sample: dict[str, Any] | None = None  # see sample_record


def import_dataset(folder: str | Path, *, limit: int | None = None, seed: int = 0) -> ImportedSet:
    """Convert a dataset folder (shared QA layout or BEIR) into eval-set items.

    Each query becomes an item: ``id`` = the query id, ``question`` = its text,
    ``answers`` = its ``answers`` list if any, ``sources`` = the corpus ids its qrels
    score above 0 (in qrels order), ``language`` detected from the question, ``tags`` =
    ``[folder name]``. Queries with neither a qrel nor an answer are skipped and counted.
    With ``limit``, a random sample (:func:`sample`, fixed by ``seed``) of the items is kept.
    """
    from kotae.text.language import detect_language

    folder = Path(folder)
    files = dataset_files(folder)
    relevant = read_qrels(files.qrels)
    name = folder.resolve().name
    items: list[EvalItem] = []
    skipped = 0
    for query_id, text, answers in read_queries(files.queries):
        sources = list(relevant.get(query_id, {}))
        if not sources and not answers:
            skipped += 1
            continue
        items.append(
            EvalItem(
                id=query_id,
                question=text,
                answers=answers,
                sources=tuple(sources),
                tags=(name,),
                language=detect_language(text),
            )
        )
    kept = sample(items, limit, seed)
    return ImportedSet(name, kept, skipped, sample_record(limit, seed, len(items)))


@dataclass(frozen=True, slots=True)
class DatasetFiles:
    """The three files of a dataset folder."""

    corpus: Path
    queries: Path
    qrels: Path


def dataset_files(folder: Path) -> DatasetFiles:
    """The files of a dataset folder in either layout (``qrels.tsv`` or BEIR's
    ``qrels/test.tsv``); :class:`DatasetError` naming what is missing."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder")
    queries = folder / "queries.jsonl"
    qrels = next(
        (p for p in (folder / "qrels.tsv", folder / "qrels" / "test.tsv") if p.is_file()), None
    )
    missing = [
        name
        for name, present in (
            ("corpus.jsonl", (folder / "corpus.jsonl").is_file()),
            ("queries.jsonl", queries.is_file()),
            ("qrels.tsv (or qrels/test.tsv)", qrels is not None),
        )
        if not present
    ]
    if missing or qrels is None:
        raise DatasetError(
            f"{folder}: not a dataset folder, missing {', '.join(missing)} (expected the QA "
            "layout corpus.jsonl + queries.jsonl + qrels.tsv, or BEIR with qrels/test.tsv)"
        )
    return DatasetFiles(folder / "corpus.jsonl", queries, qrels)


def read_queries(path: Path) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """(id, text, answers) of each line of a dataset's ``queries.jsonl``, checked strictly
    (a bad line is a :class:`DatasetError` naming it); ``_id`` (BEIR) stands for ``id``."""
    first_line: dict[str, int] = {}
    for number, obj in _json_lines(path):
        where = f"{path}:{number}"
        if not isinstance(obj, dict):
            raise DatasetError(f"{where}: expected a JSON object {{...}}, got {_kind(obj)}")
        query_id = _record_id(obj, where)
        text = obj.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f'{where}: "text" must be a non-empty string')
        if query_id in first_line:
            raise DatasetError(
                f'{where}: duplicate query id "{query_id}" (already on line {first_line[query_id]})'
            )
        first_line[query_id] = number
        yield query_id, text, _strings(obj, "answers", where)


def _record_id(obj: dict[str, Any], where: str) -> str:
    """The ``id`` (or BEIR ``_id``) of a dataset line, a string or an integer."""
    value = obj.get("id", obj.get("_id"))
    if value is None:
        raise DatasetError(f'{where}: missing "id" (or "_id")')
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise DatasetError(f'{where}: "id" must be a non-empty string, got {_kind(value)}')
    return str(value)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Query id -> {corpus id: score} of the documents relevant to it, in file order: the
    one reader of qrels, for ``eval import`` and ``kotae bench`` alike.

    Columns: query-id, corpus-id, integer score, tab-separated; a first line whose score is
    not a number is a header. As in TREC and BEIR, a score of 0 (or below) means *judged
    not relevant*: such lines are left out, and a query with no positive score has no
    entry. A pair listed twice keeps its first positive score.
    """
    relevant: dict[str, dict[str, int]] = {}
    try:
        lines = path.read_text("utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read it as UTF-8 text ({exc})") from exc
    first = True
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.rstrip("\r").split("\t")
        score = parts[2].strip() if len(parts) >= 3 else ""
        is_number = score.lstrip("-").isdigit()
        if first and not is_number and len(parts) >= 3:
            first = False  # the header row
            continue
        first = False
        if not is_number:
            raise DatasetError(
                f"{path}:{number}: expected query-id, corpus-id and an integer score, "
                "separated by tabs"
            )
        query_id, corpus_id = parts[0].strip(), parts[1].strip()
        if int(score) > 0:
            relevant.setdefault(query_id, {}).setdefault(corpus_id, int(score))
    return relevant


def ingest_corpus(kb: KnowledgeBase, folder: str | Path) -> IngestReport:
    """Load ``folder/corpus.jsonl`` into ``kb``, one document per line, the way ``kotae
    ingest`` loads a JSONL file: source ``/absolute/path/corpus.jsonl#ID``, metadata
    ``{"id": ID}``, title the line's ``title`` (else the id). Unchanged lines are skipped
    on a second import. The whole file is checked first, so a malformed line writes nothing.
    """
    from kotae.ingest import ingest_records, read_records

    corpus = Path(folder) / "corpus.jsonl"
    if not corpus.is_file():
        raise DatasetError(f"{folder}: no corpus.jsonl to ingest")
    _check_corpus(corpus)
    return ingest_records(kb, str(corpus.resolve()), read_records(corpus))


def _check_corpus(path: Path) -> None:
    """Every corpus line is an object with an id, unique, and a string ``text``."""
    first_line: dict[str, int] = {}
    for number, obj in _json_lines(path):
        where = f"{path}:{number}"
        if not isinstance(obj, dict):
            raise DatasetError(f"{where}: expected a JSON object {{...}}, got {_kind(obj)}")
        record_id = _record_id(obj, where)
        if not isinstance(obj.get("text"), str):
            raise DatasetError(f'{where}: "text" must be a string')
        if record_id in first_line:
            raise DatasetError(
                f'{where}: duplicate corpus id "{record_id}" '
                f"(already on line {first_line[record_id]})"
            )
        first_line[record_id] = number


# -- document keys -------------------------------------------------------------------


def document_key(doc: DocumentRow) -> str:
    """How a run names a document: its metadata ``id`` when it has one (a corpus record,
    e.g. ``a1025052p2``), else its source (the absolute path as ingested). The same rule
    as the benchmarks' external ids, so qrels ids compare equal."""
    return doc.metadata.get("id") or doc.source


def matches_source(doc: DocumentRow | str, reference: str) -> bool:
    """Whether ``doc`` is the document an eval item's ``reference`` source names.

    With a document row, the reference may be its exact source, a trailing part of the
    source path cut at a ``/`` (the file name ``経費精算規程.md``, ``規程/経費精算規程.md``,
    ``corpus.jsonl#ID``), or its metadata ``id``. A bare file name matches every document
    of that name; write more of the path to tell them apart. A corpus file's name alone
    (``corpus.jsonl``) names none of its records. With a key from :func:`document_key`,
    an absolute path is matched the same way and any other key (an id) only when equal.
    Both sides are compared in Unicode NFC (macOS writes file names decomposed).
    """
    ref = _nfc(reference.strip()).removeprefix("./")
    if not ref:
        return False
    if isinstance(doc, str):
        key = _nfc(doc)
        return ref == key or (key.startswith("/") and key.endswith("/" + ref))
    source = _nfc(doc.source)
    return ref in (source, _nfc(doc.metadata.get("id", ""))) or source.endswith("/" + ref)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
