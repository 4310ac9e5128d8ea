"""Governance (issue 12, item 6): each EU AI Act risk class is reached by the answers that
should reach it, obligations come with their citations, every question and rule of the data
file has a citation and both languages, and ``kotae governance assess`` writes Markdown or
HTML in Japanese or English, with one line and exit 2 on bad input."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from kotae.cli import governance as governance_cli
from kotae.cli.main import main
from kotae.errors import ConfigError
from kotae.planning import governance
from kotae.planning.governance import Answer
from tests.conftest import REPO

TEMPLATE = REPO / "samples" / "governance" / "knowledge-search.toml"
TODAY = date(2026, 12, 2)


def base_answers() -> dict[str, Answer]:
    """A system that triggers nothing: every yes/no false, every choice its "none" option."""
    values: dict[str, Answer] = {}
    for question in governance.load_questionnaire().questions:
        values[question.id] = False if question.type == "yes_no" else question.options[0]
    values["eu_scope"] = True
    values["role"] = "deployer"
    return values


def assess(**changes: Answer) -> governance.Assessment:
    return governance.assess({**base_answers(), **changes}, today=TODAY)


def ids(rules: tuple[governance.Rule, ...]) -> set[str]:
    return {rule.id for rule in rules}


def cites(rules: tuple[governance.Rule, ...]) -> set[str]:
    return {rule.citation.en for rule in rules}


# -- the risk classes -----------------------------------------------------------------------


def test_emotion_recognition_at_work_is_prohibited() -> None:
    result = assess(emotion_recognition="workplace_education", interacts_with_people=True)
    assert result.risk == "prohibited"
    assert result.risk_reasons[0].citation.en == "Art. 5(1)(f)"
    assert "eu-stop-prohibited" in ids(result.obligations)


def test_emotion_recognition_at_work_for_safety_is_high_risk_not_prohibited() -> None:
    result = assess(emotion_recognition="workplace_education", emotion_medical_safety=True)
    assert result.risk == "high"
    assert "Art. 6(2), Annex III point 1(c)" in cites(result.risk_reasons)
    assert "Art. 50(3)" in cites(result.obligations)


def test_social_scoring_is_prohibited() -> None:
    result = assess(social_scoring=True)
    assert result.risk == "prohibited"
    assert "Art. 5(1)(c)" in cites(result.risk_reasons)


def test_recruitment_screening_is_high_risk_with_deployer_obligations() -> None:
    result = assess(hr_use="recruitment", interacts_with_people=True)
    assert result.risk == "high"
    assert result.risk_reasons[0].citation.en == "Art. 6(2), Annex III point 4(a)"
    # the high class first, the transparency reason kept
    assert [r.risk for r in result.risk_reasons] == ["high", "limited"]
    wanted = {"Art. 4", "Art. 26(1)", "Art. 26(2)", "Art. 26(5)", "Art. 26(6)", "Art. 26(7)"}
    assert wanted <= cites(result.obligations)
    assert "Art. 26(11)" in cites(result.obligations)
    assert "Art. 25(1)" in cites(result.obligations)  # a deployer that rebrands becomes provider
    assert "eu-27-fria" not in ids(result.obligations)  # a private employer, not credit


def test_worker_decisions_are_high_risk() -> None:
    result = assess(hr_use="work_decisions")
    assert result.risk == "high"
    assert "Art. 6(2), Annex III point 4(b)" in cites(result.risk_reasons)


def test_art_6_3_exception_lowers_the_class_and_asks_for_documentation() -> None:
    result = assess(hr_use="recruitment", art6_3_exception=True)
    assert result.risk == "minimal"
    assert "eu-art6-3-documentation" in ids(result.obligations)
    assert not any(c.startswith("Art. 26") for c in cites(result.obligations))


def test_credit_scoring_by_a_private_bank_needs_a_fria() -> None:
    result = assess(essential_services="credit", personal_data=True)
    assert result.risk == "high"
    assert {"Art. 27(1), Art. 27(3)", "Art. 26(9)", "Art. 86(1)"} <= cites(result.obligations)


def test_public_authority_registers_and_assesses_fundamental_rights() -> None:
    result = assess(public_body="public_authority", essential_services="public_benefits")
    assert {"Art. 26(8), Art. 49", "Art. 27(1), Art. 27(3)"} <= cites(result.obligations)


def test_product_safety_component_is_high_risk_from_2027() -> None:
    result = assess(safety_component=True)
    assert result.risk == "high"
    assert result.risk_reasons[0].applies_from == date(2027, 8, 2)


def test_employee_chatbot_is_limited_risk() -> None:
    result = assess(interacts_with_people=True, generates_content="text", role="both")
    assert result.risk == "limited"
    assert {"Art. 4", "Art. 50(1), Art. 50(5)", "Art. 50(2)"} <= cites(result.obligations)
    assert not any(c.startswith("Art. 26") for c in cites(result.obligations))


def test_deployer_of_a_chatbot_checks_the_providers_disclosure() -> None:
    result = assess(interacts_with_people=True, generates_content="text", role="deployer")
    assert "eu-50-1-deployer" in ids(result.obligations)
    assert "eu-50-2-marking" not in ids(result.obligations)  # the provider's duty


def test_internal_spell_check_is_minimal_risk() -> None:
    result = assess(role="both", human_review=True)  # standard editing assistance
    assert result.risk == "minimal"
    assert [r.id for r in result.risk_reasons] == ["eu-minimal"]
    assert {"Art. 4", "Art. 95"} <= cites(result.obligations)
    assert result.gpai == ()
    assert "jp-human-review" not in ids(result.checklist)


def test_outside_the_eu_is_noted_with_art_2_1() -> None:
    result = assess(eu_scope=False)
    assert not result.in_eu_scope
    assert "Art. 2(1)" in cites(result.notices)


def test_gpai_items_to_check_with_the_provider() -> None:
    api = assess(gpai="api", systemic_model="yes")
    assert {"Art. 53(1)(a), Annex XI", "Art. 53(1)(c)", "Art. 53(1)(d)"} <= cites(api.gpai)
    assert "Art. 55(1), Art. 51(2)" in cites(api.gpai)
    open_model = assess(gpai="open_weights", systemic_model="no")
    assert "Art. 53(2)" in cites(open_model.gpai)
    assert "Art. 55(1), Art. 51(2)" not in cites(open_model.gpai)
    assert assess(gpai="none", systemic_model="unknown").gpai == ()


def test_japan_checklist_covers_the_common_guiding_principles() -> None:
    result = assess(personal_data=True, external_users=True)
    text = " ".join(rule.citation.ja for rule in result.checklist)
    for principle in (
        "人間中心",
        "安全性",
        "公平性",
        "プライバシー保護",
        "セキュリティ確保",
        "透明性",
        "アカウンタビリティ",
        "教育・リテラシー",
        "公正競争確保",
        "イノベーション",
    ):
        assert f"「{principle}」" in text, principle
    assert all(rule.citation.source == "jp_guidelines" for rule in result.checklist)


def test_the_template_is_limited_risk_without_article_26() -> None:
    result = governance.assess(governance.load_answers(TEMPLATE), today=TODAY)
    assert result.risk == "limited"
    assert {"Art. 4", "Art. 50(1), Art. 50(5)"} <= cites(result.obligations)
    assert not any(c.startswith("Art. 26") for c in cites(result.obligations))
    hr = dict(result.answers) | {"hr_use": "work_decisions"}
    assert "Art. 26(7)" in cites(governance.assess(hr, today=TODAY).obligations)


# -- the data file --------------------------------------------------------------------------


def test_every_question_and_rule_has_a_citation_and_both_languages() -> None:
    data = tomllib.loads(governance.GOVERNANCE_FILE.read_text("utf-8"))
    for entry in [*data["questions"], *data["rules"]]:
        where = entry["id"]
        assert entry.get("source") in data["sources"], where
        assert entry.get("cite") or (entry.get("cite_en") and entry.get("cite_ja")), where
        assert entry.get("en", "").strip() and entry.get("ja", "").strip(), where
        assert re.search(r"[぀-ヿ一-鿿]", entry["ja"]), where  # Japanese text
        if entry in data["questions"]:
            assert entry.get("help_en", "").strip() and entry.get("help_ja", "").strip(), where
    questionnaire = governance.load_questionnaire()
    items: list[governance.Question | governance.Rule] = [
        *questionnaire.questions,
        *questionnaire.rules,
    ]
    for item in items:
        assert item.citation.en and item.citation.ja
        assert item.text["en"] and item.text["ja"]
    eu = [r for r in questionnaire.rules if r.citation.source == "eu_ai_act"]
    assert all(re.match(r"(Art\.|Annex) [0-9IVX]", r.citation.en) for r in eu)


def test_every_rule_can_fire() -> None:
    """No rule is dead: some answers reach each one (searched one change at a time)."""
    questionnaire = governance.load_questionnaire()
    fired: set[str] = set()
    variants: list[dict[str, Answer]] = [base_answers()]
    for question in questionnaire.questions:
        values = [True, False] if question.type == "yes_no" else list(question.options)
        for value in values:
            for role in ("deployer", "both"):
                for extra in ({}, {"hr_use": "recruitment"}, {"gpai": "api"}):
                    variants.append({**base_answers(), "role": role, **extra, question.id: value})
    variants.append({**base_answers(), "hr_use": "recruitment", "art6_3_exception": True})
    variants.append({**base_answers(), "essential_services": "credit", "public_body": "no"})
    for answers in variants:
        result = governance.assess(answers, questionnaire, today=TODAY)
        for group in (result.risk_reasons, result.notices, result.obligations, result.gpai):
            fired |= ids(group)
        fired |= ids(result.checklist)
    assert {rule.id for rule in questionnaire.rules} - fired == set()


def test_a_rule_without_a_citation_is_refused() -> None:
    data: dict[str, Any] = tomllib.loads(governance.GOVERNANCE_FILE.read_text("utf-8"))
    del data["rules"][0]["cite"]
    with pytest.raises(ConfigError, match="citation"):
        governance.parse_questionnaire(data)
    data = tomllib.loads(governance.GOVERNANCE_FILE.read_text("utf-8"))
    del data["questions"][0]["ja"]
    with pytest.raises(ConfigError, match="lacks ja"):
        governance.parse_questionnaire(data)
    data = tomllib.loads(governance.GOVERNANCE_FILE.read_text("utf-8"))
    data["rules"][0]["when"] = {"no_such_question": True}
    with pytest.raises(ConfigError, match="no_such_question"):
        governance.parse_questionnaire(data)


# -- answers files --------------------------------------------------------------------------


def test_answers_as_json_and_yes_no_words(tmp_path: Path) -> None:
    values: dict[str, Any] = dict(base_answers())
    values["interacts_with_people"] = "yes"
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"name": "bot", "answers": values}), "utf-8")
    answers = governance.load_answers(path)
    assert answers.name == "bot"
    assert answers.values["interacts_with_people"] is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("answers = [", "not valid TOML"),
        ("name = 'x'", "no [answers] table"),
        ("[answers]\neu_scope = true", "unanswered"),
        ("[answers]\nnope = 1", "no question 'nope'"),
        ("other = 1\n[answers]", "unknown key 'other'"),
    ],
)
def test_bad_answers_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "a.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        governance.load_answers(path)


def test_a_wrong_value_names_the_choices(tmp_path: Path) -> None:
    values: dict[str, Any] = dict(base_answers())
    values["hr_use"] = "firing"
    with pytest.raises(ConfigError, match="hr_use is one of no, recruitment, work_decisions"):
        governance.parse_answers(values, governance.load_questionnaire())
    values["hr_use"] = "no"
    values["education"] = 3
    with pytest.raises(ConfigError, match="education is true or false"):
        governance.parse_answers(values, governance.load_questionnaire())


# -- output and the CLI ---------------------------------------------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_markdown_from_the_template(lang: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["governance", "assess", "--answers", str(TEMPLATE), "--lang", lang], capsys
    )
    assert code == 0, err
    if lang == "en":
        assert out.startswith("# AI governance assessment")
        assert "Not legal advice" in out
        assert "**Risk class: Limited risk (transparency duties)**" in out
        assert "(EU AI Act Art. 4; applies from 2025-02-02)" in out
        assert "AI Guidelines for Business v1.0 Part 2" in out
    else:
        assert out.startswith("# AI ガバナンス評価")
        assert "法的助言ではありません" in out
        assert "**リスク区分: 限定リスク（透明性の義務）**" in out
        assert "（EU AI法 Art. 4; 適用開始 2025-02-02）" in out
        assert "AI事業者ガイドライン 第1.0版 第2部 共通の指針「人間中心」" in out
    assert "- [ ] " in out and "<" not in out  # plain Markdown, no HTML


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_html_is_self_contained_and_escaped(
    lang: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tomllib.loads(TEMPLATE.read_text("utf-8"))
    answers["name"] = "<script>alert(1)</script> & co"
    source = tmp_path / "answers.json"
    source.write_text(json.dumps(answers, ensure_ascii=False), "utf-8")
    out_file = tmp_path / "gov.html"
    argv = ["governance", "assess", "--answers", str(source), "--format", "html"]
    code, out, err = run([*argv, "--lang", lang, "--out", str(out_file)], capsys)
    assert code == 0, err
    assert str(out_file.resolve()) in out
    page = out_file.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags and parser.links == []
    assert "default-src 'none'" in page and "<style>" in page
    assert ("Art. 50(1)" in page) and (("法的助言" if lang == "ja" else "Not legal advice") in page)


def test_interactive_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from kotae.cli.main import app

    monkeypatch.setattr(governance_cli, "_interactive", lambda: True)
    replies: list[str] = []
    for question in governance.load_questionnaire().questions:
        if question.id == "role":
            replies.append("3")  # both, by number
        elif question.id in ("eu_scope", "interacts_with_people"):
            replies.append("y")
        elif question.type == "yes_no":
            replies.append("n")
        elif question.id == "generates_content":
            replies += ["bogus", "text"]  # asked again
        else:
            replies.append("")  # the first option
    result = CliRunner().invoke(
        app, ["governance", "assess", "--lang", "en"], input="\n".join(replies) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "**Risk class: Limited risk (transparency duties)**" in result.output
    assert "generates_content is one of no, text, media" in result.output


def test_without_answers_or_a_terminal_exits_2_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(governance_cli, "_interactive", lambda: False)
    code, out, err = run(["governance", "assess"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "--answers" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--answers", "{bad}"], "not valid TOML"),
        (["--answers", "{missing}"], "cannot read the answers file"),
        (["--answers", "{template}", "--format", "pdf"], "unknown --format"),
        (["--answers", "{template}", "--lang", "fr"], "unknown --lang"),
        (["--answers", "{template}", "--out", "{tmp}"], "not a folder"),
    ],
)
def test_bad_input_exits_2_in_one_line(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "en")
    bad = tmp_path / "bad.toml"
    bad.write_text("[answers\n", "utf-8")
    places = {
        "{bad}": str(bad),
        "{missing}": str(tmp_path / "nope.toml"),
        "{template}": str(TEMPLATE),
        "{tmp}": str(tmp_path),
    }
    code, out, err = run(["governance", "assess", *(places.get(a, a) for a in args)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert message in err


def test_errors_speak_japanese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "ja")
    bad = tmp_path / "bad.toml"
    bad.write_text("[answers]\neu_scope = true\n", "utf-8")
    code, _, err = run(["governance", "assess", "--answers", str(bad)], capsys)
    assert code == 2 and "未回答の質問があります" in err
