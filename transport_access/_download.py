"""The mechanics of fetching one file: HTTP with resume and progress, mirror copies, unzipping.

:mod:`transport_access.sources` decides what to fetch and where it lands; this module moves
bytes. Every write goes to a temporary name beside the destination and is renamed into place
at the end, so an interrupted fetch never leaves a half-written file under the real name.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from transport_access._log import get_logger
from transport_access.errors import DownloadError

log = get_logger(__name__)

CHUNK_BYTES = 1 << 16
OFFLINE_HINT = (
    "If you are offline or the publisher is unreachable, take the same files from a local "
    "folder laid out like the data root with `--mirror DIR` (or an HTTP copy with `--base-url`)."
)


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("transport-access")
    except PackageNotFoundError:  # running from a source tree that is not installed
        release = "dev"
    return f"transport-access/{release} (python-requests)"


class _Progress:
    """Byte progress: a rich bar on a terminal, a log line every quarter elsewhere."""

    def __init__(self, label: str, total_bytes: int | None, done_bytes: int) -> None:
        self.label = label
        self.total_bytes = total_bytes
        self.done_bytes = done_bytes
        self._next_quarter = 1
        self._bar = None
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=total_bytes, completed=done_bytes)

    def advance(self, n_bytes: int) -> None:
        self.done_bytes += n_bytes
        if self._bar is not None:
            self._bar.update(self._task, advance=n_bytes)
            return
        if self.total_bytes:
            # Quarter marks keep CI logs readable for big files and silent for small ones.
            while self._next_quarter < 4 and self.done_bytes >= (
                self.total_bytes * self._next_quarter / 4
            ):
                log.info(
                    "%s: %d%% (%s of %s bytes)",
                    self.label,
                    25 * self._next_quarter,
                    f"{self.done_bytes:,}",
                    f"{self.total_bytes:,}",
                )
                self._next_quarter += 1

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _reason(error: Exception) -> str:
    """Return the innermost cause of a requests error: "Failed to resolve ...", "refused"."""
    inner = error.args[0] if error.args and isinstance(error.args[0], Exception) else error
    reason = getattr(inner, "reason", None) or inner
    text = str(reason)
    # urllib3 prefixes the connection object's repr; the useful part follows it.
    return text.split(">: ", 1)[-1].split("): ", 1)[-1] if "): " in text else text


def _content_range_start(header: str | None) -> int | None:
    """Return the first byte of a ``Content-Range: bytes START-END/TOTAL`` header."""
    if not header or not header.startswith("bytes "):
        return None
    try:
        return int(header[6:].split("-", 1)[0])
    except ValueError:
        return None


def download_http(
    url: str,
    part_path: Path,
    *,
    timeout_s: float,
    label: str,
    _restarted: bool = False,
) -> int:
    """Stream ``url`` into ``part_path``, resuming from its current length with ``Range``.

    Parameters
    ----------
    url : str
        An ``http://`` or ``https://`` URL.
    part_path : pathlib.Path
        The partial file. When it exists, the request asks for the remaining bytes; a server
        that answers 200 (ignoring ``Range``) or whose 206 starts elsewhere makes the download
        start again from byte 0.
    timeout_s : float
        Seconds to wait for the connection and between received chunks.
    label : str
        Shown in progress output, usually the source key.

    Returns
    -------
    int
        Size of the complete ``part_path`` in bytes.

    Raises
    ------
    DownloadError
        Connection failure, an HTTP error status, or a transfer cut short (the partial file is
        kept, so running again resumes).
    """
    import requests

    meta_path = part_path.with_name(part_path.name + ".meta")
    offset = part_path.stat().st_size if part_path.exists() else 0
    validator = _read_validator(meta_path, url) if offset else None
    # Identity encoding: byte ranges must refer to the file, not a compressed transfer.
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            # The server sends the rest only if the file is unchanged, else the whole new file.
            headers["If-Range"] = validator
        log.info("%s: resuming %s from byte %s", label, part_path.name, f"{offset:,}")

    try:
        response = requests.get(url, headers=headers, stream=True, timeout=timeout_s)
    except requests.RequestException as error:
        raise DownloadError(
            f"{label}: could not connect to {url} ({_reason(error)}). " + OFFLINE_HINT
        ) from None

    with response:
        if response.status_code == 416 and offset and not _restarted:
            # The partial file is as long as (or longer than) the server's copy: it is stale
            # or complete, and only a fresh download can tell which.
            log.warning("%s: server refused the resume range; downloading again", label)
            part_path.unlink()
            return download_http(url, part_path, timeout_s=timeout_s, label=label, _restarted=True)
        if response.status_code >= 400:
            raise DownloadError(
                f"{label}: HTTP {response.status_code} {response.reason} for {url}. "
                "The publisher may have moved or renamed the file: check the source's page "
                "(`transport-access sources`). " + OFFLINE_HINT
            )

        mode = "wb"
        if offset:
            start = _content_range_start(response.headers.get("Content-Range"))
            if response.status_code == 206 and start == offset:
                mode = "ab"
            else:
                log.warning(
                    "%s: server ignored the resume request (HTTP %d); starting again from byte 0",
                    label,
                    response.status_code,
                )
                offset = 0

        _write_validator(meta_path, url, response.headers)
        length = response.headers.get("Content-Length")
        total_bytes = int(length) + offset if length and length.isdigit() else None
        progress = _Progress(label, total_bytes, offset)
        written = offset
        try:
            with open(part_path, mode) as handle:
                for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                    handle.write(chunk)
                    written += len(chunk)
                    progress.advance(len(chunk))
        except requests.RequestException as error:
            raise DownloadError(
                f"{label}: the transfer from {url} was cut short after {written:,} bytes "
                f"({type(error).__name__}). The partial file {part_path} is kept: run the same "
                "command again to resume."
            ) from None
        finally:
            progress.close()

    if total_bytes is not None and written != total_bytes:
        raise DownloadError(
            f"{label}: received {written:,} of {total_bytes:,} bytes from {url}. The partial "
            f"file {part_path} is kept: run the same command again to resume."
        )
    meta_path.unlink(missing_ok=True)
    return written


def _read_validator(meta_path: Path, url: str) -> str | None:
    """Return the ETag or Last-Modified recorded when the partial file was started."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("url") != url:
        return None
    return meta.get("etag") or meta.get("last_modified") or None


