"""On-disk cache for expensive builds (street graphs, timetable arrays), keyed by input hashes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def cache_dir() -> Path:
    """Return the cache folder, creating it if needed.

    ``TRANSPORT_ACCESS_CACHE`` overrides the default ``~/.cache/transport-access``.

    Returns
    -------
    pathlib.Path
    """
    root = os.environ.get("TRANSPORT_ACCESS_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "transport-access"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 hex digest of a file's content (or of every file in a folder)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def cache_key(kind: str, inputs: Iterable[str | os.PathLike[str]], params: dict[str, Any]) -> str:
    """Return a short key for a cached build from its input files and parameters.

    Parameters
    ----------
    kind : str
        What is built, for example ``"streets-walk"``; it prefixes the key.
    inputs : iterable of path
        Input files (or folders); their content is hashed, not their names or dates.
    params : dict
        Build parameters; must be JSON-serialisable.

    Returns
    -------
    str
        ``"{kind}-{16 hex digits}"``.
    """
    digest = hashlib.sha256(kind.encode())
    for path in inputs:
        digest.update(file_sha256(path).encode())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return f"{kind}-{digest.hexdigest()[:16]}"
