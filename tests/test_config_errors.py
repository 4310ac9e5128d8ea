"""Settings that explain themselves: errors name their real source (a ``KOTAE_*`` variable,
a ``--config`` file, ``kotae.toml`` and the key in it) with a "did you mean", and
``kotae config show`` prints valid TOML with only the secrets masked.

The library is tested in-process (real files, the real environment through monkeypatch);
the CLI in real subprocesses, on a real knowledge base.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kotae import toml_out
from kotae.config import Settings, hide_secrets, is_secret_key, load_settings
from kotae.errors import ConfigError
from kotae.evaluation.runner import load_config
from tests.test_cli import kotae


def _error(toml_path: Path | None = None, **overrides: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(toml_path, **overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _toml(tmp_path: Path, text: str, name: str = "kotae.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# --- an invalid setting names its real source -------------------------------------------


def test_an_invalid_environment_variable_is_named_not_kotae_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _toml(tmp_path, '[retrieval]\nmode = "lexical"\n')
    monkeypatch.setenv("KOTAE_RETRIEVAL__MODE", "foo")
    message = _error(config)
    assert message.startswith("KOTAE_RETRIEVAL__MODE: ")
    assert '"foo"' in message and "hybrid" in message
    assert "kotae.toml" not in message


def test_an_invalid_kotae_toml_value_names_the_file_and_the_key(tmp_path: Path) -> None:
    config = _toml(tmp_path, '[retrieval]\nmode = "foo"\n[answer]\nsources = 0\n')
    message = _error(config)
    assert message.startswith(f"{config}: [")
    assert f"{config}: [retrieval] mode: " in message and '"foo"' in message
    assert f"{config}: [answer] sources: " in message


def test_the_environment_wins_only_where_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid variable next to an invalid kotae.toml key: the file is named, not the variable."""
    config = _toml(tmp_path, "[retrieval]\ncandidates = 0\n")
    monkeypatch.setenv("KOTAE_RETRIEVAL__MODE", "lexical")
    message = _error(config)
    assert message.startswith(f"{config}: [retrieval] candidates: ")
    assert "KOTAE_" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[retrieval]\nmod = "lexical"\n', '[retrieval] mod: unknown key; did you mean "mode"?'),
        (
            '[retreival]\nmode = "lexical"\n',
            "[retreival]: unknown section; did you mean [retrieval]?",
        ),
        ("querylog = false\n", 'querylog: unknown setting; did you mean "query_log"?'),
        (
            "[eval.price]\ngpu_hours = 2\n",
            '[eval.price] gpu_hours: unknown key; did you mean "gpu_hour"?',
        ),
    ],
)
def test_unknown_keys_in_kotae_toml_get_a_suggestion(
    tmp_path: Path, text: str, expected: str
) -> None:
    config = _toml(tmp_path, text)
    assert _error(config) == f"{config}: {expected}"


def test_unknown_environment_keys_get_a_suggestion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOTAE_RETRIEVAL__CANDIDATE", "50")
    assert _error() == (
        'KOTAE_RETRIEVAL__CANDIDATE: unknown key "candidate"; '
        "did you mean KOTAE_RETRIEVAL__CANDIDATES?"
    )


def test_a_misspelt_environment_section_is_reported_not_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOTAE_RETREIVAL__CANDIDATES", "50")
    assert _error() == (
        'KOTAE_RETREIVAL__CANDIDATES: unknown section "retreival"; '
        "did you mean KOTAE_RETRIEVAL__CANDIDATES?"
    )


def test_other_kotae_variables_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KOTAE_KB", "KOTAE_SHARED", "KOTAE_REQUIRE_INTEGRATION", "KOTAE_NO_BROWSER"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("KOTAE_LANG", "ja")
    monkeypatch.setenv("KOTAE_LLAMA_CONVERTER", "/opt/convert.py")
    monkeypatch.setenv("KOTAE_PLUGIN__PATH", "/opt/x")  # not a section, not like one
    monkeypatch.setenv("KOTAE_RETRIEVAL__CANDIDATES", "50")
    assert load_settings().retrieval.candidates == 50


