"""Whether a file can be written where a user asked for it, checked before any work starts:
reports (the suite), recordings and traffic reports (the mock). Missing folders are made when
the file is written, so the nearest existing one must be a writable directory."""

from __future__ import annotations

import os
from pathlib import Path


def unwritable(path: Path) -> str | None:
    """Why `path` cannot be written (a phrase to follow the path in a message), or None."""
    if path.is_dir():
        return "is a directory; name a file"
    if path.exists() and not os.access(path, os.W_OK):
        return "is not writable"
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be made: {ancestor} is not a directory"
    if not os.access(ancestor, os.W_OK):
        return "is not writable"
    return None
