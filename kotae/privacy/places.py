"""Japanese addresses: a prefecture (the 47 names) and a municipality (市/区/町/村, after a
郡 if any, a ward after a designated city), then optionally the town, the block numbers
(1丁目2番3号, 1-2-3, 二丁目5番地) and a building with its floor or room. A municipality
without a prefecture counts only with block numbers (渋谷区神南1-2-3). Reads the folded text
(see :func:`kotae.privacy.numbers.fold`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

PREFECTURES = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
]
PREFECTURE_PATTERN = "|".join(sorted(PREFECTURES, key=len, reverse=True))

_CHARS = r"[\u4e00-\u9fff々〆ヵヶ\u30a1-\u30faー]"  # kanji and katakana: place names
_HIRAGANA_CITIES = (
    "さいたま|つくばみらい|つくば|いわき|ひたちなか|かすみがうら|みどり|あきる野|いなべ"
)
_MUNICIPALITY = (
    rf"(?:{_CHARS}{{1,5}}郡)?(?:{_HIRAGANA_CITIES}|{_CHARS}{{1,6}}?)[市区町村]"
    rf"(?:{_CHARS}{{1,4}}?区)?"
)
# Kanji numerals count only before a unit (一丁目, 三番地): 北一条 is a town name.
_NUMBER = r"(?:\d{1,5}|[一二三四五六七八九十百]{1,4}(?=丁目|番|号))"
_BLOCKS = rf"{_NUMBER}(?:(?:丁目|番地|番|号)?(?:-|の)?{_NUMBER})*(?:丁目|番地|番|号)?"
_BUILDING_WORDS = (
    "ビル|マンション|ハイツ|タワー|レジデンス|コーポ|荘|ハウス|プラザ|ヒルズ|ハイム|館"
)
_BUILDING = (
    rf"(?:[ \u3000]?(?:{_CHARS}|[A-Za-zの]){{1,15}}?(?:{_BUILDING_WORDS})"
    rf"(?:[ \u3000]?(?:\d{{1,3}}(?:階|F)|\d{{1,4}}号室?))?"
    rf"|[ \u3000]?\d{{1,4}}号室)?"
)
_HIRAGANA = r"[\u3041-\u3096]"
# A town: place-name characters, hiragana too (みなとみらい) but not starting with a particle.
_TOWN = rf"(?:(?:{_CHARS}|(?![はがをにでとへもやの]){_HIRAGANA})(?:{_CHARS}|{_HIRAGANA}){{0,11}}?)?"
_WITH_PREFECTURE = re.compile(
    rf"(?:{PREFECTURE_PATTERN})(?:{_MUNICIPALITY}(?:{_TOWN}{_BLOCKS}{_BUILDING})?)"
)
_WITHOUT_PREFECTURE = re.compile(rf"{_MUNICIPALITY}{_TOWN}(?P<blocks>{_BLOCKS}){_BUILDING}")


def _blocks_look_like_an_address(blocks: str) -> bool:
    """1丁目, 5番地 or 1-2(-3): not a bare number (第3区 5名, 中央区 2024)."""
    return "丁目" in blocks or "番" in blocks or bool(re.search(r"\d-\d", blocks))


def _clean_end(folded: str, start: int, end: int) -> int:
    """A trailing の or - belongs to the sentence, not the address."""
    while end > start and folded[end - 1] in "の-":
        end -= 1
    return end


def find_addresses(folded: str) -> Iterator[tuple[str, int, int]]:
    taken: list[tuple[int, int]] = []
    for m in _WITH_PREFECTURE.finditer(folded):
        end = _clean_end(folded, m.start(), m.end())
        taken.append((m.start(), end))
        yield "address", m.start(), end
    for m in _WITHOUT_PREFECTURE.finditer(folded):
        if not _blocks_look_like_an_address(m.group("blocks")):
            continue
        if any(s <= m.start() < e for s, e in taken):
            continue
        if m.end() < len(folded) and folded[m.end()].isdigit():
            continue
        yield "address", m.start(), _clean_end(folded, m.start(), m.end())