def test_a_config_file_error_names_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    _toml(kb, '[retrieval]\nmode = "lexical"\n')
    bad = _toml(tmp_path, '[answer]\nmode = "generat"\n[eval]\nnmae = "x"\n', "bad.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(kb, bad)
    message = str(caught.value)
    assert f"{bad}: [answer] mode: " in message and '"generat"' in message
    assert f'{bad}: [eval] nmae: unknown key; did you mean "name"?' in message
    assert "kotae.toml" not in message
    monkeypatch.setenv("KOTAE_ANSWER__SOURCES", "0")
    good = _toml(tmp_path, '[answer]\nmode = "extractive"\n', "good.toml")
    with pytest.raises(ConfigError, match=r"^KOTAE_ANSWER__SOURCES: "):
        load_config(kb, good)


# --- config show: only secrets masked, valid TOML --------------------------------------


@pytest.mark.parametrize(
    "key", ["api_key", "apiKey", "access_token", "client_secret", "db_password", "Authorization"]
)
def test_secret_keys_are_masked(key: str) -> None:
    assert is_secret_key(key)
    assert hide_secrets({"generator": {key: "s3cr3t"}}) == {"generator": {key: "***"}}


@pytest.mark.parametrize(
    "key", ["max_tokens", "overlap_tokens", "context_tokens", "api_key_env", "keep_days", "model"]
)
def test_other_keys_are_shown(key: str) -> None:
    assert not is_secret_key(key)
    assert hide_secrets({"answer": {key: 512}}) == {"answer": {key: 512}}


def test_only_the_password_of_a_url_is_masked() -> None:
    shown = hide_secrets({"base_url": "https://alice:hunter2@llm.example/v1?api_key=k1&top=3"})
    assert shown == {"base_url": "https://alice:***@llm.example/v1?api_key=***&top=3"}
    assert hide_secrets("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"


_SCALARS = (
    st.text()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _DATA, max_size=5))
def test_toml_output_reads_back_as_the_same_data(data: dict[str, Any]) -> None:
    assert tomllib.loads(toml_out.dumps(data)) == data


def test_toml_output_leaves_out_unset_values() -> None:
    text = toml_out.dumps({"a": None, "t": {"b": None, "c": math.inf}})
    assert tomllib.loads(text) == {"t": {"c": math.inf}}
    assert "# a: unset" in text


GENERATOR = """
[generator]
backend = "openai"
base_url = "http://alice:hunter2@127.0.0.1:9/v1"
model = "qwen \\"7b\\"\\n 日本語"
api_key_env = "MY_KEY"
api_key = "sk-should-not-be-here"
headers = { Authorization = "Bearer tok-123", "X-Trace" = "on" }

[eval.price]
gpu_hour = 2.5

[log]
keep_days = 30
"""


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def test_config_show_prints_valid_toml_with_only_secrets_masked(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb), "--use-case", "faq-support").returncode == 0
    config = kb / "kotae.toml"
    config.write_text(config.read_text("utf-8") + GENERATOR, "utf-8")
    env = {"KOTAE_ANSWER__MAX_TOKENS": "700"}
    shown = kotae("config", "show", kb=kb, env=env)
    assert shown.returncode == 0, shown.stderr
    data = tomllib.loads(shown.stdout)
    for secret in ("hunter2", "sk-should", "tok-123"):
        assert secret not in shown.stdout
    generator = data["generator"]
    assert generator["api_key"] == "***" and generator["headers"]["Authorization"] == "***"
    assert generator["base_url"] == "http://alice:***@127.0.0.1:9/v1"
    # every non-secret value reads back as it is: counts of tokens, prices, KPIs, unset values
    assert data["answer"]["max_tokens"] == 700 and data["chunking"]["max_tokens"] == 512
    with pytest.MonkeyPatch.context() as env_patch:
        env_patch.setenv("KOTAE_ANSWER__MAX_TOKENS", "700")
        expected = _without_none(hide_secrets(load_settings(config).model_dump()))
    assert data == expected
    assert len(data["use_case"]["kpis"]) == 6 and data["eval"]["price"]["gpu_hour"] == 2.5
    Settings.model_validate(data)  # and it is a valid kotae.toml
    as_json = json.loads(kotae("config", "show", "--json", kb=kb, env=env).stdout)
    assert as_json["answer"]["max_tokens"] == 700 and as_json["generator"]["api_key"] == "***"


def test_config_show_fails_outside_a_knowledge_base(tmp_path: Path) -> None:
    shown = kotae("config", "show", kb=tmp_path / "nowhere")
    assert shown.returncode == 2 and shown.stdout == ""
    assert shown.stderr.count("\n") == 1 and "no knowledge base in" in shown.stderr


# --- through the CLI: one line, exit 2 --------------------------------------------------


def test_cli_settings_errors_are_one_line_naming_the_source(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    assert kotae("init", str(kb)).returncode == 0
    cases = [
        (("status",), {"KOTAE_RETRIEVAL__MODE": "foo"}, "KOTAE_RETRIEVAL__MODE: "),
        (("search", "経費"), {"KOTAE_RETREIVAL__MODE": "dense"}, "did you mean KOTAE_RETRIEVAL"),
    ]
    for args, env, expected in cases:
        result = kotae(*args, kb=kb, env=env)
        assert result.returncode == 2, result.stdout
        assert result.stderr.count("\n") == 1 and expected in result.stderr
        assert result.stdout == ""
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "q1", "question": "経費"}\n', "utf-8")
    bad = _toml(tmp_path, '[retrieval]\nmode = "foo"\n', "bad.toml")
    result = kotae("eval", "run", "--set", str(questions), "--config", str(bad), kb=kb)
    assert result.returncode == 2
    assert result.stderr == f"kotae: error: {bad}: [retrieval] mode: " + (
        "Input should be 'lexical', 'dense' or 'hybrid', got \"foo\"\n"
    )


def test_a_misspelt_backend_option_gets_a_suggestion(tmp_path: Path) -> None:
    """Backend sections take the backend's own options, checked when the backend is built."""
    from kotae.backends.generators import create_generator

    config = _toml(tmp_path, '[generator]\nbackend = "openai"\nmodel = "m"\ntimeout = 5\n')
    generator = load_settings(config).generator
    with pytest.raises(ConfigError) as caught:
        create_generator(generator.backend, generator.options())
    assert 'timeout: Extra inputs are not permitted (did you mean "timeout_s"?)' in str(
        caught.value
    )


def test_a_bench_config_error_names_the_users_file(tmp_path: Path) -> None:
    from kotae.bench import run_retrieval_bench

    data = tmp_path / "set"
    data.mkdir()
    (data / "corpus.jsonl").write_text('{"id": "d1", "title": "経費", "text": "上限"}\n', "utf-8")
    (data / "queries.jsonl").write_text('{"id": "q1", "text": "上限"}\n', "utf-8")
    (data / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", "utf-8")
    bad = _toml(tmp_path, "[retrieval]\ncandidate = 50\n", "e5.toml")
    with pytest.raises(ConfigError) as caught:
        run_retrieval_bench(data, config=bad)
    assert (
        str(caught.value)
        == f'{bad}: [retrieval] candidate: unknown key; did you mean "candidates"?'
    )
