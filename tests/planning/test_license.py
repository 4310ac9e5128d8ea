"""The license check: each condition kind of the catalog against the organization, with
the expected verdict; inherited licenses; ``kotae models license``.

The catalog here is inline data shaped like the shipped entries (the conditions' texts
and sources are those of ../shared/reference/models.yaml), so the rules are pinned
whatever the shipped catalog holds; the last tests run the shipped catalog when present."""

from __future__ import annotations

import json
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kotae.cli import licenses as licenses_cli
from kotae.cli.main import main
from kotae.config import OrganizationSettings
from kotae.errors import ConfigError
from kotae.kb import init_kb
from kotae.messages import MESSAGES, t
from kotae.planning.catalog import CATALOG_FILE, ModelCatalog, load_catalog, parse_catalog
from kotae.planning.licenses import LicenseReport, check_license
from tests.conftest import write

LLAMA31 = (
    "https://github.com/meta-llama/llama-models/blob/47401a87273be9e4bc7612f4f8c25acaee9a2968"
    "/models/llama3_1/LICENSE"
)
LLAMA4 = (
    "https://github.com/meta-llama/llama-models/blob/9cb02ae1fa589937cea58b260920da88dc1d554a"
    "/models/llama4/LICENSE"
)
LLAMA4_AUP = (
    "https://github.com/meta-llama/llama-models/blob/b4b6607cd56506065b9ad70699e9c845828b9606"
    "/models/llama4_jax/USE_POLICY.md"
)
QWEN72 = "https://huggingface.co/openthaigpt/openthaigpt1.5-7b-instruct/commit/e6bac75d01d05e0e31a63075454e13c02da9dd13"
QWEN3B = "https://huggingface.co/Qwen/Qwen2.5-3B/discussions/1"
R1 = "https://github.com/deepseek-ai/DeepSeek-R1/blob/00f3296a14392e787d4138b5a0d8ce0e55a25b23/README.md"
SWALLOW = "https://huggingface.co/tokyotech-llm/Llama-3.1-Swallow-70B-Instruct-v0.1/discussions/1"
GEMMA = "https://huggingface.co/rinna/gemma-2-baku-2b-it/blame/main/Notice"
SARASHINA = "https://huggingface.co/sbintuitions/sarashina2-8x70b/commits/main/Sarashina%20Model%20NonCommercial%20License%20Agreement"
QWEN7 = "https://huggingface.co/huihui-ai/Marco-o1-abliterated/blob/main/NOTICE"
PHI4 = "https://ollama.com/library/phi4:latest"
DATE = "2026-11-28"


def _fact(value: Any, source: str) -> dict[str, Any]:
    return {"value": value, "source": source, "date": DATE}


def _cond(kind: str, text: str, source: str, **params: Any) -> dict[str, Any]:
    return {"kind": kind, "text": text, "source": source, "date": DATE, "params": params}


def _license(name: str, spdx: str, use: str, source: str, arch: str) -> dict[str, Any]:
    return {
        "license_name": _fact(name, source),
        "license_id": _fact(spdx, source),
        "commercial_use": _fact(use, source),
        "architecture": _fact(arch, source),
    }


def _llama(version: str, source: str, aup: str) -> list[dict[str, Any]]:
    return [
        _cond(
            "mau_limit",
            "If licensee + affiliates had >700M monthly active users in the calendar month "
            f"before the Llama {version} release date, a separate license must be requested from "
            "Meta (§2)",
            source,
            mau=700_000_000,
        ),
        _cond(
            "attribution",
            "Redistribution (incl. as part of a product/service or another AI model) must ship a "
            "copy of the Agreement and prominently display 'Built with Llama' (§1.b.i)",
            source,
        ),
        _cond(
            "name_prefix",
            "Any AI model created/trained/fine-tuned with Llama Materials OR Llama outputs that is "
            "distributed must include 'Llama' at the beginning of its name (§1.b.i)",
            source,
        ),
        _cond(
            "attribution",
            f"Must retain the attribution Notice file: 'Llama {version} is licensed under the "
            f"Llama {version} Community License, Copyright © Meta Platforms, Inc.' (§1.b.iii)",
            source,
        ),
        _cond(
            "acceptable_use",
            f"Use must comply with the Llama {version} Acceptable Use Policy (§1.b.iv)",
            aup,
        ),
        _cond(
            "other",
            "License terminates if licensee sues Meta alleging Llama materials/outputs infringe "
            "licensee IP (§5.c)",
            source,
        ),
    ]


