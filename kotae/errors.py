"""Exceptions raised by kotae.

Every error kotae raises on purpose derives from :class:`KotaeError`, carries a message
that says what to do next, and maps to one exit code in the CLI (``exit_code``: 2 for bad
input or settings, 3 when a model backend failed) and one status in the HTTP layer.
Errors a question's asker may see also carry a Japanese message (``message_ja``);
:func:`localized` picks the one in the question's language.

    KotaeError
    ├── ConfigError            invalid settings or kotae.toml
    ├── KnowledgeBaseError     no knowledge base, wrong schema, inconsistent state
    │   ├── IndexMismatchError an index built with another tokenizer / model
    │   ├── EncryptionKeyError the master key is missing, wrong, or given for a plain one
    │   └── EmptyKnowledgeBaseError  nothing ingested yet
    ├── DocumentError          one file could not be ingested (the run goes on)
    │   ├── UnsupportedFormatError  no loader for this format ("convert to ...")
    │   ├── EmptyDocumentError      no text could be extracted
    │   ├── EncryptedDocumentError  password-protected
    │   └── CorruptDocumentError    the file is damaged or not what its name says
    ├── QueryError             an empty or invalid query, unknown user
    │   └── QuestionTooLongError  the question does not fit the model's context window
    ├── AccessError            an invalid group name or access rule
    │   ├── AuthenticationError  no API key, or an unknown, expired or revoked one (HTTP 401)
    │   └── PermissionDeniedError  the caller's role or groups do not allow it (HTTP 403)
    ├── BackendError           an embedder / reranker / generator failed (exit code 3)
    │   ├── BackendUnavailableError  the server cannot be reached or keeps failing
    │   ├── BackendTimeoutError      no answer within the read timeout
    │   ├── ModelNotFoundError       the server does not serve the configured model
    │   ├── ContextOverflowError     the prompt does not fit the model's context window
    │   └── JudgeFormatError         the judge model's reply holds no usable verdict
    └── DatasetError           a dataset folder or eval-set file is malformed
"""

from __future__ import annotations


class KotaeError(Exception):
    """Root of every error kotae raises on purpose.

    ``message_ja`` is the same message in Japanese, for errors shown to the person who
    asked (``kotae ask`` answers in the question's language).
    """

    exit_code = 2

    def __init__(self, message: str = "", *, message_ja: str | None = None) -> None:
        super().__init__(message)
        self.message_ja = message_ja


def localized(exc: KotaeError, language: str) -> str:
    """The message of ``exc`` in ``language`` ("ja" or "en"), English when none exists."""
    if language == "ja" and exc.message_ja:
        return exc.message_ja
    return str(exc)


class ConfigError(KotaeError):
    """Invalid settings."""


class KnowledgeBaseError(KotaeError):
    """The knowledge base is missing, of a newer schema, or inconsistent."""


class IndexMismatchError(KnowledgeBaseError):
    """An index was built with a different tokenizer or model than the query path uses."""


class EncryptionKeyError(KnowledgeBaseError):
    """The master key of an encrypted knowledge base is missing, wrong or malformed, or a
    key was given for a plain one; raised before anything is read or written."""


class EmptyKnowledgeBaseError(KnowledgeBaseError):
    """The knowledge base holds no document yet."""


class DocumentError(KotaeError):
    """A document could not be ingested. ``reason`` is a short machine-readable tag."""

    reason = "error"


class UnsupportedFormatError(DocumentError):
    reason = "unsupported"


class EmptyDocumentError(DocumentError):
    reason = "empty"


class EncryptedDocumentError(DocumentError):
    reason = "encrypted"


class CorruptDocumentError(DocumentError):
    reason = "corrupt"


class QueryError(KotaeError):
    """The query is empty or names an unknown user."""


class QuestionTooLongError(QueryError):
    """The question (with the instructions and the answer budget) leaves no room in the
    generator's context window: bad input, not a backend failure. Raised by
    :func:`kotae.answer.build_messages`, and in place of the generator's
    :class:`ContextOverflowError` when kotae had already packed the sources to fit."""


class AccessError(KotaeError):
    """A group name is malformed or reserved, or an access rule does not exist."""


class AuthenticationError(AccessError):
    """No credentials, or an API key that is unknown, expired or revoked (HTTP 401)."""


class PermissionDeniedError(AccessError):
    """The caller is known, but their role or groups do not allow the action (HTTP 403)."""


class BackendError(KotaeError):
    """A model backend failed or could not be reached."""

    exit_code = 3


class BackendUnavailableError(BackendError):
    """The backend's server refused the connection, or kept failing after the retries."""


class BackendTimeoutError(BackendError):
    """The backend did not answer within its timeout."""


class ModelNotFoundError(BackendError):
    """The server is up but does not serve the configured model."""


class ContextOverflowError(BackendError):
    """The prompt (question, sources, answer budget) does not fit the context window, as
    the backend reports it; the answer pipeline turns it into :class:`QuestionTooLongError`."""


class JudgeFormatError(BackendError):
    """The judge model's reply holds no usable verdict, even after the retries."""


class DatasetError(KotaeError):
    """A dataset folder does not have the expected layout, or an eval-set file is malformed."""
