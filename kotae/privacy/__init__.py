"""Privacy: personal information (PII) found, masked, and masked reversibly for prompts.

See :mod:`kotae.privacy.pii` and docs/privacy.md."""

from kotae.privacy.pii import PII_KINDS, Finding, Masker, find_pii, mask_pii

__all__ = ["PII_KINDS", "Finding", "Masker", "find_pii", "mask_pii"]
