"""License check: a model's license conditions against the organization that uses it.

:func:`check_license` reads the conditions of a catalog entry (:mod:`kotae.planning.catalog`)
and of every model it is derived from (``base_models``, followed recursively: a fine-tune
or distill carries each base model's license), and sorts each into

- a **blocker**: the license forbids this organization's use (over a monthly-active-user
  limit, a non-commercial or research-only license used commercially, Llama 4's exclusion
  of EU-domiciled licensees from its multimodal models);
- a **review** item: a fact the verdict depends on is unknown (a null
  ``monthly_active_users`` against a MAU clause is not a pass), or the catalog cannot
  answer (a base model missing from it, a condition kind kotae does not know);
- an **obligation**: what to do (ship the license, "Built with Llama", the "Llama" name
  prefix of a distributed derivative, the notice file, the acceptable use policy). An
  obligation that depends on an unknown fact (``redistributes``) is counted as applying
  and names the field to fill in;
- a **note**: checked and not applying, or for information only.

The verdict is ``blocked`` when there is a blocker, else ``needs_review`` when there is a
review item, else ``ok_with_obligations`` when there is an obligation, else ``ok``. Each
item names the model whose license it comes from, the chain of derivation, and the
condition's source and date. This is a summary of the catalog's conditions, not legal
advice: the report says so (``disclaimer``).

The rules, by condition kind (``Condition.kind``):

``mau_limit`` (and ``custom_license`` with ``params.mau``)
    ``monthly_active_users`` over ``params["mau"]``: blocker (the licensor must grant a
    separate license; Llama §2: "greater than 700 million"); at or under it: note;
    unknown: review.
``attribution``
    Applies when the model, a derivative, or a product or service containing it is
    distributed (Llama §1.b.i, §1.b.iii; Apache-2.0 §4): ``redistributes`` true or
    unknown: obligation; false: note.
``name_prefix``
    Applies to a derivative model that is distributed (Llama §1.b.i, last sentence):
    ``derivative_name`` set and ``redistributes`` not false: obligation, saying whether
    the name starts with the prefix (``params["prefix"]``, else the quoted word of the
    text) or how to rename it; otherwise a note.
``eu_exclusion``
    Llama 4 Acceptable Use Policy: for the multimodal models of Llama 4 no rights are
    granted to an individual domiciled in, or a company with its principal place of
    business in, the EU; end users of a product that incorporates the model are exempt.
    It covers the model whether or not images are sent, so it applies when the model is
    multimodal (the ``multimodal`` fact or its ``architecture`` text; when the catalog
    does not say, ``multimodal = true`` of the organization means it is), and only to
    multimodal models when ``params.multimodal_only`` is true or the text says
    "multimodal". Then ``eu_domiciled`` true: blocker; false: note; unknown: note when
    ``eu_presence`` is false, else review.
``non_commercial`` / ``research_only``
    ``commercial`` true: blocker; false: obligation (keep the use non-commercial /
    research only).
``custom_license``
    Obligation: read and follow the license's own text (plus the MAU rule above).
``acceptable_use``
    Obligation: check the use (``industry`` when given) against the prohibited uses.
``inherited``
    Note: the base models' conditions follow, each with the model it comes from. A base
    model that is not in the catalog: review.
``other``
    Note. An unknown kind: review.

Besides the conditions, each model's ``commercial_use`` fact is checked: ``no`` with no
non-commercial condition and a commercial organization is a blocker; an unknown license
or commercial use is a review item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from kotae.config import OrganizationSettings
from kotae.errors import QueryError
from kotae.messages import t
from kotae.planning.catalog import CONDITION_KINDS, Condition, Fact, ModelCatalog, ModelEntry

Status = Literal["blocker", "review", "obligation", "note"]
Verdict = Literal["ok", "ok_with_obligations", "needs_review", "blocked"]
VERDICTS: tuple[Verdict, ...] = ("ok", "ok_with_obligations", "needs_review", "blocked")
KINDS = CONDITION_KINDS  # one list of condition kinds: the catalog's
_UNVERIFIED = re.compile(r"\bunverified\b|\bnot (?:re-?)?read\b|\bnot verified\b|\bverify\b", re.I)
_QUOTED_PREFIX = re.compile(
    r"['\"“‘]([^'\"”’]+)['\"”’]\s+(?:at the beginning|name prefix|prefix)", re.I
)
_MULTIMODAL = re.compile(r"\b(?:multi-?modal|vision|image)", re.I)


@dataclass(frozen=True, slots=True)
class LicenseItem:
    """One finding: its status, the condition it comes from and what it means here.

    ``chain`` runs from the checked model to ``model``, the model whose license holds the
    condition (one id when it is the checked model's own). ``code`` is the key of the
    message in :mod:`kotae.messages`, filled in with ``values``; ``fill_in`` names the
    ``[organization]`` fields that would settle it."""

    status: Status
    kind: str
    code: str
    model: str
    chain: tuple[str, ...]
    condition: str
    source: str
    date: str
    values: dict[str, Any] = field(default_factory=dict)
    fill_in: tuple[str, ...] = ()

    @property
    def inherited(self) -> bool:
        return len(self.chain) > 1

    @property
    def unverified(self) -> bool:
        """The catalog marks the condition as not checked against the license text."""
        return bool(_UNVERIFIED.search(self.condition))

    def message(self, language: str | None = None) -> str:
        return t(self.code, language, **self.values)

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "message": self.message(language),
            "model": self.model,
            "inherited": self.inherited,
            "chain": list(self.chain),
            "condition": self.condition,
            "unverified": self.unverified,
            "source": self.source,
            "date": self.date,
            "fill_in": list(self.fill_in),
        }


@dataclass(frozen=True, slots=True)
class LicenseReport:
    model: str
    license_name: str | None
    license_id: str | None
    commercial_use: str | None
    verdict: Verdict
    items: tuple[LicenseItem, ...]
    organization_described: bool  # any [organization] field was set

    def _of(self, status: Status) -> list[LicenseItem]:
        return [item for item in self.items if item.status == status]

    @property
    def blockers(self) -> list[LicenseItem]:
        return self._of("blocker")

    @property
    def obligations(self) -> list[LicenseItem]:
        return self._of("obligation")

    @property
    def reviews(self) -> list[LicenseItem]:
        return self._of("review")

    @property
    def notes(self) -> list[LicenseItem]:
        return self._of("note")

    @property
    def fill_in(self) -> list[str]:
        """The ``[organization]`` fields that would settle a review item or an obligation
        counted as applying because the fact is unknown."""
        seen: dict[str, None] = {}
        for item in self.items:
            seen.update(dict.fromkeys(item.fill_in))
        return list(seen)

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        return {
            "model": self.model,
            "license_name": self.license_name,
            "license_id": self.license_id,
            "commercial_use": self.commercial_use,
            "verdict": self.verdict,
            "organization_described": self.organization_described,
            "blockers": [i.to_dict(language) for i in self.blockers],
            "obligations": [i.to_dict(language) for i in self.obligations],
            "needs_review": [i.to_dict(language) for i in self.reviews],
            "notes": [i.to_dict(language) for i in self.notes],
            "fill_in": self.fill_in,
            "disclaimer": t("license_disclaimer", language),
        }


def verdict_of(items: list[LicenseItem] | tuple[LicenseItem, ...]) -> Verdict:
    statuses = {item.status for item in items}
    if "blocker" in statuses:
        return "blocked"
    if "review" in statuses:
        return "needs_review"
    if "obligation" in statuses:
        return "ok_with_obligations"
    return "ok"


def check_license(
    model: ModelEntry, org: OrganizationSettings, catalog: ModelCatalog | None
) -> LicenseReport:
    """``model``'s license conditions, and those of every model it derives from (looked up
    in ``catalog``; None = none looked up, each base model is a review item), against
    ``org``."""
    items: list[LicenseItem] = []
    seen_conditions: set[tuple[str, str, str]] = set()
    seen_models: set[str] = set()

    def visit(entry: ModelEntry, chain: tuple[str, ...]) -> None:
        seen_models.add(entry.id)
        items.extend(_fact_items(entry, chain, org))
        for condition in entry.conditions:
            key = (condition.kind, condition.text, condition.source)
            if key in seen_conditions:
                continue
            seen_conditions.add(key)
            items.extend(_condition_items(entry, chain, condition, org))
        for base_id in _bases(entry):
            base = _find(catalog, base_id)
            if base is None:
                items.append(_missing_base(entry, chain, base_id))
            elif base.id not in seen_models and base.id not in chain:
                visit(base, (*chain, base.id))

    visit(model, (model.id,))
    return LicenseReport(
        model.id,
        _text(model.value("license_name")),
        _text(model.value("license_id")),
        _text(model.value("commercial_use")),
        verdict_of(items),
        tuple(items),
        bool(org.model_fields_set),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _bases(entry: ModelEntry) -> list[str]:
    """``base_models``, then any ``params.base`` of an ``inherited`` condition."""
    names = list(entry.base_models)
    for condition in entry.conditions:
        if condition.kind != "inherited":
            continue
        extra = condition.params.get("base")
        for name in [extra] if isinstance(extra, str) else extra if isinstance(extra, list) else []:
            if isinstance(name, str) and name and name not in names:
                names.append(name)
    return names


def _find(catalog: ModelCatalog | None, name: str) -> ModelEntry | None:
    if catalog is None:
        return None
    try:
        return catalog.find(name)
    except QueryError:
        return None


def _missing_base(entry: ModelEntry, chain: tuple[str, ...], base: str) -> LicenseItem:
    where = next((c for c in entry.conditions if c.kind == "inherited"), None)
    fact = entry.facts.get("license_name")
    source, date = (where.source, where.date) if where else _where(fact)
    return LicenseItem(
        "review",
        "inherited",
        "license_base_missing",
        entry.id,
        chain,
        where.text if where else "",
        source,
        date,
        {"model": entry.id, "base": base},
    )


def _where(fact: Fact | None) -> tuple[str, str]:
    return (fact.source, fact.date) if fact else ("", "")


def _fact_items(
    entry: ModelEntry, chain: tuple[str, ...], org: OrganizationSettings
) -> list[LicenseItem]:
    """What the license facts say, besides the conditions: an unknown license, and
    ``commercial_use`` against the organization's use."""

    def item(status: Status, kind: str, code: str, text: str, fact: Fact | None) -> LicenseItem:
        source, date = _where(fact)
        return LicenseItem(
            status, kind, code, entry.id, chain, text, source, date, {"model": entry.id}
        )

    if entry.value("license_name") is None and entry.value("license_id") is None:
        return [item("review", "other", "license_unknown", "", None)]
    fact = entry.facts.get("commercial_use")
    use = None if fact is None or fact.value is None else str(fact.value).strip().lower()
    if {c.kind for c in entry.conditions} & {"non_commercial", "research_only"}:
        return []  # the conditions say it, with their sources
    if use is None:
        if not org.commercial:
            return []
        license_fact = entry.facts.get("license_name") or entry.facts.get("license_id")
        return [item("review", "other", "license_commercial_unknown", "", license_fact)]
    if use != "no":
        return []
    text = f"commercial_use: {use}"
    if org.commercial:
        return [item("blocker", "non_commercial", "license_commercial_no", text, fact)]
    return [item("obligation", "non_commercial", "license_non_commercial_keep", text, fact)]