EU_TEXT = (
    "EU RESTRICTION (Acceptable Use Policy): for any multimodal models in Llama 4, the §1(a) "
    "rights are NOT granted to individuals domiciled in, or companies with principal place of "
    "business in, the European Union; this does not apply to end users of a product/service that "
    "incorporates the model"
)

MODELS: list[dict[str, Any]] = [
    {
        "id": "meta-llama/Llama-3.1-8B-Instruct",
        "family": "Llama 3.1",
        "vendor": "Meta",
        "facts": _license(
            "Llama 3.1 Community License Agreement",
            "custom",
            "conditional",
            LLAMA31,
            "dense transformer (GQA)",
        ),
        "license_conditions": _llama("3.1", LLAMA31, LLAMA31),
    },
    {
        "id": "meta-llama/Llama-4-Scout-17B-16E-Instruct",
        "family": "Llama 4",
        "vendor": "Meta",
        "facts": _license(
            "Llama 4 Community License Agreement",
            "custom",
            "conditional",
            LLAMA4,
            "MoE (16 experts), natively multimodal (text+image in, text out)",
        ),
        "license_conditions": [
            *_llama("4", LLAMA4, LLAMA4_AUP),
            _cond("eu_exclusion", EU_TEXT, LLAMA4_AUP),
        ],
    },
    {
        "id": "Qwen/Qwen2.5-72B-Instruct",
        "family": "Qwen2.5",
        "vendor": "Alibaba Cloud (Qwen team)",
        "facts": _license("Qwen LICENSE AGREEMENT", "custom", "conditional", QWEN72, "dense"),
        "license_conditions": [
            _cond(
                "custom_license",
                "Commercial use allowed, but (as reported by derivative-model authors) a user base "
                "above 100 million monthly active users requires negotiating a separate commercial "
                "license with Alibaba — the Qwen LICENSE text itself was NOT read in this pass",
                QWEN72,
                mau=100_000_000,
            ),
            _cond(
                "other",
                "Derivatives in the wild carry 'Built with Qwen' attribution — whether this is "
                "mandatory is UNVERIFIED",
                QWEN72,
            ),
        ],
    },
    {
        "id": "Qwen/Qwen2.5-3B-Instruct",
        "family": "Qwen2.5",
        "vendor": "Alibaba Cloud (Qwen team)",
        "facts": _license("Qwen RESEARCH LICENSE AGREEMENT", "custom", "no", QWEN3B, "dense"),
        "license_conditions": [
            _cond(
                "research_only",
                "Non-commercial research license — do not assume every Qwen2.5 size is Apache-2.0",
                QWEN3B,
            )
        ],
    },
    {
        "id": "sbintuitions/sarashina2-8x70b",
        "family": "Sarashina2",
        "vendor": "SB Intuitions (SoftBank)",
        "facts": _license(
            "Sarashina Model NonCommercial License Agreement", "custom", "no", SARASHINA, "MoE"
        ),
        "license_conditions": [
            _cond("non_commercial", "Non-commercial license (added 2024-11-08)", SARASHINA)
        ],
    },
    {
        "id": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "family": "DeepSeek-R1-Distill",
        "vendor": "DeepSeek",
        "base_models": ["meta-llama/Llama-3.1-8B-Instruct"],
        "facts": _license("MIT + Llama 3.1 Community License", "MIT", "conditional", R1, "dense"),
        "license_conditions": [
            _cond(
                "inherited",
                "README: derived from Llama3.1-8B-Base, 'originally licensed under llama3.1 "
                "license' — Llama 3.1 obligations should be assumed to flow down",
                R1,
            )
        ],
    },
    {
        "id": "google/gemma-2-9b-it",
        "family": "Gemma 2",
        "vendor": "Google DeepMind",
        "facts": _license("Gemma Terms of Use", "custom", "conditional", GEMMA, "dense"),
        "license_conditions": [
            _cond(
                "custom_license",
                "Commercial use permitted under the Gemma Terms of Use — full terms NOT re-read",
                GEMMA,
            ),
            _cond(
                "attribution",
                "Redistributions carry the notice 'Gemma is provided under and subject to the "
                "Gemma Terms of Use found at ai.google.dev/gemma/terms'",
                GEMMA,
            ),
            _cond(
                "acceptable_use",
                "Use subject to Google's Gemma Prohibited Use Policy — UNVERIFIED detail",
                GEMMA,
            ),
        ],
    },
    {
        "id": "tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3",
        "family": "Llama 3.1 Swallow",
        "vendor": "Swallow team",
        "aliases": ["swallow-8b"],
        "base_models": ["meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-9b-it"],
        "facts": _license(
            "Llama 3.1 Community License + Gemma Terms of Use",
            "custom",
            "conditional",
            SWALLOW,
            "dense (Llama 3.1)",
        ),
        "license_conditions": [
            _cond(
                "inherited",
                "All Llama 3.1 Community License obligations — card title 'Llama 3.1 Swallow - "
                "Built with Llama'",
                SWALLOW,
            ),
            _cond(
                "inherited",
                "ALSO Gemma Terms of Use: instruct models were tuned on synthetic data generated "
                "with Gemma 2",
                SWALLOW,
            ),
        ],
    },
    {
        "id": "Qwen/Qwen2.5-7B-Instruct",
        "family": "Qwen2.5",
        "vendor": "Alibaba Cloud (Qwen team)",
        "facts": _license("Apache License 2.0", "Apache-2.0", "yes", QWEN7, "dense"),
        "license_conditions": [
            _cond(
                "attribution",
                "Standard Apache-2.0 (keep license/NOTICE, state changes, patent-termination "
                "clause)",
                QWEN7,
            )
        ],
    },
    {
        "id": "microsoft/phi-4",
        "family": "Phi-4",
        "vendor": "Microsoft Research",
        "facts": _license("MIT License", "MIT", "yes", PHI4, "dense decoder-only transformer"),
        "license_conditions": [_cond("other", "MIT", PHI4)],
    },
]

