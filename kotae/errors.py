"""Exceptions raised by kotae.

Every error kotae raises on purpose derives from :class:`KotaeError`, carries a message
that says what to do next, and maps to one exit code in the CLI (2) and one 4xx status
in the HTTP layer.

    KotaeError
    ├── ConfigError            invalid settings or kotae.toml
    ├── KnowledgeBaseError     no knowledge base, wrong schema, inconsistent state
    │   └── IndexMismatchError an index built with another tokenizer / model
    ├── DocumentError          one file could not be ingested (the run goes on)
    │   ├── UnsupportedFormatError  no loader for this format ("convert to ...")
    │   ├── EmptyDocumentError      no text could be extracted
    │   ├── EncryptedDocumentError  password-protected
    │   └── CorruptDocumentError    the file is damaged or not what its name says
    ├── QueryError             an empty or invalid query, unknown user
    ├── BackendError           an embedder / reranker / generator failed or is unreachable
    └── DatasetError           a benchmark dataset folder is malformed
"""

from __future__ import annotations


class KotaeError(Exception):
    """Root of every error kotae raises on purpose."""


class ConfigError(KotaeError):
    """Invalid settings."""


class KnowledgeBaseError(KotaeError):
    """The knowledge base is missing, of a newer schema, or inconsistent."""


class IndexMismatchError(KnowledgeBaseError):
    """An index was built with a different tokenizer or model than the query path uses."""


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


class BackendError(KotaeError):
    """A model backend failed or could not be reached."""


class DatasetError(KotaeError):
    """A dataset folder does not have the expected layout."""
