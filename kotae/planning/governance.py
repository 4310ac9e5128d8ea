"""Governance: a questionnaire about one AI use, and what follows from the answers.

The questions and the rules are data (``kotae/planning/data/governance.toml``); this module
loads and checks them (:func:`load_questionnaire`), reads a set of answers
(:func:`load_answers`, TOML or JSON), applies the rules (:func:`assess`) and writes the
result as Markdown or self-contained HTML, in Japanese or English (:func:`render_markdown`,
:func:`render_html`).

An :class:`Assessment` holds

- the **EU AI Act risk class** (Regulation (EU) 2024/1689): ``prohibited`` (Art. 5),
  ``high`` (Art. 6(1) with Annex I, Art. 6(2) with Annex III, less the Art. 6(3) exception),
  ``limited`` (a transparency duty of Art. 50) or ``minimal``: the highest class any risk
  rule reached, with every rule that reached one as a reason;
- the **obligations** that follow (Art. 4, 5, 25, 26, 27, 50, 86 ...), each with its
  application date (Art. 113);
- the **GPAI items** a deployer checks with its model's provider (Art. 53-55);
- a **checklist** against Japan's AI Guidelines for Business (AI事業者ガイドライン 第1.0版);
- **notices** (territorial scope, Art. 2(1); the application dates).

Rules are evaluated in two passes: risk rules read the answers; the other rules also read
``risk`` (the class) and ``annex_iii`` (an Annex III area matched, before the Art. 6(3)
exception). Every rule and question carries its citation; loading fails without one.
This is a planning aid, not legal advice, and every output says so.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import jinja2

from kotae.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"
GOVERNANCE_FILE = DATA_DIR / "governance.toml"
HTML_TEMPLATE = "governance.html.j2"

Language = Literal["ja", "en"]
LANGUAGES: tuple[Language, ...] = ("en", "ja")
# Highest first: the class of an assessment is the first of these a risk rule reached.
RISK_CLASSES = ("prohibited", "high", "limited", "minimal")
KINDS = ("risk", "notice", "obligation", "gpai", "checklist")
QUESTION_TYPES = ("yes_no", "choice")
# Facts the rules may read besides the answers (second pass).
DERIVED = {"risk": RISK_CLASSES, "annex_iii": None}
YES = {"yes", "y", "true", "はい"}
NO = {"no", "n", "false", "いいえ"}

Answer = bool | str
Condition = Mapping[str, Answer | tuple[str, ...]]


@dataclass(frozen=True)
class Citation:
    """Where a rule or question comes from: the source's key and the reference in both
    languages (``Art. 26(6)``; ``第2部 共通の指針「透明性」``)."""

    source: str
    en: str
    ja: str

    def ref(self, language: str) -> str:
        return self.ja if language == "ja" else self.en


@dataclass(frozen=True)
class Question:
    id: str
    type: str  # yes_no | choice
    text: Mapping[str, str]  # language -> question
    help: Mapping[str, str]
    citation: Citation
    options: tuple[str, ...] = ()
    option_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # lang -> opt

    def label(self, value: Answer, language: str) -> str:
        """An answer as the person reads it."""
        if isinstance(value, bool):
            if language == "ja":
                return "はい" if value else "いいえ"
            return "yes" if value else "no"
        return self.option_labels.get(language, {}).get(value, value)


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str  # risk | notice | obligation | gpai | checklist
    text: Mapping[str, str]
    citation: Citation
    when: Condition = field(default_factory=dict)
    any: tuple[Condition, ...] = ()
    unless: Condition = field(default_factory=dict)
    risk: str | None = None  # for kind "risk"
    annex_iii: bool = False
    applies_from: date | None = None

    def reached(self, facts: Mapping[str, Answer]) -> bool:
        """``when`` and ``any`` hold (``unless`` not consulted)."""
        if not _holds(self.when, facts):
            return False
        return not self.any or any(_holds(part, facts) for part in self.any)

    def applies(self, facts: Mapping[str, Answer]) -> bool:
        return self.reached(facts) and not (self.unless and _holds(self.unless, facts))


def _holds(condition: Condition, facts: Mapping[str, Answer]) -> bool:
    for key, wanted in condition.items():
        value = facts.get(key)
        if isinstance(wanted, tuple):
            if value not in wanted:
                return False
        elif value != wanted or type(value) is not type(wanted):
            return False
    return True


@dataclass(frozen=True)
class Questionnaire:
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    sources: Mapping[str, Mapping[str, str]]  # key -> en, ja, short_en, short_ja

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def cite(self, citation: Citation, language: str) -> str:
        """``EU AI Act Art. 26(6)``: the source's short name, then the reference."""
        source = self.sources[citation.source]
        return f"{source['short_' + ('ja' if language == 'ja' else 'en')]} {citation.ref(language)}"