CATALOG = parse_catalog({"models": MODELS})


def check(name: str, catalog: ModelCatalog = CATALOG, **org: Any) -> LicenseReport:
    return check_license(catalog.find(name), OrganizationSettings(**org), catalog)


def kinds(items: list[Any]) -> list[str]:
    return [item.kind for item in items]


def codes(report: LicenseReport) -> set[str]:
    return {item.code for item in report.items}


# A company that described itself fully: small, in Japan, using the model in-house.
IN_HOUSE: dict[str, Any] = {
    "monthly_active_users": 5_000,
    "eu_presence": False,
    "eu_domiciled": False,
    "redistributes": False,
    "commercial": True,
    "multimodal": False,
}


# --- MAU limits: Llama's 700M clause -----------------------------------------------------


def test_over_700m_monthly_active_users_is_blocked_until_meta_grants_a_license() -> None:
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "monthly_active_users": 800_000_000})
    assert report.verdict == "blocked"
    [blocker] = report.blockers
    assert blocker.kind == "mau_limit" and blocker.code == "license_mau_over"
    assert "Meta must grant you a separate license" in blocker.message("en")
    assert "800,000,000" in blocker.message("en") and "700,000,000" in blocker.message("en")
    assert blocker.source == LLAMA31 and blocker.date == DATE
    assert "月間アクティブユーザー" in blocker.message("ja")


@pytest.mark.parametrize("users", [0, 5_000, 700_000_000])
def test_at_or_under_700m_the_clause_does_not_block(users: int) -> None:
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "monthly_active_users": users})
    assert report.verdict == "ok_with_obligations"  # the acceptable use policy remains
    assert kinds(report.obligations) == ["acceptable_use"]
    assert "license_mau_under" in codes(report)


def test_unknown_monthly_active_users_is_not_a_pass() -> None:
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "monthly_active_users": None})
    assert report.verdict == "needs_review"
    [review] = report.reviews
    assert review.kind == "mau_limit" and review.fill_in == ("monthly_active_users",)
    assert "set monthly_active_users in [organization]" in review.message("en")
    assert report.fill_in == ["monthly_active_users"]


def test_a_mau_clause_without_a_threshold_needs_review() -> None:
    entry = CATALOG.find("Llama-3.1-8B-Instruct")
    clause = replace(entry.conditions[0], params={})
    report = check_license(
        replace(entry, conditions=(clause,)), OrganizationSettings(**IN_HOUSE), CATALOG
    )
    assert report.verdict == "needs_review"
    assert report.reviews[0].code == "license_mau_no_limit"


# --- attribution and the "Llama" name prefix ---------------------------------------------


def test_redistributing_a_derivative_brings_attribution_and_the_name_prefix() -> None:
    org = {**IN_HOUSE, "redistributes": True, "derivative_name": "Acme-JA-8B"}
    report = check("Llama-3.1-8B-Instruct", **org)
    assert report.verdict == "ok_with_obligations"
    assert kinds(report.obligations) == [
        "attribution",
        "name_prefix",
        "attribution",
        "acceptable_use",
    ]
    built_with, prefix, notice, _ = report.obligations
    assert "'Built with Llama'" in built_with.condition and "Notice file" in notice.condition
    assert prefix.code == "license_name_prefix_rename"
    assert "'Llama-Acme-JA-8B'" in prefix.message("en")
    assert all(item.source == LLAMA31 and item.date == DATE for item in report.obligations)


