"""``kotae models list`` and ``kotae models show``: the model catalog, every fact with its
source and date (:mod:`kotae.planning.catalog`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from kotae.cli.common import JsonOption, console, fail, print_json, print_table
from kotae.messages import t
from kotae.planning.catalog import JAPANESE_LEVELS, ModelCatalog, ModelEntry, load_catalog

FamilyOption = Annotated[
    str | None,
    typer.Option(
        "--family",
        metavar="F",
        help="Only this family (its name or the start of it, any case): Qwen2.5, Llama, Gemma...",
    ),
]
JapaneseOption = Annotated[
    bool,
    typer.Option(
        "--japanese",
        help="Only models tuned for Japanese or whose vendor lists Japanese.",
    ),
]
ModelArgument = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="A model id (Qwen/Qwen2.5-7B-Instruct), the part after the slash, or an alias.",
    ),
]

_LEADING_SIZE = re.compile(r"^(?:up to |natively )?(\d+(?:\.\d+)?\s?[KkMm])\b")


def register(models_app: typer.Typer) -> None:
    """Add ``list`` and ``show`` to the ``kotae models`` group."""
    models_app.command("list")(list_models)
    models_app.command("show")(show_model)


def list_models(
    family: FamilyOption = None,
    japanese: JapaneseOption = False,
    json_out: JsonOption = False,
) -> None:
    """List the models of the catalog: size, context, license, commercial use, Japanese.

    A fact that is not known is shown as "?". Example: kotae models list --japanese
    """
    catalog = load_catalog()
    models = list(catalog.models)
    if family is not None:
        models = _of_family(catalog, family)
    if japanese:
        models = [m for m in models if m.value("japanese") in ("tuned", "official")]
    if json_out:
        print_json([m.to_dict() for m in models])
        return
    if not models:
        console.print(t("catalog_none_match"))
        return
    print_table(
        ["id", "family", "params (B)", "context", "license", "commercial use", "Japanese"],
        [_row(m) for m in models],
    )


def show_model(model: ModelArgument, json_out: JsonOption = False) -> None:
    """Show one model: every fact with its source and date, the license conditions, the
    benchmark figures with their sources, and what is not known.

    Example: kotae models show Qwen/Qwen2.5-7B-Instruct
    """
    catalog = load_catalog()
    entry = catalog.find(model)
    inherited = {
        name: (fact, origin)
        for name, (fact, origin) in catalog.architecture_of(entry).items()
        if origin != entry.id
    }
    if json_out:
        data = entry.to_dict()
        data["architecture_from_base"] = {
            name: {**fact.to_dict(), "from": origin} for name, (fact, origin) in inherited.items()
        }
        print_json(data)
        return
    console.print(
        t("catalog_model_heading", id=entry.id, family=entry.family, vendor=entry.vendor),
        markup=False,
    )
    if entry.aliases:
        console.print(t("catalog_aliases", names=", ".join(entry.aliases)), markup=False)
    if entry.base_models:
        console.print(t("catalog_base_models", names=", ".join(entry.base_models)), markup=False)
    console.print("")
    console.print(t("catalog_section_facts"), markup=False)
    rows = [
        [name, _value(fact.value), fact.source, fact.date, fact.note]
        for name, fact in entry.facts.items()
    ]
    for name, (fact, origin) in inherited.items():
        value = f"{_value(fact.value)} ({t('catalog_from_base', base=origin)})"
        rows.append([name, value, fact.source, fact.date, fact.note])
    print_table(["fact", "value", "source", "date", "note"], rows)
    unknown = {k: v for k, v in entry.unknown.items() if k not in inherited}
    if unknown:
        console.print("")
        console.print(t("catalog_section_unknown"), markup=False)
        print_table(["fact", "why"], [[name, why] for name, why in unknown.items()])
    console.print("")
    console.print(t("catalog_section_conditions"), markup=False)
    if entry.conditions:
        print_table(
            ["kind", "condition", "source", "date"],
            [[c.kind + _params(c.params), c.text, c.source, c.date] for c in entry.conditions],
        )
    else:
        console.print(t("catalog_no_conditions"), markup=False)
    console.print("")
    console.print(t("catalog_section_benchmarks"), markup=False)
    if entry.benchmarks:
        print_table(
            ["benchmark", "score", "source", "date"],
            [[b.name, _value(b.score), b.source, b.date] for b in entry.benchmarks],
        )
    else:
        console.print(t("catalog_no_benchmarks"), markup=False)


def _of_family(catalog: ModelCatalog, family: str) -> list[ModelEntry]:
    wanted = family.strip().casefold()
    found = [m for m in catalog.models if wanted and m.family.casefold().startswith(wanted)]
    if not found:
        fail(t("catalog_no_family", family=family, families=", ".join(catalog.families())))
    return found


def _row(entry: ModelEntry) -> list[str]:
    return [
        entry.id,
        entry.family,
        _params_cell(entry),
        _context_cell(entry),
        _license_cell(entry),
        _choice("catalog_commercial_", entry.value("commercial_use"), ("yes", "conditional", "no")),
        _choice("catalog_japanese_", entry.value("japanese"), JAPANESE_LEVELS),
    ]


def _params_cell(entry: ModelEntry) -> str:
    total, active = entry.value("params_total_b"), entry.value("params_active_b")
    if total is None:
        return t("catalog_unknown")
    if active is None or active == total:
        return _value(total) if active is not None else f"{_value(total)}/{t('catalog_unknown')}"
    return f"{_value(total)}/{_value(active)}"


def _context_cell(entry: ModelEntry) -> str:
    tokens = entry.value("context_tokens")
    if isinstance(tokens, int):
        return f"{tokens:,}"
    text = entry.value("context_text")
    match = _LEADING_SIZE.match(str(text)) if text else None
    return match.group(1) if match else t("catalog_unknown")


def _license_cell(entry: ModelEntry) -> str:
    license_id = entry.value("license_id")
    if license_id == "custom":
        return str(entry.value("license_name") or license_id)
    return str(license_id) if license_id is not None else t("catalog_unknown")


def _choice(prefix: str, value: Any, known: tuple[str, ...]) -> str:
    if value in known:
        return t(prefix + str(value))
    return t("catalog_unknown") if value is None else str(value)


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _params(params: dict[str, Any]) -> str:
    if not params:
        return ""
    return " (" + ", ".join(f"{k}={_value(v)}" for k, v in params.items()) + ")"
