"""One language and script detector (kotae.text.language), used everywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kotae import answer, extractive
from kotae.bench import dataset_language
from kotae.documents.text import join_wrapped_lines
from kotae.text import tokenize
from kotae.text.language import detect_language, has_japanese, majority_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("経費の申請期限は？", "ja"),
        ("カタカナだけ", "ja"),
        ("API の rate limit", "ja"),
        ("人々", "ja"),  # 々 is part of the script
        ("佐々木〆切", "ja"),
        ("ㇰㇱ", "ja"),  # katakana phonetic extensions
        ("﨑", "ja"),  # a compatibility ideograph (U+FA11)
        ("What is the deadline?", "en"),
        ("ＡＢＣ１２３", "en"),  # full-width Latin is not Japanese script
        ("「」、。", "en"),  # nor is punctuation alone
        ("", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected
    assert dataset_language([text]) == expected


def test_a_data_set_is_in_the_language_of_most_of_its_questions() -> None:
    assert majority_language(["富士山の高さは?", "What is VPN?", "VPNとは?"]) == "ja"
    assert majority_language(["What is VPN?", "Who wrote it?", "東京は?"]) == "en"
    assert majority_language(iter(["a", "あ"])) == "ja"  # a tie is Japanese
    assert majority_language([]) == "ja"


def test_the_pipeline_uses_the_one_detector() -> None:
    assert answer.detect_language is detect_language
    assert extractive.has_japanese is has_japanese


japanese_or_not = st.text(
    alphabet=st.characters(min_codepoint=0x3000, max_codepoint=0xFFFF) | st.sampled_from("aZ1 ?"),
    max_size=6,
)


@given(japanese_or_not)
def test_the_detector_and_the_tokenizer_agree_on_what_is_japanese(text: str) -> None:
    """Text the tokenizer reads as CJK is exactly the text detected as Japanese."""
    assert detect_language(text) == dataset_language([text])
    assert bool(tokenize._HAS_CJK.search(text)) == has_japanese(text)
    assert "".join(tokenize._CJK_RUN.findall(text)) == "".join(
        ch for ch in text if has_japanese(ch)
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("規程は", "﨑の"),  # a compatibility ideograph
        ("ｶﾀｶﾅの", "説明"),  # half-width katakana
        ("人々の", "ㇰ音"),  # katakana phonetic extension
        ("申請は、", "「期限」"),  # Japanese punctuation
    ],
)
def test_wrapped_japanese_lines_join_without_a_space_everywhere(first: str, second: str) -> None:
    """The loaders and the evidence display read Japanese text with the same ranges."""
    assert join_wrapped_lines([first, second]) == first + second
    assert answer.one_line(f"{first}\n{second}") == first + second
    assert join_wrapped_lines(["Leave", second]) == f"Leave {second}"
    assert answer.one_line(f"{first}\nLeave") == f"{first} Leave"