@dataclass(frozen=True)
class Assessment:
    """What the rules gave for one set of answers (see the module docstring)."""

    answers: Mapping[str, Answer]
    risk: str
    in_eu_scope: bool
    risk_reasons: tuple[Rule, ...]
    notices: tuple[Rule, ...]
    obligations: tuple[Rule, ...]
    gpai: tuple[Rule, ...]
    checklist: tuple[Rule, ...]
    name: str = ""
    description: str = ""
    assessed_on: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Answers:
    """An answers file: the answers, and the system's name and description if given."""

    values: Mapping[str, Answer]
    name: str = ""
    description: str = ""


# -- loading the data file ------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_questionnaire(path: Path = GOVERNANCE_FILE) -> Questionnaire:
    """The questionnaire shipped with kotae (or the TOML file ``path``), checked."""
    with path.open("rb") as handle:
        return parse_questionnaire(tomllib.load(handle))


def parse_questionnaire(data: Mapping[str, Any]) -> Questionnaire:
    """Check and build a questionnaire: every question and rule needs its text in both
    languages and a citation; conditions may name only questions and their values."""
    sources = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in data["sources"].items()}
    for key, source in sources.items():
        missing = {"en", "ja", "short_en", "short_ja"} - {k for k, v in source.items() if v}
        if missing:
            raise ConfigError(f"governance data: source {key} lacks {', '.join(sorted(missing))}")
    questions = tuple(_question(raw, sources) for raw in data.get("questions", []))
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise ConfigError("governance data: question ids repeat")
    known = {q.id: q for q in questions}
    rules = tuple(_rule(raw, sources, known) for raw in data.get("rules", []))
    rule_ids = [r.id for r in rules]
    if len(set(rule_ids)) != len(rule_ids):
        raise ConfigError("governance data: rule ids repeat")
    if not any(r.kind == "risk" and r.risk == "minimal" and not r.when for r in rules):
        raise ConfigError("governance data: needs a minimal-risk rule that always applies")
    return Questionnaire(questions, rules, sources)


def _texts(raw: Mapping[str, Any], where: str, prefix: str = "") -> dict[str, str]:
    texts: dict[str, str] = {lang: str(raw.get(prefix + lang, "")).strip() for lang in LANGUAGES}
    missing = [lang for lang, text in texts.items() if not text]
    if missing:
        raise ConfigError(f"governance data: {where} lacks {prefix}{'/'.join(missing)}")
    return texts


def _citation(raw: Mapping[str, Any], sources: Mapping[str, Any], where: str) -> Citation:
    source = str(raw.get("source", ""))
    if source not in sources:
        raise ConfigError(f"governance data: {where} needs a source of {sorted(sources)}")
    both = str(raw.get("cite", "")).strip()
    en = str(raw.get("cite_en", "")).strip() or both
    ja = str(raw.get("cite_ja", "")).strip() or both
    if not en or not ja:
        raise ConfigError(f"governance data: {where} needs a citation (cite, or cite_en+cite_ja)")
    return Citation(source, en, ja)


def _question(raw: Mapping[str, Any], sources: Mapping[str, Any]) -> Question:
    qid = str(raw.get("id", "")).strip()
    where = f"question {qid or '?'}"
    if not qid:
        raise ConfigError("governance data: a question has no id")
    kind = str(raw.get("type", ""))
    if kind not in QUESTION_TYPES:
        raise ConfigError(f"governance data: {where} has type {kind!r}, not one of yes_no, choice")
    options = tuple(str(o) for o in raw.get("options", ()))
    labels: dict[str, dict[str, str]] = {}
    if kind == "choice":
        if len(options) < 2:
            raise ConfigError(f"governance data: {where} needs two options or more")
        for lang in LANGUAGES:
            given = {str(k): str(v) for k, v in raw.get(f"option_{lang}", {}).items()}
            if set(given) != set(options) or not all(given.values()):
                raise ConfigError(f"governance data: {where} needs option_{lang} for each option")
            labels[lang] = given
    elif options:
        raise ConfigError(f"governance data: {where} is yes_no and has options")
    return Question(
        id=qid,
        type=kind,
        text=_texts(raw, where),
        help=_texts(raw, where, "help_"),
        citation=_citation(raw, sources, where),
        options=options,
        option_labels=labels,
    )


