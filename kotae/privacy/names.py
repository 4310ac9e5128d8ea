"""Person names, from SudachiPy's dictionary (名詞,固有名詞,人名,姓/名/一般) and a few cues.

Japanese: a surname followed by a given name (山田太郎, 山田 太郎), a surname or a given name
followed by an honorific or a title (佐藤さん, 鈴木様, 田中先生, 伊藤部長, 健太くん: the span is
the name, without the honorific), a surname after a cue such as 氏名： or 担当は, and katakana
names joined by ・ (ジョン・スミス). A surname alone (中村です) is not reported: too many
surnames are also places and companies.

English: Mr./Mrs./Ms./Dr./Prof. and the capitalised words after it, and two or three
capitalised words when Sudachi knows the first or the last as a person's name (Mary
Johnson, Kevin Brown, Takeshi Yamada). Names Sudachi does not know, without a title,
are missed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

_HONORIFICS = frozenset(
    [
        "さん",
        "様",
        "さま",
        "氏",
        "殿",
        "君",
        "くん",
        "ちゃん",
        "先生",
        "教授",
        "准教授",
        "博士",
        "医師",
        "弁護士",
        "議員",
        "社長",
        "副社長",
        "会長",
        "専務",
        "常務",
        "取締役",
        "部長",
        "次長",
        "課長",
        "係長",
        "主任",
        "室長",
        "所長",
        "局長",
        "支店長",
        "店長",
        "工場長",
        "担当",
        "代表",
    ]
)
_GIVEN_NAME_HONORIFICS = frozenset(["さん", "様", "さま", "くん", "君", "ちゃん", "殿"])
_CUE = re.compile(
    r"(?:氏名|名前|お名前|担当者|担当|宛名|申請者|作成者|承認者|依頼者|契約者|著者)"
    r"(?:は|：|:|\s)\s*$"
)
_TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+"
    r"(?P<name>[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?(?:[ \t][A-Z][a-z]+(?:[-'][A-Z][a-z]+)?){0,2})"
)
_ASCII_WORD = re.compile(r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?")
_NOT_NAMES = frozenset(
    [
        "The",
        "This",
        "That",
        "These",
        "Those",
        "And",
        "But",
        "Or",
        "For",
        "With",
        "From",
        "Please",
        "Dear",
        "Hello",
        "Hi",
        "Thanks",
        "Contact",
        "Call",
        "Email",
        "Ask",
        "Meet",
        "Inc",
        "Corp",
        "Ltd",
        "Co",
        "LLC",
        "Company",
        "University",
        "College",
        "School",
        "Hospital",
        "Street",
        "Road",
        "Avenue",
        "Station",
        "City",
        "Park",
        "Bank",
        "Group",
        "Team",
        "Department",
        "Office",
        "Center",
        "Centre",
        "North",
        "South",
        "East",
        "West",
        "New",
        "Old",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Prof",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Japan",
        "Tokyo",
        "Osaka",
        "Kyoto",
        "English",
        "Japanese",
        "Chinese",
        "American",
    ]
)
_COMPANY_WORDS = frozenset(["Co", "Inc", "Corp", "Corporation", "Ltd", "LLC", "Company", "Group"])
_HAS_CANDIDATE = re.compile(r"[\u3041-\u30ff\u4e00-\u9fff]|[A-Z][a-z]")
_MAX_SEGMENT = 8000  # characters given to Sudachi at once (it refuses inputs over ~49 KB)


class _Tokenizers(threading.local):
    tokenizer: Any = None


_local = _Tokenizers()


def _tokenize(text: str) -> Any:
    if _local.tokenizer is None:
        from sudachipy import Dictionary, SplitMode

        _local.tokenizer = Dictionary(dict="core").tokenizer(SplitMode.C)
    return _local.tokenizer.tokenize(text)


def _segments(text: str) -> Iterator[tuple[int, str]]:
    """(offset, piece): lines, long lines cut after 。 or at the segment size."""
    offset = 0
    for line in text.split("\n"):
        start = 0
        while len(line) - start > _MAX_SEGMENT:
            cut = line.rfind("。", start, start + _MAX_SEGMENT) + 1 or start + _MAX_SEGMENT
            yield offset + start, line[start:cut]
            start = cut
        yield offset + start, line[start:]
        offset += len(line) + 1


def _kind(m: Any) -> str | None:
    """姓, 名 or 一般 for a person-name morpheme, else None."""
    pos = m.part_of_speech()
    if pos[1] == "固有名詞" and pos[2] == "人名":
        return str(pos[3])
    return None


def _is_ascii_word(surface: str) -> bool:
    return bool(_ASCII_WORD.fullmatch(surface)) and surface not in _NOT_NAMES


def _next(ms: list[Any], i: int, joiners: str = " \u3000") -> int | None:
    """The index of the morpheme after ``i``, skipping one joiner (a space, ・)."""
    j = i + 1
    if j < len(ms) and ms[j].surface() in joiners:
        j += 1
    return j if j < len(ms) else None


def _japanese(ms: list[Any], i: int, line: str) -> int | None:
    """The index of the last morpheme of a Japanese name starting at ``i``, if one does."""
    kind, surface = _kind(ms[i]), ms[i].surface()
    if kind is None or surface.isascii():
        return None
    j = _next(ms, i, " \u3000・")
    after = ms[j].surface() if j is not None else ""
    if kind == "姓":
        if j is not None and _kind(ms[j]) in ("名", "一般") and not after.isascii():
            return j
        if after in _HONORIFICS or (i + 1 < len(ms) and ms[i + 1].surface() in _HONORIFICS):
            return i
        if _CUE.search(line[: ms[i].begin()]):
            return i
        return None
    if kind == "一般" and j is not None and _kind(ms[j]) is not None and not after.isascii():
        return j  # ジョン・スミス
    nxt = ms[i + 1].surface() if i + 1 < len(ms) else ""
    if nxt in _GIVEN_NAME_HONORIFICS:
        return i  # 健太くん, ジョンさん
    return None


def _english(ms: list[Any], i: int) -> tuple[int, int] | None:
    """The first and last morphemes of an English name in the run of capitalised words
    starting at ``i`` (at most three): Sudachi must know one of its words as a name."""
    if not _is_ascii_word(ms[i].surface()):
        return None
    words = [i]
    j = _next(ms, i, " ")
    while j is not None and len(words) < 3 and _is_ascii_word(ms[j].surface()):
        if ms[j - 1].surface() != " ":
            break
        words.append(j)
        j = _next(ms, j, " ")
    if j is not None and ms[j].surface().split(".")[0] in _COMPANY_WORDS:
        return None  # Sakura Precision Co., Ltd.
    known = [_kind(ms[w]) is not None for w in words]
    if len(words) == 3 and known[0]:
        return words[0], words[2]  # Mary Ann Smith
    if len(words) == 3:
        words, known = words[1:], known[1:]  # Contact Elizabeth Jones
    if len(words) == 2 and any(known):
        return words[0], words[1]
    return None


def find_persons(text: str) -> Iterator[tuple[str, int, int]]:
    for offset, segment in _segments(text):
        if not _HAS_CANDIDATE.search(segment):
            continue
        ms = list(_tokenize(segment))
        i = 0
        while i < len(ms):
            last = _japanese(ms, i, segment)
            found = (i, last) if last is not None else _english(ms, i)
            if found is None:
                i += 1
                continue
            yield "person", offset + ms[found[0]].begin(), offset + ms[found[1]].end()
            i = found[1] + 1
    for m in _TITLE.finditer(text):
        yield "person", m.start("name"), m.end("name")
