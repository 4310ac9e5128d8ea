"""One reader of JSON objects in model replies, shared by the judge and synth."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kotae.evaluation import judge, synth
from kotae.jsonreply import first_json_object, json_objects

NESTED = {"question": "期限は？", "answer": "翌月10日", "meta": {"page": 3, "tags": ["a"]}}


def test_nested_braces_and_braces_inside_strings() -> None:
    reply = '{"answer": "use {placeholders} like }", "meta": {"deep": {"x": 1}}}'
    assert first_json_object(reply) == json.loads(reply)
    assert first_json_object(json.dumps(NESTED, ensure_ascii=False)) == NESTED


def test_code_fences_and_prose_around_it() -> None:
    body = json.dumps(NESTED, ensure_ascii=False)
    reply = f"はい、こちらです。\n```json\n{body}\n```\n以上です。"
    assert first_json_object(reply) == NESTED
    assert first_json_object('```JSON\n{"a": 1}\n```') == {"a": 1}


def test_several_objects_and_broken_ones_first_valid_wins() -> None:
    reply = 'Draft: {"a": 1,} then {"b": {"c": 2}} and {"d": 3}'
    assert list(json_objects(reply)) == [{"b": {"c": 2}}, {"d": 3}]
    assert first_json_object(reply) == {"b": {"c": 2}}
    assert first_json_object("no json {here") is None
    assert first_json_object("[1, 2] {") is None


def test_judge_and_synth_read_replies_with_the_same_function() -> None:
    assert synth.first_json_object is first_json_object
    assert judge.json_objects is json_objects


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=4),
    st.text(alphabet=st.characters(blacklist_characters="{"), max_size=30),
    st.text(max_size=30),
    st.booleans(),
)
def test_any_object_is_found_in_prose_and_fences(
    data: dict[str, Any], before: str, after: str, fenced: bool
) -> None:
    body = json.dumps(data, ensure_ascii=False, indent=2 if fenced else None)
    reply = f"{before}\n```json\n{body}\n```\n{after}" if fenced else f"{before}{body}{after}"
    assert first_json_object(reply) == data