def _write_validator(meta_path: Path, url: str, headers: Mapping[str, str]) -> None:
    etag = headers.get("ETag")
    if etag and etag.startswith("W/"):
        etag = None  # weak validators cannot guard a byte range (RFC 9110, 13.1.5)
    meta = {"url": url, "etag": etag, "last_modified": headers.get("Last-Modified")}
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def copy_file(source: Path, destination: Path) -> None:
    """Copy a file's bytes (not its permissions: mirrors are often read-only)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)


def copy_folder(source: Path, destination: Path) -> None:
    """Copy a folder's files (not their permissions) into a new folder ``destination``."""
    for path in sorted(source.rglob("*")):
        if path.is_file():
            copy_file(path, destination / path.relative_to(source))
    destination.mkdir(parents=True, exist_ok=True)


def extract_zip(
    archive: Path,
    destination: Path,
    *,
    members: Sequence[str],
    folder: bool,
    label: str,
) -> None:
    """Extract members of a zip file whose names match ``members`` (glob patterns).

    Parameters
    ----------
    archive : pathlib.Path
        The zip file.
    destination : pathlib.Path
        With ``folder=False``, the file written from the first member that matches; with
        ``folder=True``, a new folder that receives every matching member, without the
        archive's inner folders.
    members : sequence of str
        Glob patterns matched, case-insensitively, against each member's file name (not its
        folder), tried in order.
    folder : bool
        Whether ``destination`` is a folder.
    label : str
        Named in errors, usually the source key.

    Raises
    ------
    DownloadError
        Not a zip file, or no member matches.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise DownloadError(
            f"{label}: {archive} is not a zip file (the publisher may have served an error "
            "page). Delete it and fetch again, or check the source's URL."
        ) from None

    with zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        patterns = [p.lower() for p in members]
        chosen = [
            n for n in names if any(fnmatch.fnmatch(PurePosixPath(n).name.lower(), p)
                                    for p in patterns)
        ]
        if not chosen:
            raise DownloadError(
                f"{label}: no member of {archive} matches {list(members)}; it holds "
                f"{names[:10]}{' ...' if len(names) > 10 else ''}. The publisher may have "
                "changed the archive's layout: update `unpack` in the registry."
            )
        if not folder:
            first = min(
                chosen,
                key=lambda n: next(
                    i for i, p in enumerate(patterns)
                    if fnmatch.fnmatch(PurePosixPath(n).name.lower(), p)
                ),
            )
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(first) as src, open(destination, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)
            return
        destination.mkdir(parents=True, exist_ok=True)
        for name in chosen:
            with zf.open(name) as src, open(destination / PurePosixPath(name).name, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK_BYTES)


def replace_path(staged: Path, target: Path) -> None:
    """Move ``staged`` (a file or folder) to ``target``, replacing what was there.

    A file is renamed atomically; a folder replaces the old one after it is removed (the gap
    is only as long as a rename).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if staged.is_dir():
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                remove_path(old)
            os.replace(target, old)
            os.replace(staged, target)
            remove_path(old)
        else:
            os.replace(staged, target)
        return
    os.replace(staged, target)


def remove_path(path: Path) -> None:
    """Delete a file or folder if it exists."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