@dataclass(frozen=True, slots=True)
class _At:
    """A condition of ``entry``, reached through ``chain``: makes its items."""

    entry: ModelEntry
    chain: tuple[str, ...]
    condition: Condition

    def item(
        self, status: Status, code: str, fill_in: tuple[str, ...] = (), **values: Any
    ) -> LicenseItem:
        c = self.condition
        return LicenseItem(
            status,
            c.kind,
            code,
            self.entry.id,
            self.chain,
            c.text,
            c.source,
            c.date,
            values,
            fill_in,
        )


def _condition_items(
    entry: ModelEntry, chain: tuple[str, ...], condition: Condition, org: OrganizationSettings
) -> list[LicenseItem]:
    at = _At(entry, chain, condition)
    kind = condition.kind
    if kind == "mau_limit":
        return [_mau(at, org)]
    if kind == "custom_license":
        license_name = entry.value("license_name") or entry.value("license_id") or entry.id
        found = [at.item("obligation", "license_custom", license=str(license_name))]
        if condition.params.get("mau") is not None:
            found.append(_mau(at, org))
        return found
    if kind == "attribution":
        if org.redistributes is None:
            return [at.item("obligation", "license_redistribute_unknown", ("redistributes",))]
        if org.redistributes:
            return [at.item("obligation", "license_redistribute")]
        return [at.item("note", "license_not_redistributed")]
    if kind == "name_prefix":
        return [_name_prefix(at, org)]
    if kind == "eu_exclusion":
        return [_eu(at, org)]
    if kind in {"non_commercial", "research_only"}:
        if org.commercial:
            return [at.item("blocker", f"license_{kind}_blocked")]
        return [at.item("obligation", f"license_{kind}_keep")]
    if kind == "acceptable_use":
        if org.industry:
            return [at.item("obligation", "license_aup_industry", industry=org.industry)]
        return [at.item("obligation", "license_aup")]
    if kind == "inherited":
        bases = _bases(entry)
        if bases:
            return [at.item("note", "license_inherited", model=entry.id, base=", ".join(bases))]
        return [at.item("note", "license_inherited_none", model=entry.id)]
    if kind == "other":
        return [at.item("note", "license_other")]
    return [at.item("review", "license_unknown_kind", kind=kind)]


