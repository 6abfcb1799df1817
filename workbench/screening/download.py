""""Download latest": fetch the official Consolidated Screening List file.

The address is configurable (kept in the store's ``meta`` table) because
trade.gov has moved it before. The download streams to a temporary file
beside the database with a progress callback and a cancel flag, then goes
through the ordinary import, so a dropped connection or a cancel leaves no
snapshot and no stray file. Offline, the error says so and points to the
file import.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from workbench import __version__
from workbench.app import Change, Workbench
from workbench.errors import WorkbenchError
from workbench.db.store import Store

from workbench.screening.lists import MAX_FILE_BYTES, Cancelled, is_cancelled
from workbench.screening.snapshots import import_list

DEFAULT_CSL_URL = ("https://data.trade.gov/downloadable_consolidated_screening_list/"
                   "v1/consolidated.csv")
SETTING = "screening.csl_url"


class OfflineError(WorkbenchError):
    """The list server could not be reached."""


def csl_url(store: Store) -> str:
    row = store.one("select value from meta where key = ?", (SETTING,))
    return row[0] if row else DEFAULT_CSL_URL


def set_csl_url(wb: Workbench, url: str) -> None:
    """Change the download address (audited)."""
    url = url.strip()
    if not url.startswith(("https://", "http://")):
        raise WorkbenchError(f"{url!r} is not a web address (https://…)")
    with wb.writing() as w:
        before = csl_url(wb.store)
        w.conn.execute("insert into meta (key, value) values (?, ?) on conflict(key)"
                       " do update set value = excluded.value", (SETTING, url))
        w.audit("setting", SETTING, "update", {"value": before}, {"value": url})


def fetch(url: str, dest: Path, *, progress: Callable[[int, int | None], None] | None = None,
          cancel: Any = None, timeout: float = 30.0, max_bytes: int = MAX_FILE_BYTES) -> Path:
    """Stream `url` to `dest`. Side effects: network I/O, writes `dest`
    (removed again on any failure). Blocks; run it in a worker thread."""
    req = urllib.request.Request(url, headers={
        "User-Agent": f"export-compliance-workbench/{__version__}"})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (configured https URL)
    except urllib.error.HTTPError as e:
        raise WorkbenchError(f"{url}: the server answered {e.code} {e.reason}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise OfflineError(
            f"cannot reach {url} ({reason}). This computer seems to be offline: download "
            f"the list on another machine and import the file instead (Lists → Import "
            f"file, or `workbench lists import FILE`).") from None
    total = resp.headers.get("Content-Length")
    total_n = int(total) if total and total.isdigit() else None
    if total_n and total_n > max_bytes:
        resp.close()
        raise WorkbenchError(f"{url}: {total_n:,} bytes is more than the "
                             f"{max_bytes:,} a list file may have")
    done = 0
    try:
        with resp, open(dest, "wb") as out:
            while True:
                if is_cancelled(cancel):
                    raise Cancelled("download cancelled")
                chunk = resp.read(64 * 1024)
                if not chunk:
                    break
                done += len(chunk)
                if done > max_bytes:
                    raise WorkbenchError(f"{url}: more than {max_bytes:,} bytes; not a list file")
                out.write(chunk)
                if progress:
                    progress(done, total_n)
        if total_n is not None and done != total_n:
            raise OfflineError(f"{url}: the download stopped after {done:,} of "
                               f"{total_n:,} bytes; try again")
    except (socket.timeout, ConnectionError) as e:
        dest.unlink(missing_ok=True)
        raise OfflineError(f"{url}: the connection broke off ({e}); try again") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


def download_latest(wb: Workbench, *, url: str | None = None,
                    progress: Callable[[int, int | None], None] | None = None,
                    cancel: Any = None, timeout: float = 30.0,
                    importer: Callable[..., Any] | None = None) -> Any:
    """Download the CSL from its configured address and import it.

    `importer(wb, path, progress=…, cancel=…)` does the import (default
    :func:`import_list`, returning its Change); the clearance layer passes
    its import that re-screens in the same transaction. Side effects:
    network I/O, a temporary file next to the database (always removed),
    then the import transaction. Raises OfflineError when the server cannot
    be reached, DuplicateSnapshot when the file did not change since the
    last import.
    """
    url = url or csl_url(wb.store)
    name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "consolidated.csv"
    # a private folder beside the database, so the snapshot keeps the
    # published file name and nothing is left behind
    folder = Path(tempfile.mkdtemp(prefix=".download-", dir=str(wb.store.path.parent)))
    try:
        path = fetch(url, folder / name, progress=progress, cancel=cancel, timeout=timeout)
        if importer is None:
            return import_list(wb, path, cancel=cancel)
        return importer(wb, path, progress=progress, cancel=cancel)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