def _condition(raw: Any, known: Mapping[str, Question], where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"governance data: {where}: a condition is a table")
    condition: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "annex_iii":
            if not isinstance(value, bool):
                raise ConfigError(f"governance data: {where}: annex_iii is true or false")
            condition[key] = value
            continue
        if key == "risk":
            allowed: tuple[str, ...] | None = RISK_CLASSES
        elif key in known:
            question = known[key]
            allowed = question.options if question.type == "choice" else None
        else:
            raise ConfigError(f"governance data: {where}: no question {key!r}")
        if allowed is None:
            if not isinstance(value, bool):
                raise ConfigError(f"governance data: {where}: {key} is true or false")
            condition[key] = value
            continue
        values = tuple(value) if isinstance(value, list) else (value,)
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ConfigError(f"governance data: {where}: {key} has no value {bad[0]!r}")
        condition[key] = values if isinstance(value, list) else value
    return condition


def _rule(
    raw: Mapping[str, Any], sources: Mapping[str, Any], known: Mapping[str, Question]
) -> Rule:
    rid = str(raw.get("id", "")).strip()
    where = f"rule {rid or '?'}"
    if not rid:
        raise ConfigError("governance data: a rule has no id")
    kind = str(raw.get("kind", ""))
    if kind not in KINDS:
        raise ConfigError(f"governance data: {where} has kind {kind!r}")
    risk = raw.get("risk")
    if (kind == "risk") != (risk is not None) or (risk is not None and risk not in RISK_CLASSES):
        raise ConfigError(f"governance data: {where}: risk rules, and only they, name a class")
    when = _condition(raw.get("when", {}), known, where)
    if kind == "risk" and ({"risk", "annex_iii"} & set(when)):
        raise ConfigError(f"governance data: {where}: a risk rule reads the answers only")
    started = raw.get("applies_from")
    if started is not None and not isinstance(started, date):
        try:
            started = date.fromisoformat(str(started))
        except ValueError as exc:
            raise ConfigError(f"governance data: {where}: applies_from is a date") from exc
    return Rule(
        id=rid,
        kind=kind,
        text=_texts(raw, where),
        citation=_citation(raw, sources, where),
        when=when,
        any=tuple(_condition(part, known, where) for part in raw.get("any", [])),
        unless=_condition(raw.get("unless", {}), known, where),
        risk=str(risk) if risk is not None else None,
        annex_iii=bool(raw.get("annex_iii", False)),
        applies_from=started,
    )


# -- answers --------------------------------------------------------------------------------


def load_answers(path: Path, questionnaire: Questionnaire | None = None) -> Answers:
    """An answers file (``.json``, else TOML): ``name``, ``description`` and an ``answers``
    table of question id to ``true``/``false`` (or "yes"/"no") or a choice's option."""
    questionnaire = questionnaire or load_questionnaire()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot read the answers file {path}: {reason}",
            message_ja=f"回答ファイル {path} を読めません: {reason}",
        ) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(
            f"the answers file {path} is not valid {_format(path)}: {detail}",
            message_ja=f"回答ファイル {path} は正しい {_format(path)} ではありません: {detail}",
        ) from exc
    if not isinstance(data, dict):
        raise _answers_error(path, "it is not a table", "表（オブジェクト）ではありません")
    extra = sorted(set(data) - {"name", "description", "answers"})
    if extra:
        raise _answers_error(
            path,
            f"unknown key {extra[0]!r} (expected name, description, answers)",
            f"不明なキー {extra[0]!r} があります（name、description、answers のみ）",
        )
    raw = data.get("answers")
    if not isinstance(raw, dict):
        raise _answers_error(path, "it has no [answers] table", "[answers] 表がありません")
    values = parse_answers(raw, questionnaire, where=str(path))
    name, description = data.get("name", ""), data.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise _answers_error(
            path, "name and description are text", "name と description は文字列です"
        )
    return Answers(values, name.strip(), description.strip())