def test_a_derivative_already_named_llama_keeps_its_prefix() -> None:
    org = {**IN_HOUSE, "redistributes": True, "derivative_name": "Llama-Acme-JA-8B"}
    [prefix] = [
        i for i in check("Llama-3.1-8B-Instruct", **org).obligations if i.kind == "name_prefix"
    ]
    assert prefix.code == "license_name_prefix_met"


def test_redistributing_the_model_without_a_derivative_needs_no_name_prefix() -> None:
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "redistributes": True})
    assert kinds(report.obligations) == ["attribution", "attribution", "acceptable_use"]
    assert "license_name_prefix_none" in codes(report)


def test_in_house_use_brings_neither_attribution_nor_the_name_prefix() -> None:
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "derivative_name": "Acme-JA-8B"})
    assert kinds(report.obligations) == ["acceptable_use"]
    notes = [item for item in report.notes if item.code == "license_not_redistributed"]
    assert kinds(notes) == ["attribution", "name_prefix", "attribution"]


def test_unknown_redistribution_counts_the_attribution_as_applying_and_says_what_to_fill_in() -> (
    None
):
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "redistributes": None})
    assert report.verdict == "ok_with_obligations"
    assert kinds(report.obligations) == ["attribution", "attribution", "acceptable_use"]
    assert report.obligations[0].fill_in == ("redistributes",)
    assert report.fill_in == ["redistributes"]


def test_the_acceptable_use_obligation_names_the_industry() -> None:
    report = check("Llama-3.1-8B-Instruct", **{**IN_HOUSE, "industry": "finance"})
    assert "check your use in finance" in report.obligations[-1].message("en")


# --- Llama 4: no rights for EU-domiciled licensees of its multimodal models ---------------


def test_llama4_multimodal_is_blocked_for_a_company_domiciled_in_the_eu() -> None:
    org = {**IN_HOUSE, "eu_presence": True, "eu_domiciled": True}
    report = check("Llama-4-Scout-17B-16E-Instruct", **org)
    assert report.verdict == "blocked"
    [blocker] = report.blockers
    assert blocker.kind == "eu_exclusion" and blocker.source == LLAMA4_AUP
    assert "whether or not you send it images" in blocker.message("en")


def test_llama4_applies_even_when_the_company_sends_no_images() -> None:
    org = {**IN_HOUSE, "eu_domiciled": True, "multimodal": False}
    assert check("Llama-4-Scout-17B-16E-Instruct", **org).verdict == "blocked"


def test_llama4_is_not_blocked_without_eu_presence() -> None:
    report = check("Llama-4-Scout-17B-16E-Instruct", **IN_HOUSE)
    assert report.verdict == "ok_with_obligations"
    assert "license_eu_not_domiciled" in codes(report)
    no_presence = {**IN_HOUSE, "eu_domiciled": None}
    assert "license_eu_no_presence" in codes(check("Llama-4-Scout-17B-16E-Instruct", **no_presence))
    assert check("Llama-4-Scout-17B-16E-Instruct", **no_presence).verdict == "ok_with_obligations"


def test_eu_users_of_a_company_outside_the_eu_are_exempt() -> None:
    org = {**IN_HOUSE, "eu_presence": True, "eu_domiciled": False}
    assert check("Llama-4-Scout-17B-16E-Instruct", **org).verdict == "ok_with_obligations"


def test_eu_presence_without_knowing_the_domicile_needs_review() -> None:
    org = {**IN_HOUSE, "eu_presence": True, "eu_domiciled": None}
    report = check("Llama-4-Scout-17B-16E-Instruct", **org)
    assert report.verdict == "needs_review"
    assert [i.fill_in for i in report.reviews] == [("eu_domiciled",)]


def test_the_eu_exclusion_covers_multimodal_models_only() -> None:
    scout = CATALOG.find("Llama-4-Scout-17B-16E-Instruct")
    text_only = replace(
        scout,
        facts={**scout.facts, "architecture": replace(scout.facts["architecture"], value="dense")},
    )
    org = OrganizationSettings(**{**IN_HOUSE, "eu_domiciled": True})
    report = check_license(text_only, org, CATALOG)
    assert report.verdict == "ok_with_obligations"
    assert "license_eu_text_only" in codes(report)
    # unknown modality: review, unless the company sends it images
    unknown = replace(scout, facts={k: f for k, f in scout.facts.items() if k != "architecture"})
    assert check_license(unknown, org, CATALOG).verdict == "needs_review"
    images = org.model_copy(update={"multimodal": True})
    assert check_license(unknown, images, CATALOG).verdict == "blocked"


