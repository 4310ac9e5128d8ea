"""Documents and ingestion jobs: upload (editors, in their groups), list, show, delete.

An upload is checked before anything is written: each file's name, format and size, and a
full read by its loader (a broken or empty file is a 400 with the loader's message, and
nothing is kept). The files are then saved under ``KB_DIR/uploads/<job>/`` and ingested by
the server's writer as a job to poll at ``/api/jobs/{id}``. Every upload is a new
document: the same name uploaded twice gives two documents, until one is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from kotae.acl import parse_groups
from kotae.documents import load_document
from kotae.errors import DocumentError, localized
from kotae.index.catalog import DocumentRow
from kotae.kb import KnowledgeBase
from kotae.security.audit import record_kb
from kotae.security.auth import Identity
from kotae.server.deps import MAX_ID, Caller, State
from kotae.server.errors import ERROR_RESPONSES, ApiError, not_found
from kotae.server.jobs import UPLOADS
from kotae.server.state import ServerState

router = APIRouter(prefix="/api", tags=["documents"])

MAX_FILES = 100
DocId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="a document's id")]


class DocumentOut(BaseModel):
    id: int
    title: str
    name: str
    format: str
    groups: list[str]
    size_bytes: int
    version: int
    created_at: str
    updated_at: str


class DocumentList(BaseModel):
    documents: list[DocumentOut]


class JobFile(BaseModel):
    name: str
    status: str
    documents: int | None = None
    error: str | None = None


class JobOut(BaseModel):
    id: str
    status: str
    user: str | None
    groups: list[str]
    files: list[JobFile]
    total: int
    done: int
    created_at: str
    updated_at: str


class JobCreated(BaseModel):
    job: str
    status: str
    status_url: str


class Deleted(BaseModel):
    id: int
    deleted: bool


def _document(doc: DocumentRow) -> dict[str, Any]:
    return {
        "id": doc.id,
        "title": doc.title,
        "name": Path(doc.source.split("#", 1)[0]).name,
        "format": doc.format,
        "groups": list(doc.groups),
        "size_bytes": doc.size_bytes,
        "version": doc.version,
        "created_at": doc.created_at,
        "updated_at": doc.updated_at,
    }


@router.get("/documents", response_model=DocumentList, responses=ERROR_RESPONSES)
def list_documents(caller: Caller, state: State) -> dict[str, Any]:
    """The documents the caller may read."""
    with state.reading() as kb:
        docs = kb.documents(caller.access)
    return {"documents": [_document(d) for d in docs]}


@router.get("/documents/{doc_id}", response_model=DocumentOut, responses=ERROR_RESPONSES)
def show_document(doc_id: DocId, caller: Caller, state: State) -> dict[str, Any]:
    """One document, if the caller may read it (a hidden one is not found)."""
    with state.reading() as kb:
        doc = kb.document(doc_id, caller.access)
    if doc is None:
        raise not_found("document", "文書")
    return _document(doc)


@router.delete("/documents/{doc_id}", response_model=Deleted, responses=ERROR_RESPONSES)
async def delete_document(doc_id: DocId, caller: Caller, state: State) -> dict[str, Any]:
    """Delete a document: admins any, editors those whose groups are all theirs."""
    caller.require("editor")
    doc = await run_in_threadpool(_readable, state, doc_id, caller)
    if doc is None:
        raise not_found("document", "文書")
    if not caller.may_write(doc.groups):
        raise _not_your_groups(caller)
    writer = _writer(state)
    # awaited, not waited for in a request thread: a deletion queued behind a long job
    # must not hold one of the few threads that searches need
    removed = await asyncio.wrap_future(writer.submit(lambda w: remove_document(w, doc)))
    if removed:
        detail = {"documents": [doc_id], "groups": list(doc.groups)}
        await run_in_threadpool(_audit, state, caller, "documents.removed", str(doc_id), detail)
    return {"id": doc_id, "deleted": bool(removed)}


def _audit(
    state: ServerState, caller: Identity, action: str, target: str, detail: dict[str, Any]
) -> None:
    with state.reading() as kb:
        record_kb(kb, action, actor=caller.user.name, target=target, detail=detail)


def _readable(state: ServerState, doc_id: int, caller: Identity) -> DocumentRow | None:
    with state.reading() as kb:
        return kb.document(doc_id, caller.access)


def remove_document(kb: KnowledgeBase, doc: DocumentRow) -> int:
    """Remove a document; an uploaded one also loses its file, and the last document of
    an upload its folder and access rule, so nothing of it stays in the knowledge base's
    folder."""
    removed = kb.remove_documents([doc.id])
    uploads = (kb.path / UPLOADS).resolve()
    source = Path(doc.source)
    if removed and source.is_relative_to(uploads):
        source.unlink(missing_ok=True)
        source.with_name(source.name + ".kenc").unlink(missing_ok=True)  # sealed (encrypted)
        folder = source.parent
        if folder.parent == uploads and not any(folder.iterdir()):
            if str(folder) in kb.catalog.acl_rules():
                kb.remove_acl([str(folder)])
            with contextlib.suppress(OSError):
                folder.rmdir()
    return removed


def _not_your_groups(caller: Identity) -> ApiError:
    mine = ", ".join(caller.user.groups) or "-"
    return ApiError(
        403,
        f"editors write only in their own groups ({mine}); public documents need an admin",
        kind="permission_error",
        message_ja=f"編集者は自分のグループ（{mine}）の文書だけを追加・削除できます。"
        "公開文書は管理者が扱います",
    )


def _writer(state: ServerState) -> Any:
    if state.writer is None or state.writer.stopping:
        raise ApiError(503, "the server is shutting down", kind="api_error")
    return state.writer


def safe_name(name: str | None) -> str:
    """The file name of an upload, without any folder part; 400 when nothing is left."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    if not base or len(base.encode()) > 200:
        raise ApiError(
            400, f"invalid file name {name!r}", message_ja=f"ファイル名 {name!r} は使えません"
        )
    return base


