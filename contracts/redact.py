"""Keeping API keys out of every line the suite prints or writes."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[REDACTED]"


class Redactor:
    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Longest first, so that a key containing another key is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text