def test_llama31_has_no_eu_clause() -> None:
    org = {**IN_HOUSE, "eu_presence": True, "eu_domiciled": True}
    assert check("Llama-3.1-8B-Instruct", **org).verdict == "ok_with_obligations"


# --- Qwen: a custom license with its own MAU cap, and a research-only size --------------


def test_qwen25_72b_custom_license_with_its_100m_mau_cap() -> None:
    under = check("Qwen2.5-72B-Instruct", **{**IN_HOUSE, "monthly_active_users": 50_000_000})
    assert under.verdict == "ok_with_obligations"
    [custom] = under.obligations
    assert custom.kind == "custom_license" and custom.unverified
    assert "Qwen LICENSE AGREEMENT" in custom.message("en")
    over = check("Qwen2.5-72B-Instruct", **{**IN_HOUSE, "monthly_active_users": 150_000_000})
    assert over.verdict == "blocked"
    assert "100,000,000" in over.blockers[0].message("en")
    assert "Alibaba Cloud (Qwen team) must grant" in over.blockers[0].message("en")
    unknown = check("Qwen2.5-72B-Instruct", **{**IN_HOUSE, "monthly_active_users": None})
    assert unknown.verdict == "needs_review"


def test_a_custom_license_cap_tagged_as_a_mau_limit_reads_the_same() -> None:
    entry = CATALOG.find("Qwen2.5-72B-Instruct")
    as_mau = replace(entry.conditions[0], kind="mau_limit")
    tagged = replace(entry, conditions=(as_mau,))
    org = OrganizationSettings(**{**IN_HOUSE, "monthly_active_users": 150_000_000})
    assert check_license(tagged, org, CATALOG).verdict == "blocked"


def test_qwen25_3b_research_license_is_blocked_for_commercial_use() -> None:
    report = check("Qwen2.5-3B-Instruct", **IN_HOUSE)
    assert report.verdict == "blocked"
    [blocker] = report.blockers
    assert blocker.kind == "research_only" and blocker.source == QWEN3B
    research = check("Qwen2.5-3B-Instruct", **{**IN_HOUSE, "commercial": False})
    assert research.verdict == "ok_with_obligations"
    assert [i.code for i in research.obligations] == ["license_research_only_keep"]


def test_a_non_commercial_license_is_blocked_for_commercial_use() -> None:
    assert check("sarashina2-8x70b", **IN_HOUSE).verdict == "blocked"
    report = check("sarashina2-8x70b", **{**IN_HOUSE, "commercial": False})
    assert report.verdict == "ok_with_obligations"
    assert kinds(report.obligations) == ["non_commercial"]


def test_commercial_use_no_without_a_condition_still_blocks() -> None:
    entry = replace(CATALOG.find("sarashina2-8x70b"), conditions=())
    report = check_license(entry, OrganizationSettings(**IN_HOUSE), CATALOG)
    assert report.verdict == "blocked"
    assert report.blockers[0].code == "license_commercial_no"
    assert report.blockers[0].source == SARASHINA


# --- inherited licenses ------------------------------------------------------------------


def test_a_llama_distill_carries_the_llama_license() -> None:
    org = {**IN_HOUSE, "monthly_active_users": 800_000_000}
    report = check("DeepSeek-R1-Distill-Llama-8B", **org)
    assert report.verdict == "blocked"
    [blocker] = report.blockers
    assert blocker.model == "meta-llama/Llama-3.1-8B-Instruct" and blocker.inherited
    assert blocker.chain == ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", blocker.model)
    assert blocker.source == LLAMA31
    inherited = [i for i in report.notes if i.kind == "inherited"]
    assert inherited[0].model == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    assert not inherited[0].inherited and inherited[0].source == R1


def test_a_llama_distill_needs_the_name_prefix_when_its_fine_tune_is_distributed() -> None:
    org = {**IN_HOUSE, "redistributes": True, "derivative_name": "R1-Acme"}
    report = check("DeepSeek-R1-Distill-Llama-8B", **org)
    assert "name_prefix" in kinds(report.obligations)
    assert {i.model for i in report.obligations} == {"meta-llama/Llama-3.1-8B-Instruct"}