def _format(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def _answers_error(where: str | Path, en: str, ja: str) -> ConfigError:
    return ConfigError(f"answers file {where}: {en}", message_ja=f"回答ファイル {where}: {ja}")


def parse_answers(
    raw: Mapping[str, Any], questionnaire: Questionnaire, where: str = "answers"
) -> dict[str, Answer]:
    """Every question answered once, with a value of its type; nothing else."""
    known = {q.id: q for q in questionnaire.questions}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise _answers_error(
            where,
            f"no question {unknown[0]!r} (questions: {', '.join(known)})",
            f"質問 {unknown[0]!r} はありません（質問: {', '.join(known)}）",
        )
    missing = [qid for qid in known if qid not in raw]
    if missing:
        raise _answers_error(
            where,
            f"unanswered: {', '.join(missing)}",
            f"未回答の質問があります: {', '.join(missing)}",
        )
    return {qid: answer_value(known[qid], raw[qid], where) for qid in known}


def answer_value(question: Question, value: Any, where: str = "answers") -> Answer:
    """``value`` as an answer to ``question``, or a ConfigError saying what it takes."""
    if question.type == "yes_no":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in YES | NO:
            return value.strip().lower() in YES
        raise _answers_error(
            where,
            f"{question.id} is true or false, not {value!r}",
            f"{question.id} は true か false です（{value!r} は使えません）",
        )
    if isinstance(value, str) and value.strip() in question.options:
        return value.strip()
    choices = ", ".join(question.options)
    raise _answers_error(
        where,
        f"{question.id} is one of {choices}, not {value!r}",
        f"{question.id} は {choices} のどれかです（{value!r} は使えません）",
    )


# -- assessing ------------------------------------------------------------------------------


def assess(
    answers: Answers | Mapping[str, Answer],
    questionnaire: Questionnaire | None = None,
    today: date | None = None,
) -> Assessment:
    """Apply the rules to complete, checked answers (:func:`parse_answers`)."""
    questionnaire = questionnaire or load_questionnaire()
    given = answers if isinstance(answers, Answers) else Answers(dict(answers))
    values = parse_answers(given.values, questionnaire)
    risk_rules = [r for r in questionnaire.rules if r.kind == "risk"]
    reached = [r for r in risk_rules if r.risk != "minimal" and r.applies(values)]
    risk = min((r.risk or "minimal" for r in reached), key=RISK_CLASSES.index, default="minimal")
    if risk == "minimal":
        reached = [r for r in risk_rules if r.risk == "minimal" and r.applies(values)]
    reached.sort(key=lambda r: RISK_CLASSES.index(r.risk or "minimal"))
    facts: dict[str, Answer] = dict(values)
    facts["risk"] = risk
    facts["annex_iii"] = any(r.annex_iii and r.reached(values) for r in risk_rules)
    fired = {
        kind: tuple(r for r in questionnaire.rules if r.kind == kind and r.applies(facts))
        for kind in KINDS
        if kind != "risk"
    }
    return Assessment(
        answers=values,
        risk=risk,
        in_eu_scope=bool(values.get("eu_scope", True)),
        risk_reasons=tuple(reached),
        notices=fired["notice"],
        obligations=fired["obligation"],
        gpai=fired["gpai"],
        checklist=fired["checklist"],
        name=given.name,
        description=given.description,
        assessed_on=today or date.today(),
    )


# -- output ---------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "AI governance assessment",
        "disclaimer": "Not legal advice: a planning aid that summarizes the cited provisions. "
        "Check the result with your legal counsel and the official texts.",
        "system": "System",
        "date": "Assessed on",
        "eu": "EU AI Act",
        "risk_class": "Risk class",
        "reasons": "Why",
        "notices": "Notes",
        "obligations": "Obligations",
        "no_obligations": "None.",
        "applies_from": "applies from",
        "gpai": "General-purpose AI models: what to check with the model's provider",
        "no_gpai": "No general-purpose AI model is used, as answered.",
        "jp": "Japan: AI Guidelines for Business checklist",
        "answers": "Answers",
        "question": "Question",
        "answer": "Answer",
        "sources": "Sources",
        "item": "Item",
        "citation": "Citation",
        "prohibited": "Prohibited (Art. 5)",
        "high": "High-risk",
        "limited": "Limited risk (transparency duties)",
        "minimal": "Minimal risk",
    },
    "ja": {
        "title": "AI ガバナンス評価",
        "disclaimer": "法的助言ではありません。引用した規定を要約した計画用の資料です。"
        "結果は法務担当者と公式の条文で確認してください。",
        "system": "システム",
        "date": "評価日",
        "eu": "EU AI法",
        "risk_class": "リスク区分",
        "reasons": "理由",
        "notices": "注記",
        "obligations": "義務",
        "no_obligations": "なし。",
        "applies_from": "適用開始",
        "gpai": "汎用 AI（GPAI）モデル: モデルの提供者に確認すること",
        "no_gpai": "回答によれば、汎用 AI モデルは使っていません。",
        "jp": "日本: AI事業者ガイドライン チェックリスト",
        "answers": "回答",
        "question": "質問",
        "answer": "回答",
        "sources": "出典",
        "item": "項目",
        "citation": "出典",
        "prohibited": "禁止（第5条）",
        "high": "高リスク",
        "limited": "限定リスク（透明性の義務）",
        "minimal": "最小リスク",
    },
}


def _lang(language: str) -> Language:
    return "ja" if language == "ja" else "en"


