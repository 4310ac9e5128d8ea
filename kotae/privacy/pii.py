"""Personal information (PII) in Japanese and English text: find it, mask it, and mask it
reversibly for a prompt sent to an external model.

``find_pii(text)`` runs the recognizers of :mod:`kotae.privacy.numbers` (e-mail, phone,
My Number, corporate number, credit card, postal code: regular expressions over the text
folded to ASCII, check digits verified), :mod:`kotae.privacy.places` (addresses) and
:mod:`kotae.privacy.names` (person names, SudachiPy's dictionary), and keeps non-overlapping
findings: the longest span wins, then the more specific kind (:data:`PII_KINDS` order).
Offsets are those of the text given (full-width digits and ＠ are matched, never rewritten).

``mask_pii`` replaces each finding by its kind's tag (``[EMAIL]``); a :class:`Masker`
numbers the values (``[EMAIL_1]``, ``[PERSON_2]``), gives the same value the same
placeholder in every call, and ``unmask`` puts the originals back into a model's reply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kotae.errors import QueryError
from kotae.privacy.names import find_persons
from kotae.privacy.numbers import (
    Span,
    find_emails,
    find_id_numbers,
    find_phones,
    find_postal_codes,
    fold,
)
from kotae.privacy.places import find_addresses

__all__ = ["PII_KINDS", "Finding", "Masker", "find_pii", "mask_pii"]

# The most specific first: on spans of equal length, the earlier kind wins.
PII_KINDS: tuple[str, ...] = (
    "email",
    "credit_card",
    "my_number",
    "corporate_number",
    "phone",
    "postal_code",
    "address",
    "person",
)
_RANK = {kind: rank for rank, kind in enumerate(PII_KINDS)}

# Each recognizer reads the folded text, except names (Sudachi reads the text as written).
_FOLDED: tuple[tuple[frozenset[str], Callable[[str], Iterator[Span]]], ...] = (
    (frozenset({"email"}), find_emails),
    (frozenset({"my_number", "corporate_number", "credit_card"}), find_id_numbers),
    (frozenset({"phone"}), find_phones),
    (frozenset({"postal_code"}), find_postal_codes),
    (frozenset({"address"}), find_addresses),
)


@dataclass(frozen=True)
class Finding:
    """One piece of personal information: its kind, where it is, and its text."""

    kind: str  # one of PII_KINDS
    start: int
    end: int
    text: str


def _kinds(kinds: Iterable[str] | None) -> frozenset[str]:
    if kinds is None:
        return frozenset(PII_KINDS)
    chosen = frozenset(kinds)
    unknown = sorted(chosen - set(PII_KINDS))
    if unknown:
        known = ", ".join(PII_KINDS)
        raise QueryError(
            f"unknown PII kind {', '.join(unknown)}: use {known}",
            message_ja=f"個人情報の種類 {', '.join(unknown)} はありません（{known} から選択）",
        )
    return chosen


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[Finding]:
    """The PII in ``text`` (of ``kinds``, default all), sorted by position, non-overlapping:
    the longest span wins, then the most specific kind."""
    wanted = _kinds(kinds)
    folded = fold(text)
    spans: list[Span] = []
    for produces, recognize in _FOLDED:
        if produces & wanted:
            spans.extend(s for s in recognize(folded) if s[0] in wanted)
    if "person" in wanted:
        spans.extend(find_persons(text))
    chosen: list[Span] = []
    for span in sorted(set(spans), key=lambda s: (s[1] - s[2], _RANK[s[0]], s[1])):
        if all(span[2] <= c[1] or span[1] >= c[2] for c in chosen):
            chosen.append(span)
    chosen.sort(key=lambda s: s[1])
    return [Finding(kind, start, end, text[start:end]) for kind, start, end in chosen]


def tag(kind: str) -> str:
    """The tag that replaces a finding of ``kind``: ``[EMAIL]``, ``[MY_NUMBER]``."""
    return f"[{kind.upper()}]"


def _replace(text: str, findings: list[Finding], placeholder: Callable[[Finding], str]) -> str:
    parts, at = [], 0
    for f in findings:
        parts += [text[at : f.start], placeholder(f)]
        at = f.end
    parts.append(text[at:])
    return "".join(parts)


def mask_pii(text: str) -> str:
    """``text`` with each finding replaced by its kind's tag (``[EMAIL]``, ``[PERSON]``)."""
    return _replace(text, find_pii(text), lambda f: tag(f.kind))


_PLACEHOLDER = re.compile(r"[\[［]\s*([A-ZＡ-Ｚ_＿]+?)[_＿]([0-9０-９]+)\s*[\]］]")


class Masker:
    """Reversible masking: ``mask`` replaces each value by a numbered placeholder
    (``[EMAIL_1]``, ``[PERSON_2]``; the same value, the same placeholder, in every call on
    this Masker), ``unmask`` restores the values in a text such as a model's reply (full-width
    brackets ``［EMAIL_1］`` too). Values are compared after folding (``０３`` = ``03``)."""

    def __init__(self, kinds: Iterable[str] | None = None) -> None:
        self.kinds = _kinds(kinds)
        self._by_value: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def _placeholder(self, finding: Finding) -> str:
        key = (finding.kind, fold(finding.text))
        name = self._by_value.get(key)
        if name is None:
            number = self._counts.get(finding.kind, 0) + 1
            self._counts[finding.kind] = number
            name = f"{finding.kind.upper()}_{number}"
            self._by_value[key] = name
            self._originals[name] = finding.text
        return f"[{name}]"

    def mask(self, text: str) -> str:
        return _replace(text, find_pii(text, self.kinds), self._placeholder)

    def unmask(self, text: str) -> str:
        def restore(m: re.Match[str]) -> str:
            kind = unicodedata.normalize("NFKC", m.group(1))
            number = unicodedata.normalize("NFKC", m.group(2))
            return self._originals.get(f"{kind}_{int(number)}", m.group())

        return _PLACEHOLDER.sub(restore, text)

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder (without brackets) → the original value, in the order first seen."""
        return dict(self._originals)