def test_swallow_carries_both_llama_and_gemma() -> None:
    org = {**IN_HOUSE, "redistributes": True}
    report = check("swallow-8b", **org)
    assert report.verdict == "ok_with_obligations"
    by_model = {i.model for i in report.obligations}
    assert by_model == {"meta-llama/Llama-3.1-8B-Instruct", "google/gemma-2-9b-it"}
    gemma = [i for i in report.obligations if i.model == "google/gemma-2-9b-it"]
    assert kinds(gemma) == ["custom_license", "attribution", "acceptable_use"]
    assert all(i.source == GEMMA for i in gemma)
    over = check("swallow-8b", **{**org, "monthly_active_users": 800_000_000})
    assert over.verdict == "blocked" and over.blockers[0].model.startswith("meta-llama/")


def test_inheritance_is_followed_recursively_and_stops_on_a_cycle() -> None:
    fine_tune = {
        "id": "acme/Swallow-8B-Acme",
        "family": "Swallow fine-tune",
        "vendor": "Acme",
        "base_models": ["tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3"],
        "facts": _license("Llama 3.1 + Gemma", "custom", "conditional", SWALLOW, "dense"),
        "license_conditions": [_cond("inherited", "carries its base model's licenses", SWALLOW)],
    }
    looped = {**MODELS[0], "base_models": ["acme/Swallow-8B-Acme"]}  # a cycle back to the top
    catalog = parse_catalog({"models": [looped, *MODELS[1:], fine_tune]})
    report = check("acme/Swallow-8B-Acme", catalog, **{**IN_HOUSE, "redistributes": True})
    chains = {i.chain for i in report.obligations}
    assert (
        "acme/Swallow-8B-Acme",
        "tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3",
        "google/gemma-2-9b-it",
    ) in chains
    assert {i.model for i in report.obligations} == {
        "meta-llama/Llama-3.1-8B-Instruct",
        "google/gemma-2-9b-it",
    }


def test_an_inherited_condition_may_name_its_base_model() -> None:
    distill = CATALOG.find("DeepSeek-R1-Distill-Llama-8B")
    named = replace(distill.conditions[0], params={"base": "meta-llama/Llama-3.1-8B-Instruct"})
    entry = replace(distill, base_models=(), conditions=(named,))
    org = OrganizationSettings(**{**IN_HOUSE, "monthly_active_users": 800_000_000})
    report = check_license(entry, org, CATALOG)
    assert report.verdict == "blocked" and report.blockers[0].inherited
    alone = replace(entry, conditions=(replace(named, params={}),))
    assert "license_inherited_none" in codes(check_license(alone, org, CATALOG))


def test_a_base_model_missing_from_the_catalog_needs_review() -> None:
    entry = replace(
        CATALOG.find("DeepSeek-R1-Distill-Llama-8B"), base_models=("meta-llama/Llama-3.1-8B",)
    )
    report = check_license(entry, OrganizationSettings(**IN_HOUSE), CATALOG)
    assert report.verdict == "needs_review"
    [review] = report.reviews
    assert review.code == "license_base_missing" and review.source == R1
    assert "meta-llama/Llama-3.1-8B" in review.message("en")
    assert check_license(entry, OrganizationSettings(**IN_HOUSE), None).verdict == "needs_review"


# --- permissive licenses, unknowns -------------------------------------------------------


def test_apache_and_mit_models_are_ok() -> None:
    assert check("microsoft/phi-4").verdict == "ok"  # nothing about the organization needed
    assert check("microsoft/phi-4", **IN_HOUSE).verdict == "ok"
    assert check("Qwen/Qwen2.5-7B-Instruct", **IN_HOUSE).verdict == "ok"
    shipped = check("Qwen/Qwen2.5-7B-Instruct", **{**IN_HOUSE, "redistributes": True})
    assert shipped.verdict == "ok_with_obligations"  # keep the license and NOTICE
    assert kinds(shipped.obligations) == ["attribution"]


def test_a_model_without_a_license_or_with_an_unknown_kind_needs_review() -> None:
    phi = CATALOG.find("microsoft/phi-4")
    bare = replace(phi, facts={}, conditions=())
    assert check_license(bare, OrganizationSettings(), CATALOG).reviews[0].code == "license_unknown"
    odd = replace(phi, conditions=(replace(phi.conditions[0], kind="royalty"),))
    report = check_license(odd, OrganizationSettings(), CATALOG)
    assert report.verdict == "needs_review" and report.reviews[0].code == "license_unknown_kind"
    no_use = replace(phi, facts={k: f for k, f in phi.facts.items() if k != "commercial_use"})
    assert check_license(no_use, OrganizationSettings(), CATALOG).verdict == "needs_review"
    research = OrganizationSettings(commercial=False)
    assert check_license(no_use, research, CATALOG).verdict == "ok"