def _view(assessment: Assessment, language: str, questionnaire: Questionnaire) -> dict[str, Any]:
    """What both renderings show, as plain strings in ``language``."""
    lang = _lang(language)

    def item(rule: Rule) -> dict[str, str]:
        return {
            "id": rule.id,
            "text": rule.text[lang],
            "cite": questionnaire.cite(rule.citation, lang),
            "from": rule.applies_from.isoformat() if rule.applies_from else "",
        }

    return {
        "lang": lang,
        "labels": LABELS[lang],
        "name": assessment.name,
        "description": assessment.description,
        "date": assessment.assessed_on.isoformat(),
        "risk": assessment.risk,
        "risk_label": LABELS[lang][assessment.risk],
        "reasons": [item(r) for r in assessment.risk_reasons],
        "notices": [item(r) for r in assessment.notices],
        "obligations": [item(r) for r in assessment.obligations],
        "gpai": [item(r) for r in assessment.gpai],
        "checklist": [item(r) for r in assessment.checklist],
        "answers": [
            {
                "id": q.id,
                "question": q.text[lang],
                "answer": q.label(assessment.answers[q.id], lang),
                "cite": questionnaire.cite(q.citation, lang),
            }
            for q in questionnaire.questions
            if q.id in assessment.answers
        ],
        "sources": [source[lang] for source in questionnaire.sources.values()],
    }


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_markdown(
    assessment: Assessment, language: str = "en", questionnaire: Questionnaire | None = None
) -> str:
    """The assessment as plain Markdown."""
    view = _view(assessment, language, questionnaire or load_questionnaire())
    labels = view["labels"]
    lines = [f"# {labels['title']}", "", f"> **{labels['disclaimer']}**", ""]
    if view["name"]:
        lines.append(f"- {labels['system']}: {_one_line(view['name'])}")
    if view["description"]:
        lines.append(f"- {_one_line(view['description'])}")
    lines += [f"- {labels['date']}: {view['date']}", "", f"## {labels['eu']}", ""]
    lines += [f"**{labels['risk_class']}: {view['risk_label']}**", "", f"### {labels['reasons']}"]
    lines += [""] + [f"- {r['text']} {_paren(r['cite'], view)}" for r in view["reasons"]] + [""]
    if view["notices"]:
        lines += [f"### {labels['notices']}", ""]
        lines += [f"- {r['text']} {_paren(r['cite'], view)}" for r in view["notices"]] + [""]
    lines += [f"### {labels['obligations']}", ""]
    lines += [_md_item(r, view) for r in view["obligations"]] or [labels["no_obligations"]]
    lines += ["", f"## {labels['gpai']}", ""]
    lines += [_md_item(r, view) for r in view["gpai"]] or [labels["no_gpai"]]
    lines += ["", f"## {labels['jp']}", ""]
    lines += [_md_item(r, view) for r in view["checklist"]]
    lines += ["", f"## {labels['answers']}", ""]
    lines += [f"| {labels['question']} | {labels['answer']} | {labels['citation']} |"]
    lines += ["| --- | --- | --- |"]
    lines += [
        f"| {_cell(a['question'])} | {_cell(a['answer'])} | {_cell(a['cite'])} |"
        for a in view["answers"]
    ]
    lines += ["", f"## {labels['sources']}", ""] + [f"- {s}" for s in view["sources"]]
    return "\n".join(lines) + "\n"


def _md_item(rule: Mapping[str, str], view: Mapping[str, Any]) -> str:
    when = f"; {view['labels']['applies_from']} {rule['from']}" if rule["from"] else ""
    return f"- [ ] {rule['text']} {_paren(rule['cite'] + when, view)}"


def _paren(text: str, view: Mapping[str, Any]) -> str:
    return f"（{text}）" if view["lang"] == "ja" else f"({text})"


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(
    assessment: Assessment, language: str = "en", questionnaire: Questionnaire | None = None
) -> str:
    """The assessment as one self-contained HTML page (inline CSS, no script, every text
    escaped)."""
    view = _view(assessment, language, questionnaire or load_questionnaire())
    return _environment().get_template(HTML_TEMPLATE).render(**view)


def render(
    assessment: Assessment,
    output_format: str = "markdown",
    language: str = "en",
    questionnaire: Questionnaire | None = None,
) -> str:
    """:func:`render_markdown` or :func:`render_html` by ``output_format``."""
    if output_format == "html":
        return render_html(assessment, language, questionnaire)
    return render_markdown(assessment, language, questionnaire)


def risk_label(risk: str, language: str) -> str:
    return LABELS[_lang(language)][risk]
