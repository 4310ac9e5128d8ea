"""E-mail messages (.eml, RFC 822 / MIME) with the standard library.

Title: the Subject. Blocks: one paragraph with the From/To/Cc/Date lines, the body (text/plain
preferred, else the HTML part through :mod:`kotae.documents.html`), a paragraph listing the
attachment names, then the content of each attachment kotae can read (under a heading
``添付: NAME``; headings inside it move one level down).
"""

from __future__ import annotations

import tempfile
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path, PurePath

from kotae.documents.encoding import decode_bytes
from kotae.documents.model import Block, LoadedDocument
from kotae.documents.text import paragraph_blocks
from kotae.errors import DocumentError
from kotae.text.normalize import normalize_inline

_HEADER_FIELDS = ("From", "To", "Cc", "Date")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def _part_text(part: Message) -> str:
    """Decoded text of a MIME part; undeclared or wrong charsets go through decode_bytes."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = part.get_content_charset()
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_bytes(payload)


def _body_blocks(message: EmailMessage) -> list[Block]:
    from kotae.documents.html import html_to_blocks

    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return []
    text = _part_text(body)
    if body.get_content_subtype() == "html":
        return html_to_blocks(text)[1]
    return paragraph_blocks(text)


def _header_block(message: EmailMessage) -> list[Block]:
    lines = []
    for name in _HEADER_FIELDS:
        value = message.get(name)
        if value:
            lines.append(f"{name}: {normalize_inline(str(value))}")
    return [Block("\n".join(lines), "paragraph")] if lines else []


def _attachment_blocks(name: str, data: bytes) -> list[Block]:
    """Blocks of one attachment, or [] when kotae cannot read it."""
    from kotae.documents import load_document, supported_extensions

    safe_name = PurePath(name).name or "attachment"
    suffix = PurePath(safe_name).suffix.lower()
    if suffix not in supported_extensions() or not data or len(data) > MAX_ATTACHMENT_BYTES:
        return []
    with tempfile.TemporaryDirectory(prefix="kotae-eml-") as tmp:
        path = Path(tmp) / safe_name
        path.write_bytes(data)
        try:
            document = load_document(path)
        except DocumentError:
            return []
    inner = [
        Block(b.text, b.kind, b.level + 1, b.page, b.slide, b.sheet) if b.kind == "heading" else b
        for b in document.blocks
    ]
    return [Block(f"添付: {normalize_inline(safe_name)}", "heading", 1), *inner]


def load_eml(path: Path) -> LoadedDocument:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    blocks = _header_block(message) + _body_blocks(message)
    names: list[str] = []
    attachment_blocks: list[Block] = []
    for part in message.iter_attachments():
        name = part.get_filename() or ""
        if name:
            names.append(normalize_inline(name))
        payload = part.get_payload(decode=True)
        if name and isinstance(payload, bytes):
            attachment_blocks.extend(_attachment_blocks(name, payload))
    if names:
        blocks.append(Block("Attachments: " + ", ".join(names), "paragraph"))
    blocks.extend(attachment_blocks)
    subject = normalize_inline(str(message.get("Subject") or ""))
    metadata = {
        k.lower(): normalize_inline(str(message[k])) for k in ("From", "Date") if message[k]
    }
    return LoadedDocument(
        title=subject or path.stem, blocks=blocks, format="eml", metadata=metadata
    )