def test_an_undescribed_organization_is_said_so_and_every_item_has_its_source() -> None:
    for entry in CATALOG.models:
        report = check_license(entry, OrganizationSettings(), CATALOG)
        assert not report.organization_described
        for item in report.items:
            assert item.source.startswith("https://") and item.date == DATE, (entry.id, item)
    described = check("phi-4", monthly_active_users=10)
    assert described.organization_described


def test_the_report_as_json_says_it_is_not_legal_advice() -> None:
    data = check("Llama-3.1-8B-Instruct").to_dict("en")
    assert set(data) == {
        "model",
        "license_name",
        "license_id",
        "commercial_use",
        "verdict",
        "organization_described",
        "blockers",
        "obligations",
        "needs_review",
        "notes",
        "fill_in",
        "disclaimer",
    }
    assert data["disclaimer"].startswith("Not legal advice")
    assert data["verdict"] == "needs_review" and data["fill_in"] == [
        "monthly_active_users",
        "redistributes",
    ]
    item = data["needs_review"][0]
    assert set(item) == {
        "kind",
        "code",
        "message",
        "model",
        "inherited",
        "chain",
        "condition",
        "unverified",
        "source",
        "date",
        "fill_in",
    }
    assert check("Llama-3.1-8B-Instruct").to_dict("ja")["disclaimer"].startswith("法的助言")


def test_every_license_message_has_both_languages() -> None:
    keys = [key for key in MESSAGES if key.startswith("license_")]
    assert len(keys) > 40
    for key in keys:
        english, japanese = MESSAGES[key]
        fields = [
            {f for _, f, _, _ in string.Formatter().parse(s) if f} for s in (english, japanese)
        ]
        assert fields[0] == fields[1] and english != japanese, key
    assert t("license_verdict_blocked", "ja") == "利用不可"


# --- the [organization] settings ---------------------------------------------------------


