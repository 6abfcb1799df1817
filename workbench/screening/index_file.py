"""The match index saved beside the database, so that a new process (the
CLI, the app's first screening) loads it in a fraction of a second instead
of building it for seconds.

The file (``DATABASE.screening-index``, owner-only) is a cache, never a
record: it is made again whenever anything about it is doubtful. It holds a
header (format, a fingerprint of the code and libraries that shape an
index, the snapshots it was built from, the payload's length and SHA-256)
and then the index's payload written with :mod:`marshal`. :func:`load`
refuses a file whose header does not match the running code and the
current snapshots, or whose payload does not hash to the header's digest;
the caller then builds the index afresh and saves it again. An edit that
also fixes the digest is found by ``workbench check``, which compares the
saved index with a fresh build (:func:`compare_with_build`).

Why marshal: it loads the dicts and lists of a 30,000-name index in about
0.1 s, where JSON takes most of a second and pickle could run code. marshal
is not meant for hostile input, which is why nothing is unmarshalled before
the digest matched: changing this file undetected needs the same write
access to the user's folder as changing the database or the program.
"""

from __future__ import annotations

import gc
import hashlib
import json
import marshal
import os
import struct
import sys
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.screening.matcher import MatchIndex

MAGIC = b"WORKBENCH SCREENING INDEX\n"
#: Bump when the payload's layout changes.
FORMAT = 1
_LEN = struct.Struct(">Q")
#: A header larger than this is not one of ours (it lists a few snapshots).
_MAX_HEADER = 1 << 20


class IndexFileError(Exception):
    """The saved index cannot be used; the message says why (one line).
    ``damaged`` is False when the file is merely absent or out of date (not
    saved yet, other snapshots, other code) and True when it is not what
    this program wrote (truncated, wrong digest, wrong shape): writes are
    atomic, so that means the disk or somebody changed it."""

    def __init__(self, message: str, *, damaged: bool = True):
        super().__init__(message)
        self.damaged = damaged


def index_path(db_path: str | os.PathLike[str]) -> Path:
    """Where the index of the database at `db_path` is saved. Pure."""
    return Path(f"{os.fspath(db_path)}.screening-index")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over what decides an index's content: the source of the
    modules that tokenise and index names, the versions of the libraries
    they call, Python's version and the byte order. Reads a few source
    files once per process."""
    from importlib import metadata

    import workbench
    from workbench.screening import _countries, contacts, lists, matcher, normalize

    h = hashlib.sha256(f"format {FORMAT}\n{sys.version}\n{sys.byteorder}\n"
                       f"marshal {marshal.version}\nworkbench {workbench.__version__}\n"
                       .encode())
    for dist in ("anyascii", "pycountry", "rapidfuzz"):
        try:
            h.update(f"{dist} {metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist} ?\n".encode())
    for mod in (matcher, normalize, _countries, contacts, lists):
        try:
            h.update(Path(mod.__file__ or "").read_bytes())
        except OSError:
            # a frozen build has no sources: its version stands for them
            h.update(mod.__name__.encode())
    return h.hexdigest()


def snapshot_key(snaps: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """What identifies the snapshots an index is built from: id, file SHA-256
    and entry count of each (a rolled-back import frees its id for another
    file). Pure."""
    return [[int(s["id"]), str(s["sha256"]), int(s["entry_count"] or 0)] for s in snaps]


def save(path: Path, index: MatchIndex, key: list[list[Any]]) -> None:
    """Write `index` for snapshots `key` to `path` atomically (a temporary
    file beside it, then a rename), readable by the owner only. Raises
    OSError when the folder is not writable. Blocks for the write (about
    0.1 s per 10,000 names); safe from any thread."""
    payload = marshal.dumps(index.to_payload())
    header = json.dumps({"format": FORMAT, "code": code_fingerprint(), "snapshots": key,
                         "payload_bytes": len(payload),
                         "payload_sha256": hashlib.sha256(payload).hexdigest()},
                        sort_keys=True).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + _LEN.pack(len(header)) + header)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_header(data: bytes, name: str) -> tuple[dict[str, Any], int]:
    """(header, payload offset) of an index file's bytes. Raises
    IndexFileError naming `name` and the problem. Pure."""
    if not data.startswith(MAGIC):
        raise IndexFileError(f"{name}: not a saved screening index")
    at = len(MAGIC)
    if len(data) < at + _LEN.size:
        raise IndexFileError(f"{name}: truncated in its header")
    (n,) = _LEN.unpack_from(data, at)
    at += _LEN.size
    if n > _MAX_HEADER or len(data) < at + n:
        raise IndexFileError(f"{name}: truncated or damaged header")
    try:
        header = json.loads(data[at:at + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise IndexFileError(f"{name}: unreadable header ({e})") from None
    if not isinstance(header, dict):
        raise IndexFileError(f"{name}: unreadable header")
    return header, at + n


def _checked_payload(path: Path, key: list[list[Any]] | None) -> memoryview:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IndexFileError(f"{name}: not saved yet", damaged=False) from None
    except OSError as e:
        raise IndexFileError(f"{name}: cannot be read ({e.strerror})") from None
    header, at = read_header(data, name)
    if header.get("format") != FORMAT:
        raise IndexFileError(f"{name}: saved in format {header.get('format')!r}, not {FORMAT}",
                             damaged=False)
    if header.get("code") != code_fingerprint():
        raise IndexFileError(f"{name}: saved by another version of the program",
                             damaged=False)
    if key is not None and header.get("snapshots") != key:
        raise IndexFileError(f"{name}: built from other list snapshots", damaged=False)
    payload = memoryview(data)[at:]
    if len(payload) != header.get("payload_bytes"):
        raise IndexFileError(f"{name}: {len(payload)} bytes of index where the header says "
                             f"{header.get('payload_bytes')} (truncated or padded)")
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise IndexFileError(f"{name}: its content does not match its SHA-256 (damaged or "
                             f"edited)")
    return payload


def load(path: Path, key: list[list[Any]] | None) -> MatchIndex:
    """The index saved at `path`, if it was built by this code from the
    snapshots `key` (None: from any snapshots, for its word statistics
    only) and its payload is intact. Raises IndexFileError saying why not
    (missing, another format, other code, other snapshots, truncated,
    digest mismatch, wrong shape). Reads the file; pure otherwise."""
    name = path.name
    payload = _checked_payload(path, key)
    # The cyclic collector would walk the growing heap again and again
    # while a million small containers are made (a third of the load time),
    # and once more at its next run; none of them can form a cycle, so it is
    # paused for the load and what exists then is moved out of its sight
    # (gc.freeze: reference counting still frees it all when the index goes).
    was = gc.isenabled()
    gc.disable()
    try:
        index = MatchIndex.from_payload(marshal.loads(payload))
        gc.freeze()
        return index
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise IndexFileError(f"{name}: damaged index ({type(e).__name__})") from None
    finally:
        if was:
            gc.enable()


def compare_with_build(path: Path, key: list[list[Any]], fresh: MatchIndex) -> str | None:
    """None when the index saved at `path` holds exactly what `fresh` (built
    now from the same snapshots) holds; else why not, in one sentence. For
    ``check``: catches an edit whose digest was fixed up. Reads the file;
    a second or two for 30,000 names."""
    try:
        raw = marshal.loads(_checked_payload(path, key))
    except IndexFileError as e:
        return str(e)
    except (EOFError, ValueError, TypeError) as e:
        return f"{path.name}: damaged index ({type(e).__name__})"
    if raw != fresh.to_payload():
        return (f"{path.name}: its digest matches but its content differs from an index "
                f"built now from the same snapshots (edited)")
    return None
