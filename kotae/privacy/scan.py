"""PII scans: files and folders before they are ingested (read by the loaders ingestion uses:
:func:`kotae.documents.load_document`, JSONL corpora record by record), or the chunks already
in a knowledge base, as a reader may read them (:class:`kotae.kb.Access`).

Each document gives a :class:`ScanResult`: counts per kind, and each finding's location with
its context **masked** (the finding and any other PII near it replaced by tags), so a scan
report never repeats the personal information it found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kotae.documents import CORPUS_EXTENSIONS, load_document
from kotae.documents.walk import Selection, walk
from kotae.errors import DocumentError
from kotae.privacy.pii import Finding, find_pii, tag

if TYPE_CHECKING:
    from kotae.kb import Access, KnowledgeBase

CONTEXT_CHARS = 20


@dataclass(frozen=True)
class Hit:
    """One finding: its kind, where it is (``line 12``, ``chunk 3``), its masked context."""

    kind: str
    where: str
    context: str


@dataclass
class ScanResult:
    """The findings of one document (a file, a JSONL record, a knowledge-base document)."""

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    error: str = ""  # the file could not be read: why
    document_id: int | None = None  # in a knowledge base

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, text: str, findings: list[Finding], where: str | None = None) -> None:
        """Count ``findings`` of ``text``, located at ``where`` (default: their line)."""
        for finding in findings:
            self.counts[finding.kind] = self.counts.get(finding.kind, 0) + 1
            place = where or f"line {text.count(chr(10), 0, finding.start) + 1}"
            self.hits.append(Hit(finding.kind, place, masked_context(text, findings, finding)))

    def to_dict(self, show: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source}
        if self.document_id is not None:
            data["document_id"] = self.document_id
        data["counts"] = dict(sorted(self.counts.items()))
        data["total"] = self.total
        if self.error:
            data["error"] = self.error
        if show:
            data["findings"] = [
                {"kind": h.kind, "where": h.where, "context": h.context} for h in self.hits
            ]
        return data


def masked_context(
    text: str, findings: Sequence[Finding], finding: Finding, chars: int = CONTEXT_CHARS
) -> str:
    """The text around ``finding`` (``chars`` either side, widened so no finding is cut),
    every finding in it replaced by its tag, on one line."""
    lo, hi = max(0, finding.start - chars), min(len(text), finding.end + chars)
    for other in findings:
        if other.start < lo < other.end:
            lo = other.start
        if other.start < hi < other.end:
            hi = other.end
    parts, at = [], lo
    for other in findings:
        if other.start >= lo and other.end <= hi:
            parts += [text[at : other.start], tag(other.kind)]
            at = other.end
    parts.append(text[at:hi])
    shown = " ".join("".join(parts).split())
    return ("…" if lo > 0 else "") + shown + ("…" if hi < len(text) else "")


def scan_text(source: str, text: str, kinds: Iterable[str] | None = None) -> ScanResult:
    """The findings of one text; locations are line numbers."""
    result = ScanResult(source)
    result.add(text, find_pii(text, kinds))
    return result


def _scan_file(path: Path, kinds: Iterable[str] | None) -> list[ScanResult]:
    if path.suffix.lower() in CORPUS_EXTENSIONS:
        from kotae.ingest import read_records

        return [scan_text(f"{path}#{r.id}", r.text, kinds) for r in read_records(path)]
    return [scan_text(str(path), load_document(path).text, kinds)]


def scan_paths(paths: Sequence[Path], kinds: Iterable[str] | None = None) -> list[ScanResult]:
    """Files and folders (walked as ``kotae ingest`` walks them: hidden files and OS junk
    skipped, links out of a folder refused). A path that does not exist is a
    :class:`DocumentError`; a file that cannot be read is a result with ``error``."""
    for path in paths:
        if not path.exists():
            raise DocumentError(
                f"no such file or folder: {path}",
                message_ja=f"ファイルまたはフォルダーがありません: {path}",
            )
    wanted = list(kinds) if kinds is not None else None
    results: list[ScanResult] = []
    for found in walk(paths, selection=Selection()):
        if found.problem == "skipped":
            continue
        if found.problem:
            results.append(ScanResult(str(found.path), error=found.message))
            continue
        try:
            results.extend(_scan_file(found.path, wanted))
        except DocumentError as exc:
            results.append(ScanResult(str(found.path), error=str(exc)))
        except OSError as exc:
            results.append(ScanResult(str(found.path), error=f"cannot read: {exc}"))
    return results


def scan_kb(
    kb: KnowledgeBase, access: Access, kinds: Iterable[str] | None = None
) -> list[ScanResult]:
    """The chunks of every document ``access`` may read, one result per document;
    locations are chunk numbers (``kotae docs show ID``)."""
    wanted = list(kinds) if kinds is not None else None
    docs = kb.documents(access)
    results = {d.id: ScanResult(d.source, document_id=d.id) for d in docs}
    for chunk in kb.catalog.chunks_of([d.id for d in docs]):
        findings = find_pii(chunk.text, wanted)
        results[chunk.document_id].add(chunk.text, findings, f"chunk {chunk.ordinal}")
    return list(results.values())


def totals(results: Iterable[ScanResult]) -> Counter[str]:
    """Findings per kind over all results."""
    counts: Counter[str] = Counter()
    for result in results:
        counts.update(result.counts)
    return counts
