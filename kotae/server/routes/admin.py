"""The routes behind the web UI's passage view and admin pages.

- ``GET /api/chunks/{id}``: one passage (a citation opened), if the caller may read it.
- ``GET /api/log``: the query log as the caller may see it (admins every entry; others
  their own entries' text, the rest redacted, as ``kotae log list --as``).
- ``/api/admin/...`` (admins): users (groups and role), API keys (a created key is returned
  once), groups, and the latest evaluation report. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from kotae.acl import list_groups, parse_groups
from kotae.errors import KotaeError
from kotae.querylog import list_entries
from kotae.retrieval import SearchResult
from kotae.security.audit import record_kb, record_key
from kotae.security.auth import (
    create_key,
    find_key,
    get_user,
    list_keys,
    list_users,
    now_utc,
    parse_expiry,
    revoke_key,
    set_role,
)
from kotae.server.deps import MAX_ID, Caller, State
from kotae.server.errors import ERROR_RESPONSES, ApiError, ErrorResponse, not_found

router = APIRouter(prefix="/api", tags=["admin"])
# an admin may not lock themselves out: their own role, their own user, the key in use
SELF_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {"model": ErrorResponse, "description": "The change would lock the caller out"},
}

ChunkId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a chunk's id")]
KeyId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="an API key's id")]
UserName = Annotated[str, PathParam(min_length=1, max_length=200, description="a user's name")]


# -- passages -------------------------------------------------------------------------------
class Passage(BaseModel):
    chunk_id: int
    document_id: int
    title: str
    source_name: str
    format: str
    text: str
    heading_path: list[str]
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    location: str


@router.get("/chunks/{chunk_id}", response_model=Passage, responses=ERROR_RESPONSES)
def chunk(chunk_id: ChunkId, caller: Caller, state: State) -> dict[str, Any]:
    """One passage with its place in the document (a hidden one is not found)."""
    with state.reading() as kb:
        row = kb.catalog.chunks_by_id([chunk_id]).get(chunk_id)
        if row is None or not caller.access.can_read(row.groups):
            raise not_found("passage", "箇所")
        doc = kb.catalog.document(row.document_id)
    place = SearchResult(
        rank=1,
        score=0.0,
        document_id=row.document_id,
        chunk_id=row.id,
        title=row.title,
        source=row.source,
        text=row.text,
        snippet="",
        heading_path=row.heading_path,
        page=row.page,
        slide=row.slide,
        sheet=row.sheet,
    )
    return {
        "chunk_id": row.id,
        "document_id": row.document_id,
        "title": row.title,
        "source_name": row.source.replace("\\", "/").rsplit("/", 1)[-1],
        "format": doc.format if doc is not None else "",
        "text": row.text,
        "heading_path": list(row.heading_path),
        "page": row.page,
        "slide": row.slide,
        "sheet": row.sheet,
        "location": place.location,
    }


# -- the query log --------------------------------------------------------------------------
@router.get("/log", responses=ERROR_RESPONSES)
def log(
    caller: Caller,
    state: State,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    kind: Literal["search", "ask", "chat", "eval", "proxy"] | None = None,
    status: Literal["ok", "no_evidence", "error"] | None = None,
) -> dict[str, Any]:
    """The latest entries first, as the caller may read them."""
    with state.reading() as kb:
        entries = list_entries(
            kb.catalog, limit=limit, kind=kind, status=status, reader=caller.access
        )
    return {"entries": [e.to_dict() for e in entries]}


# -- users ----------------------------------------------------------------------------------
class UserChange(BaseModel):
    groups: list[str] | None = Field(default=None, max_length=100)
    role: Literal["admin", "editor", "reader"] | None = None


def _user_out(kb: Any, name: str) -> dict[str, Any]:
    user = get_user(kb.catalog, name)
    if user is None:
        raise not_found("user", "ユーザー")
    now = now_utc()
    valid = sum(1 for k in list_keys(kb.catalog, name) if k.state(now) == "valid")
    return {**user.to_dict(), "valid_keys": valid}


@router.get("/admin/users", responses=ERROR_RESPONSES)
def users(caller: Caller, state: State) -> list[dict[str, Any]]:
    caller.require("admin")
    with state.reading() as kb:
        return [_user_out(kb, u.name) for u in list_users(kb.catalog)]


@router.put("/admin/users/{name}", responses=SELF_RESPONSES)
def put_user(name: UserName, change: UserChange, caller: Caller, state: State) -> dict[str, Any]:
    """Create a user or change their groups and role (admins)."""
    caller.require("admin")
    if name == caller.user.name and change.role not in (None, "admin"):
        raise ApiError(
            409,
            "you cannot take away your own admin role",
            message_ja="自分の管理者ロールは外せません",
        )
    with state.reading() as kb:
        existing = get_user(kb.catalog, name)
        before = (
            None if existing is None else {"groups": list(existing.groups), "role": existing.role}
        )
        if change.groups is not None:
            groups = list(parse_groups(change.groups))  # checked before anything is written
        else:
            groups = list(existing.groups) if existing else []
        kb.set_user(name, groups)
        if change.role is not None:
            set_role(kb.catalog, name, change.role)
        out = _user_out(kb, name)
        after = {"groups": out["groups"], "role": out["role"]}
        if before != after:
            record_kb(
                kb,
                "user.set",
                actor=caller.user.name,
                target=name,
                detail={"before": before, "after": after},
            )
    return out


@router.delete("/admin/users/{name}", responses=SELF_RESPONSES)
def delete_user(name: UserName, caller: Caller, state: State) -> dict[str, Any]:
    caller.require("admin")
    if name == caller.user.name:
        raise ApiError(409, "you cannot remove yourself", message_ja="自分自身は削除できません")
    with state.reading() as kb:
        keys = len(list_keys(kb.catalog, name))
        if not kb.catalog.remove_user(name):
            raise not_found("user", "ユーザー")
        record_kb(
            kb, "user.removed", actor=caller.user.name, target=name, detail={"keys_removed": keys}
        )
    return {"name": name, "deleted": True}


@router.get("/admin/groups", responses=ERROR_RESPONSES)
def groups(caller: Caller, state: State) -> list[dict[str, Any]]:
    caller.require("admin")
    with state.reading() as kb:
        return [g.to_dict() for g in list_groups(kb)]


# -- API keys -------------------------------------------------------------------------------
class KeyRequest(BaseModel):
    user: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    expires: str | None = Field(default=None, max_length=40)


@router.get("/admin/keys", responses=ERROR_RESPONSES)
def keys(
    caller: Caller, state: State, user: Annotated[str | None, Query(max_length=200)] = None
) -> list[dict[str, Any]]:
    caller.require("admin")
    now = now_utc()
    with state.reading() as kb:
        return [k.to_dict(now) for k in list_keys(kb.catalog, user)]


@router.post("/admin/keys", responses=ERROR_RESPONSES)
def new_key(request: KeyRequest, caller: Caller, state: State) -> dict[str, Any]:
    """A new key: returned once (``key``), never stored."""
    caller.require("admin")
    expires_at = None if request.expires is None else parse_expiry(request.expires)
    with state.reading() as kb:
        if get_user(kb.catalog, request.user) is None:
            raise not_found("user", "ユーザー")
        secret, key = create_key(
            kb.catalog, request.user, name=request.name.strip(), expires_at=expires_at
        )
        record_key(kb, "key.created", key, actor=caller.user.name)
    return {"key": secret, **key.to_dict()}


@router.delete("/admin/keys/{key_id}", responses=SELF_RESPONSES)
def delete_key(key_id: KeyId, caller: Caller, state: State) -> dict[str, Any]:
    caller.require("admin")
    if caller.key is not None and caller.key.id == key_id:
        raise ApiError(
            409,
            "you cannot revoke the key you are using: use another admin's key",
            message_ja="使用中のキーは無効化できません。別の管理者のキーを使ってください",
        )
    with state.reading() as kb:
        try:
            before = find_key(kb.catalog, str(key_id))
        except KotaeError as exc:
            raise not_found("API key", "API キー") from exc
        key = revoke_key(kb.catalog, str(key_id))
        if before.revoked_at is None:
            record_key(kb, "key.revoked", key, actor=caller.user.name)
    return key.to_dict()


# -- the latest evaluation report -------------------------------------------------------------
# errors stay JSON on this HTML route: said explicitly, or FastAPI would document them as HTML
_HTML_ROUTE_ERRORS = {
    status: {
        **spec,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
    for status, spec in ERROR_RESPONSES.items()
}


@router.get("/admin/report", response_class=HTMLResponse, responses=_HTML_ROUTE_ERRORS)
def report(caller: Caller, state: State, lang: Literal["ja", "en"] = "ja") -> HTMLResponse:
    """The HTML report of the latest finished evaluation run (the PoC's figures)."""
    from kotae.evaluation.report import render_report

    caller.require("admin")
    with state.reading() as kb:
        store = kb.catalog
        runs = [r for r in store.eval_runs(limit=20) if r.status == "done"]
        if not runs:
            raise not_found("evaluation run", "評価の実行")
        run = runs[0]
        results = {run.id: store.eval_results(run.id)}
        items = {item.id: item for item in store.eval_items(run.id)}
        use_case = kb.settings.use_case.model_dump()
    html = render_report([run], results, items, use_case=use_case, language=lang)
    return HTMLResponse(html, headers={"Content-Security-Policy": "sandbox"})
