"""Answer metrics against values computed by hand from the reference definitions."""

from __future__ import annotations

import pytest

from kotae.evaluation.answer_metrics import (
    answer_in_evidence,
    char_f1,
    jglue_normalize,
    squad_em,
    squad_f1,
    squad_normalize,
)


def test_squad_normalization_is_the_official_one() -> None:
    assert squad_normalize("The  Cat, sat!") == "cat sat"
    assert squad_normalize("An apple a day") == "apple day"
    assert squad_normalize("bandana theory") == "bandana theory"  # articles as words only
    assert squad_normalize("well-known") == "wellknown"  # punctuation removed, not spaced
    assert squad_normalize("“quoted”") == "“quoted”"  # only ASCII punctuation


def test_squad_exact_match() -> None:
    assert squad_em("The Cat!", ["a cat"]) == 1.0
    assert squad_em("Denver", ["Denver Broncos", "Broncos"]) == 0.0
    assert squad_em("broncos.", ["Denver Broncos", "Broncos"]) == 1.0
    assert squad_em("“cat”", ["cat"]) == 0.0


def test_squad_token_f1() -> None:
    # pred tokens cat sat on mat (articles removed), gold cat on mat: P 3/4, R 1
    assert squad_f1("the cat sat on the mat", ["cat on mat"]) == pytest.approx(6 / 7)
    assert squad_f1("Denver", ["Denver Broncos"]) == pytest.approx(2 / 3)
    assert squad_f1("Denver Broncos", ["Broncos", "Denver Broncos"]) == 1.0  # max over golds
    assert squad_f1("well known", ["well-known"]) == 0.0
    assert squad_f1("", ["cat"]) == 0.0
    # a repeated token counts per occurrence: pred x x y, gold x y -> common 2, P 2/3, R 1
    assert squad_f1("x x y", ["x y"]) == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))


def test_jglue_normalization_keeps_punctuation_and_strips_a_final_full_stop() -> None:
    assert jglue_normalize("東京都。") == "東京都"
    assert jglue_normalize("  New   York  ") == "new york"
    assert jglue_normalize("「東京」、") == "「東京」、"


def test_character_f1() -> None:
    assert char_f1("東京都", ["東京"]) == pytest.approx(0.8)  # P 2/3, R 1
    assert char_f1("東京。", ["東京"]) == 1.0
    assert char_f1("「東京」", ["東京"]) == pytest.approx(2 / 3)  # P 1/2, R 1
    assert char_f1("東 京", ["東京"]) == pytest.approx(0.8)  # the space is a character
    assert char_f1("大阪", ["東京"]) == 0.0
    assert char_f1("東京", ["大阪", "東京タワー"]) == pytest.approx(2 * 1 * 0.4 / 1.4)
    assert char_f1("", [""]) == 1.0
    assert char_f1("何か", ["", "。"]) == 0.0  # no usable gold: compared with the empty answer


def test_answer_in_evidence() -> None:
    evidence = ["上限は１泊12,000円である。", "The limit is 600 Requests per minute."]
    assert answer_in_evidence(evidence, ["12,000円"], k=1)  # NFKC on both sides
    assert answer_in_evidence(evidence, ["１２，０００ 円"], k=1)  # whitespace removed
    assert not answer_in_evidence(evidence, ["600 requests"], k=1)
    assert answer_in_evidence(evidence, ["600 requests"], k=2)  # case-insensitive
    assert answer_in_evidence(evidence, ["nothing", "600requests"], k=3)
    assert not answer_in_evidence(evidence, ["", "  "], k=2)  # empty golds never match
    assert not answer_in_evidence([], ["12,000円"], k=3)