def _mau(at: _At, org: OrganizationSettings) -> LicenseItem:
    item = at.item
    limit = at.condition.params.get("mau")
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return item("review", "license_mau_no_limit")
    users = org.monthly_active_users
    if users is None:
        return item("review", "license_mau_missing", ("monthly_active_users",), limit=limit)
    if users > limit:
        vendor = at.entry.vendor or "the licensor"
        return item("blocker", "license_mau_over", mau=users, limit=limit, vendor=vendor)
    return item("note", "license_mau_under", mau=users, limit=limit)


def _prefix_of(condition: Condition) -> str | None:
    given = condition.params.get("prefix")
    if isinstance(given, str) and given:
        return given
    match = _QUOTED_PREFIX.search(condition.text)
    return match.group(1) if match else None


def _name_prefix(at: _At, org: OrganizationSettings) -> LicenseItem:
    item, condition = at.item, at.condition
    name = org.derivative_name
    if org.redistributes is False:
        return item("note", "license_not_redistributed")
    if not name:
        return item("note", "license_name_prefix_none")
    prefix = _prefix_of(condition)
    if prefix is None:
        return item("obligation", "license_name_prefix_check", name=name)
    if name.startswith(prefix):
        return item("obligation", "license_name_prefix_met", name=name, prefix=prefix)
    suggestion = f"{prefix}-{name}"
    return item(
        "obligation", "license_name_prefix_rename", name=name, prefix=prefix, suggestion=suggestion
    )