@router.post(
    "/documents",
    response_model=JobCreated,
    status_code=202,
    responses=ERROR_RESPONSES,
)
async def upload(
    caller: Caller,
    state: State,
    files: Annotated[list[UploadFile], File(description="the documents")],
    groups: Annotated[str, Form(description="groups that may read them, comma-separated")] = "",
) -> dict[str, Any]:
    """Upload documents readable by ``groups`` (editors: their own groups; admins: any, or
    none for public) as an ingestion job."""
    caller.require("editor")
    try:
        wanted = parse_groups([groups]) if groups.strip() else ()
    except Exception as exc:
        raise ApiError(400, str(exc)) from None
    if not caller.may_write(wanted):
        raise _not_your_groups(caller)
    if not files or len(files) > MAX_FILES:
        raise ApiError(400, f"send 1 to {MAX_FILES} files")
    writer = _writer(state)
    job_id = uuid.uuid4().hex
    folder = state.kb_path / UPLOADS / job_id
    names = [safe_name(f.filename) for f in files]
    if len(set(names)) != len(names):
        raise ApiError(
            400, "two files have the same name", message_ja="同じ名前のファイルがあります"
        )
    try:
        folder.mkdir(parents=True)
        saved = []
        for upload_file, name in zip(files, names, strict=True):
            path = folder / name
            with path.open("wb") as out:
                await run_in_threadpool(shutil.copyfileobj, upload_file.file, out)
            saved.append(path)
        await run_in_threadpool(_check_files, state, saved)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    await run_in_threadpool(_create_job, state, writer, caller.user.name, saved, wanted)
    detail = {"job": job_id, "files": [p.name for p in saved], "groups": list(wanted)}
    await run_in_threadpool(_audit, state, caller, "documents.uploaded", job_id, detail)
    return {"job": job_id, "status": "queued", "status_url": f"/api/jobs/{job_id}"}


def _create_job(
    state: ServerState, writer: Any, user: str, files: list[Path], groups: tuple[str, ...]
) -> None:
    with state.reading() as kb:
        writer.create_job(kb, user, files, groups)


def _check_files(state: ServerState, paths: list[Path]) -> None:
    """Read each file with its loader, under ``[ingest]``'s limits: 400 on the first that
    fails, before any job exists."""
    limits = state.settings.ingest.limits()
    for path in paths:
        try:
            load_document(path, limits)
        except DocumentError as exc:
            english, japanese = (
                _named(localized(exc, lang).replace(str(path), path.name), path.name)
                for lang in ("en", "ja")
            )
            raise ApiError(400, english, message_ja=japanese) from None


def _named(message: str, name: str) -> str:
    """A loader's message about an upload, naming the file once, without the server's path."""
    return message if message.startswith(name) else f"{name}: {message}"


@router.get("/jobs/{job_id}", response_model=JobOut, responses=ERROR_RESPONSES)
def job(job_id: str, caller: Caller, state: State) -> dict[str, Any]:
    """An ingestion job's status: its own user's, or any for an admin."""
    with state.reading() as kb:
        row = kb.catalog.job_row(job_id) if len(job_id) <= 64 else None
    if row is None or not (caller.is_admin or row["user"] == caller.user.name):
        raise not_found("job", "ジョブ")
    detail = row["detail"]
    return {
        "id": row["id"],
        "status": row["status"],
        "user": row["user"],
        "groups": detail.get("groups", []),
        "files": detail.get("files", []),
        "total": detail.get("total", 0),
        "done": detail.get("done", 0),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