def test_organization_settings_are_checked(tmp_path: Path) -> None:
    from kotae.config import load_settings

    path = write(tmp_path / "kotae.toml", "[organization]\nmonthly_active_users = -1\n")
    with pytest.raises(ConfigError, match="monthly_active_users"):
        load_settings(path)
    write(path, "[organization]\nmau = 5\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(path)
    write(path, '[organization]\nmonthly_active_users = 5\nderivative_name = "Llama-X"\n')
    org = load_settings(path).organization
    assert org.monthly_active_users == 5 and org.commercial and org.eu_presence is None


def test_kotae_init_writes_a_commented_organization_example(tmp_path: Path) -> None:
    from kotae.config import load_settings

    init_kb(tmp_path / "kb").close()
    written = (tmp_path / "kb" / "kotae.toml").read_text("utf-8")
    assert load_settings(tmp_path / "kb" / "kotae.toml").organization == OrganizationSettings()
    example = written.split("# [organization]\n")[1]
    lines = [line.removeprefix("# ") for line in example.splitlines()]
    path = write(tmp_path / "org.toml", "[organization]\n" + "\n".join(lines))
    org = load_settings(path).organization
    assert org.derivative_name == "Llama-Acme-JA-8B" and org.monthly_active_users == 50_000
    assert org.model_fields_set == set(OrganizationSettings.model_fields)


# --- kotae models license ----------------------------------------------------------------


@pytest.fixture
def catalog_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The inline catalog behind the command; the current folder has no kotae.toml."""
    monkeypatch.setattr(licenses_cli, "_catalog", lambda: CATALOG)
    monkeypatch.delenv("KOTAE_KB", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(["models", "license", *args])
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    return int(code or 0), out, err


def test_cli_json_shape_and_an_undescribed_organization(
    catalog_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["Llama-3.1-8B-Instruct", "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert data["verdict"] == "needs_review" and data["organization_described"] is False
    assert data["organization_file"] is None
    assert data["organization"]["commercial"] is True
    assert data["fill_in"] == ["monthly_active_users", "redistributes"]
    assert {i["kind"] for i in data["obligations"]} == {"attribution", "acceptable_use"}
    code, out, _ = run(["Llama-3.1-8B-Instruct"], capsys)
    assert code == 0
    assert "the organization is not described" in out and "verdict: needs review" in out
    assert "fill in [organization] in kotae.toml: monthly_active_users, redistributes" in out
    assert f"source: {LLAMA31} ({DATE})" in out and "Not legal advice" in out


def test_cli_blocked_exits_1_reading_the_knowledge_base_settings(
    catalog_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init_kb(catalog_cli / "kb").close()
    config = catalog_cli / "kb" / "kotae.toml"
    config.write_text(
        config.read_text("utf-8") + "\n[organization]\nmonthly_active_users = 800_000_000\n",
        "utf-8",
    )
    code, out, err = run(["Llama-3.1-8B-Instruct", "--kb", str(catalog_cli / "kb")], capsys)
    assert code == 1 and err == ""
    assert "verdict: blocked" in out and f"[organization] of {config}" in out
    assert "Meta must grant you a separate license" in out
    code, out, _ = run(["Llama-3.1-8B-Instruct", "--kb", str(catalog_cli / "kb"), "--json"], capsys)
    assert code == 1 and json.loads(out)["organization_file"] == str(config)


def test_cli_reads_the_current_folders_kotae_toml(
    catalog_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        catalog_cli / "kotae.toml", "[organization]\ncommercial = true\nmonthly_active_users = 9\n"
    )
    code, out, _ = run(["Qwen2.5-3B-Instruct"], capsys)
    assert code == 1 and "research use only" in out
    code, out, _ = run(["phi-4"], capsys)
    assert code == 0 and "verdict: ok" in out


def test_cli_wrong_input_is_one_line_exit_2(
    catalog_cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["no-such-model"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no model 'no-such-model' in the catalog" in err
    code, _, err = run(["  "], capsys)
    assert code == 2 and "give a model name" in err
    write(catalog_cli / "kotae.toml", "[organization]\nmau = 5\n")
    code, _, err = run(["phi-4"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "[organization] mau" in err


def test_cli_a_missing_catalog_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        licenses_cli, "load_catalog", lambda: load_catalog(tmp_path / "models.toml")
    )
    code, _, err = run(["phi-4"], capsys)
    assert code == 2 and "cannot be read" in err and len(err.strip().splitlines()) == 1


def test_cli_speaks_japanese(
    catalog_cli: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "ja")
    write(
        catalog_cli / "kotae.toml",
        "[organization]\neu_domiciled = true\nmonthly_active_users = 9\n",
    )
    code, out, _ = run(["Llama-4-Scout-17B-16E-Instruct"], capsys)
    assert code == 1
    assert "判定: 利用不可" in out and "利用を妨げる条件:" in out and "守るべき義務:" in out
    assert (
        "主たる事業所が EU にある企業" in out
        and "出典: " in out
        and "法的助言ではありません" in out
    )
    code, _, err = run(["no-such-model"], capsys)
    assert code == 2 and "カタログにモデル" in err
    data = json.loads(run(["Llama-4-Scout-17B-16E-Instruct", "--json"], capsys)[1])
    assert data["blockers"][0]["message"].startswith("主たる事業所が EU")


# --- the shipped catalog, once it exists ---------------------------------------------------

shipped = pytest.mark.skipif(not CATALOG_FILE.exists(), reason="no shipped catalog yet")


@shipped
def test_every_shipped_model_gets_a_verdict_with_sources() -> None:
    catalog = load_catalog()
    for entry in catalog.models:
        report = check_license(entry, OrganizationSettings(**IN_HOUSE), catalog)
        assert report.verdict in {"ok", "ok_with_obligations", "needs_review", "blocked"}
        for item in report.items:
            if item.condition and not item.condition.startswith("commercial_use:"):
                assert item.source and item.date, (entry.id, item)


@shipped
def test_the_shipped_catalog_reads_the_traps_right() -> None:
    catalog = load_catalog()
    assert check("Qwen/Qwen2.5-3B-Instruct", catalog, **IN_HOUSE).verdict == "blocked"
    big = {**IN_HOUSE, "monthly_active_users": 800_000_000}
    assert check("meta-llama/Llama-3.1-8B-Instruct", catalog, **big).verdict == "blocked"
    assert check("Qwen/Qwen2.5-72B-Instruct", catalog, **big).verdict == "blocked"
    eu = {**IN_HOUSE, "eu_domiciled": True}
    assert check("meta-llama/Llama-4-Scout-17B-16E-Instruct", catalog, **eu).verdict == "blocked"
    assert check("meta-llama/Llama-3.1-8B-Instruct", catalog, **eu).verdict != "blocked"
    distill = check("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", catalog, **big)
    assert distill.verdict in {"blocked", "needs_review"}