def is_multimodal(entry: ModelEntry) -> bool | None:
    """Whether the model takes images: its ``multimodal`` fact, else its ``architecture``
    text; None when the catalog says neither."""
    flag = entry.value("multimodal")
    if isinstance(flag, bool):
        return flag
    architecture = entry.value("architecture")
    if isinstance(architecture, str) and architecture.strip():
        return bool(_MULTIMODAL.search(architecture))
    return None


def _eu(at: _At, org: OrganizationSettings) -> LicenseItem:
    item, entry, condition = at.item, at.entry, at.condition
    scoped = condition.params.get("multimodal_only")
    if not isinstance(scoped, bool):
        scoped = "multimodal" in condition.text.lower()
    if scoped:
        multimodal = is_multimodal(entry)
        if multimodal is None and org.multimodal:
            multimodal = True  # the organization sends it images
        if multimodal is None:
            return item("review", "license_eu_modality_unknown", model=entry.id)
        if not multimodal:
            return item("note", "license_eu_text_only", model=entry.id)
    if org.eu_domiciled:
        return item("blocker", "license_eu_blocked")
    if org.eu_domiciled is False:
        return item("note", "license_eu_not_domiciled")
    if org.eu_presence is False:
        return item("note", "license_eu_no_presence")
    return item("review", "license_eu_review", ("eu_domiciled",))
