"""``kotae models license MODEL``: a model's license conditions, and those it inherits,
checked against the ``[organization]`` section of ``kotae.toml`` (kotae.planning.licenses).

Exit code: 0 when the model may be used (``ok``, ``ok_with_obligations``) or when the
verdict needs review; 1 when it is ``blocked``; 2 for wrong input (one line)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kotae.cli.common import JsonOption, KbOption, console, fail, print_json
from kotae.config import CONFIG_FILE, Settings, load_settings
from kotae.errors import ConfigError
from kotae.kb import find_kb_dir
from kotae.messages import t
from kotae.planning.catalog import CATALOG_FILE, ModelCatalog, load_catalog
from kotae.planning.licenses import LicenseItem, LicenseReport, check_license

EXIT_BLOCKED = 1


def register(models_app: typer.Typer) -> None:
    """Add ``license`` to the ``kotae models`` group ``models_app``."""
    models_app.command("license")(license_check)


def license_check(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL", help="A catalog model: its id, the part after vendor/, or an alias."
        ),
    ],
    json_out: JsonOption = False,
    kb: KbOption = None,
) -> None:
    """The obligations and blockers of MODEL's license (and of the licenses it inherits from
    its base models) for the organization in [organization] of kotae.toml.

    Verdict: ok, ok_with_obligations, needs_review (a fact is unknown: fill it in) or
    blocked. Exit code 1 when blocked, else 0. Not legal advice.

    Example: kotae models license meta-llama/Llama-3.1-8B-Instruct --kb ./kb --json
    """
    if not model.strip():
        fail(t("license_empty_model"))
    settings, where = _settings(kb)
    catalog = _catalog()
    report = check_license(catalog.find(model), settings.organization, catalog)
    if json_out:
        data = report.to_dict()
        data["organization"] = settings.organization.model_dump()
        data["organization_file"] = str(where) if where else None
        print_json(data)
    else:
        _print(report, where)
    if report.verdict == "blocked":
        raise typer.Exit(EXIT_BLOCKED)


def _settings(kb: str | None) -> tuple[Settings, Path | None]:
    """The knowledge base's (or the current folder's) settings when it has a kotae.toml,
    else the defaults with the KOTAE_* variables."""
    path = find_kb_dir(kb) / CONFIG_FILE
    if path.is_file():
        return load_settings(path), path
    return load_settings(None), None


def _catalog() -> ModelCatalog:
    try:
        return load_catalog()
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise ConfigError(
            t("license_no_catalog", "en", path=CATALOG_FILE, detail=detail),
            message_ja=t("license_no_catalog", "ja", path=CATALOG_FILE, detail=detail),
        ) from exc


def _print(report: LicenseReport, where: Path | None) -> None:
    unknown = t("license_unknown_value")
    say = console.print
    say(
        escape(
            t(
                "license_heading",
                model=report.model,
                license=report.license_name or unknown,
                license_id=report.license_id or unknown,
                commercial=_commercial(report.commercial_use) or unknown,
            )
        )
    )
    say(escape(t("license_verdict", verdict=t(f"license_verdict_{report.verdict}"))))
    if report.organization_described:
        shown = str(where) if where else "KOTAE_ORGANIZATION__*"
        say(escape(t("license_org_from", path=shown)))
    else:
        say(escape(t("license_org_none")))
    sections = (
        ("blocker", report.blockers),
        ("obligation", report.obligations),
        ("review", report.reviews),
        ("note", report.notes),
    )
    for status, items in sections:
        if not items:
            continue
        say("")
        say(escape(t(f"license_section_{status}")) + ":")
        for item in items:
            _print_item(item)
    if report.fill_in:
        say("")
        say(escape(t("license_fill_in", fields=", ".join(report.fill_in))))
    say("")
    say(escape(t("license_disclaimer")))


def _commercial(value: str | None) -> str | None:
    """``yes`` / ``conditional`` / ``no`` in the interface language; other text as given."""
    if value in {"yes", "no", "conditional"}:
        return t(f"license_use_{value}")
    return value


def _print_item(item: LicenseItem) -> None:
    say = console.print
    say(escape(f"  - [{item.kind}] {item.message()}"))
    if item.condition:
        key = "license_condition_unverified" if item.unverified else "license_condition"
        say(escape("      " + t(key, text=item.condition)))
    if item.inherited:
        chain = " > ".join(item.chain[:-1])
        say(escape("      " + t("license_from", model=item.model, chain=chain)))
    if item.source:
        say(escape("      " + t("license_source", source=item.source, date=item.date or "-")))
    else:
        say(escape("      " + t("license_no_source")))
