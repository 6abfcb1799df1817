"""List snapshots in the store: import, browse, diff, and the current index.

A snapshot is one imported list file (with its OFAC siblings): source
format, file name, SHA-256 of every file read, publish date where the file
has one, import time, user, counts per list, and every entry with all its
fields and its content hash. Snapshots are never changed or deleted; a newer
import of the same source supersedes the older one for screening, and the
two are diffed (added, removed, changed entries) so only what changed needs
re-screening.

The whole import — parse, then insert of the snapshot and all its entries
and the audit event — is one transaction, so a bad file, a cancel or a kill
mid-import leaves no partial snapshot.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from workbench.app import Change, Workbench
from workbench.errors import WorkbenchError
from workbench.db.store import Store, utc_now

from workbench.screening.lists import (
    ListEntry,
    entry_from_json,
    entry_to_json,
    ParsedList,
    is_cancelled,
    Cancelled,
    parse_file,
)
from workbench.screening import index_file
from workbench.screening.matcher import MatchIndex

#: The "source" a format feeds: a new snapshot supersedes the previous
#: snapshot of the same source only.
SOURCE_OF_FORMAT = {"csl_csv": "csl", "csl_json": "csl", "ofac_sdn": "ofac_sdn",
                    "ofac_cons": "ofac_cons", "bis_dpl": "bis_dpl", "ofac_xml": "ofac_sdn"}
SOURCE_LABELS = {"csl": "Consolidated Screening List (trade.gov)",
                 "ofac_sdn": "OFAC SDN list", "ofac_cons": "OFAC non-SDN consolidated list",
                 "bis_dpl": "BIS Denied Persons List"}


def source_of(parsed: ParsedList) -> str:
    """The source a parsed file feeds. OFAC's XML carries either list in one
    layout, so sdn.xml feeds (and supersedes, and is superseded by) the same
    source as sdn.csv, and consolidated.xml the same as cons_prim.csv. Pure."""
    if parsed.format == "ofac_xml" and parsed.ofac_list == "cons":
        return "ofac_cons"
    return SOURCE_OF_FORMAT[parsed.format]


class DuplicateSnapshot(WorkbenchError):
    """The same file was imported before; nothing new was written."""

    def __init__(self, message: str, snapshot_id: int):
        super().__init__(message)
        self.snapshot_id = snapshot_id


@dataclass
class SnapshotDiff:
    added: list[str]
    removed: list[str]
    changed: list[str]

    @property
    def touched(self) -> list[str]:
        return [*self.added, *self.changed]

    def as_dict(self) -> dict[str, Any]:
        return {"added": len(self.added), "removed": len(self.removed),
                "changed": len(self.changed)}


def import_list(wb: Workbench, path: str | Path, *, format: str | None = None,
                progress: Callable[[int, int | None], None] | None = None,
                cancel: Any = None, allow_duplicate: bool = False) -> Change:
    """Parse a list file and store it as a new immutable snapshot.

    Side effects: one transaction inserting the snapshot, its entries and an
    audit event ``list_snapshot/import`` (file, SHA-256, counts, diff against
    the previous snapshot of the same source). Raises ListFileError for a
    bad file, DuplicateSnapshot when the same file (same SHA-256 of every
    file read) was imported before, Cancelled when `cancel` fires. Runs in
    the caller's thread; expect seconds for a full CSL file.
    """
    wb.store.refuse_own_file(path, "list file")
    parsed = parse_file(path, format=format, progress=progress, cancel=cancel)
    return store_parsed(wb, parsed, cancel=cancel, allow_duplicate=allow_duplicate)


def store_parsed(wb: Workbench, parsed: ParsedList, *, cancel: Any = None,
                 allow_duplicate: bool = False) -> Change:
    """Persist an already parsed list (see :func:`import_list`)."""
    store = wb.store
    source = source_of(parsed)
    files_json = json.dumps({Path(k).name: v for k, v in sorted(parsed.files.items())},
                            sort_keys=True)
    if not allow_duplicate:
        dup = store.one("select id, imported_at, imported_by from list_snapshot"
                        " where sha256 = ? and files = ? order by id desc limit 1",
                        (parsed.sha256, files_json))
        if dup is not None:
            raise DuplicateSnapshot(
                f"{Path(parsed.path).name} was already imported as snapshot {dup['id']} "
                f"on {dup['imported_at'][:10]} by {dup['imported_by']} (same SHA-256); "
                f"nothing new to import", dup["id"])
    with wb.writing() as w:
        prev = current_snapshot(store, source)
        sid = w.conn.execute(
            "insert into list_snapshot (source, format, file_name, sha256, files,"
            " publish_date, imported_at, imported_by, counts, entry_count, name_count,"
            " previous_id) values (?,?,?,?,?,?,?,?,?,?,?,?)",
            (source, parsed.format, Path(parsed.path).name, parsed.sha256, files_json,
             parsed.publish_date, utc_now(), wb.user.username,
             json.dumps(parsed.counts, sort_keys=True), len(parsed.entries),
             parsed.name_count, prev["id"] if prev else None)).lastrowid
        rows = []
        seen: set[str] = set()
        for i, e in enumerate(parsed.entries):
            if i % 5000 == 0 and is_cancelled(cancel):
                raise Cancelled("list import cancelled; nothing was kept")
            eid = e.entry_id
            if eid in seen:  # a list repeating a key: keep the first, say nothing lost
                eid = f"{eid}#{i}"
            seen.add(eid)
            rows.append((sid, eid, e.list_code, e.agency, e.name,
                         json.dumps(e.alt_names, ensure_ascii=False),
                         json.dumps(e.countries, ensure_ascii=False),
                         entry_to_json(e), e.content_hash))
        w.conn.executemany(
            "insert into list_entry (snapshot_id, entry_id, list_code, agency, name,"
            " alt_names, countries, data, content_hash) values (?,?,?,?,?,?,?,?,?)", rows)
        diff = diff_snapshots(store, prev["id"], sid) if prev else None
        info = {"snapshot_id": sid, "source": source, "format": parsed.format,
                "entries_sha256": entries_digest(r[1:] for r in rows),
                "file": Path(parsed.path).name, "sha256": parsed.sha256,
                "files": json.loads(files_json), "publish_date": parsed.publish_date,
                "counts": parsed.counts, "entries": len(parsed.entries),
                "previous_id": prev["id"] if prev else None,
                "diff": diff.as_dict() if diff else None}
        w.audit("list_snapshot", sid, "import", None, info)
    return Change("list_snapshot", sid, "import", info,
                  extra={"diff": diff, "warnings": parsed.warnings})


ENTRY_COLUMNS = ("entry_id", "list_code", "agency", "name", "alt_names", "countries", "data",
                 "content_hash")


def entries_digest(rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 over a snapshot's entries in stored order (the ENTRY_COLUMNS of
    each), recorded in the import's audit event so that an entry deleted or
    edited behind the triggers' back is found by `check`. Pure."""
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(list(r), ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def stored_entries_digest(store: Store, snapshot_id: int) -> tuple[str, int]:
    """(digest, count) of a snapshot's entries as the database holds them now."""
    cur = store.conn.execute(f"select {', '.join(ENTRY_COLUMNS)} from list_entry"
                             f" where snapshot_id = ? order by id", (snapshot_id,))
    n = 0

    def rows() -> Iterator[tuple]:
        nonlocal n
        for r in cur:
            n += 1
            yield tuple(r)
    return entries_digest(rows()), n


def current_snapshot(store: Store, source: str) -> Any:
    return store.one("select * from list_snapshot where source = ? order by id desc limit 1",
                     (source,))


def current_snapshots(store: Store) -> list[dict[str, Any]]:
    """The newest snapshot of every source (what screening uses). Read-only."""
    return [dict(r) for r in store.all(
        "select * from list_snapshot s where id = (select max(id) from list_snapshot t"
        " where t.source = s.source) order by source")]


def list_snapshots(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store.all("select * from list_snapshot order by id desc")]


def provenance(snap: dict[str, Any]) -> dict[str, Any]:
    """What a result cites about a snapshot: id, source, file, date, hash."""
    return {"snapshot_id": snap["id"], "source": snap["source"], "file": snap["file_name"],
            "publish_date": snap["publish_date"], "imported_at": snap["imported_at"],
            "sha256": snap["sha256"]}


def diff_snapshots(store: Store, old_id: int, new_id: int) -> SnapshotDiff:
    """Entries added, removed and changed (content hash differs). Read-only."""
    old = dict(store.all("select entry_id, content_hash from list_entry where snapshot_id = ?",
                         (old_id,)))
    new = dict(store.all("select entry_id, content_hash from list_entry where snapshot_id = ?",
                         (new_id,)))
    return SnapshotDiff(
        added=sorted(k for k in new if k not in old),
        removed=sorted(k for k in old if k not in new),
        changed=sorted(k for k in new if k in old and old[k] != new[k]))


def load_entries(store: Store, snapshot_ids: list[int],
                 entry_ids: list[str] | None = None) -> list[ListEntry]:
    """Entries of the given snapshots (optionally only some), parsed back."""
    if not snapshot_ids:
        return []
    marks = ",".join("?" * len(snapshot_ids))
    sql = f"select data from list_entry where snapshot_id in ({marks})"
    params: list[Any] = list(snapshot_ids)
    if entry_ids is not None:
        if not entry_ids:
            return []
        store.conn.execute("create temp table if not exists _want (entry_id text primary key)")
        store.conn.execute("delete from _want")
        store.conn.executemany("insert or ignore into _want values (?)",
                               [(e,) for e in entry_ids])
        sql += " and entry_id in (select entry_id from _want)"
    return [entry_from_json(r[0]) for r in store.all(sql + " order by id", params)]


class IndexCache:
    """The match index over the current snapshots: kept in memory per
    database, saved beside it (:mod:`workbench.screening.index_file`) so a
    new process loads it instead of building it, and built again only when
    the set of current snapshots changes or the saved one is doubtful.
    Thread-safe."""

    _lock = threading.Lock()
    _cache: dict[tuple[str, tuple[tuple[int, str], ...]], MatchIndex] = {}
    #: per database: how the index in memory was obtained, and why (for
    #: tests, benchmarks and ``check``)
    _origin: dict[str, str] = {}

    @classmethod
    def peek(cls, store: Store) -> MatchIndex | None:
        """Whatever index is at hand for this database, even if a newer
        snapshot has arrived since (its word statistics are still good for
        scoring an index of just the changed entries): the one in memory,
        else the saved one if this code made it. Reads the saved file."""
        with cls._lock:
            for (path, _), idx in cls._cache.items():
                if path == str(store.path):
                    return idx
        try:
            return index_file.load(index_file.index_path(store.path), None)
        except index_file.IndexFileError:
            return None

    @classmethod
    def origin(cls, store: Store) -> str:
        """How the index in memory for `store` was obtained: "loaded", or
        "built (WHY)"; "" when none is. Pure."""
        with cls._lock:
            return cls._origin.get(str(store.path), "")

    @classmethod
    def forget(cls, store: Store) -> None:
        """Drop the in-memory index of `store` (the saved file stays)."""
        with cls._lock:
            for k in [k for k in cls._cache if k[0] == str(store.path)]:
                del cls._cache[k]
            cls._origin.pop(str(store.path), None)

    @classmethod
    def verify_saved(cls, store: Store) -> tuple[str, str | None]:
        """For ``check``: build the index afresh and compare it with the
        saved one. Returns (what was found, one line; the problem or None).
        A missing or out-of-date file is no problem; one that is damaged or
        whose content differs from the fresh build (an edit with its digest
        fixed up) is. Side effects: replaces a saved index that is not the
        fresh build with the fresh build, and drops the in-memory index so
        nothing keeps using what the edited file held. Seconds for tens of
        thousands of names; any thread."""
        snaps = current_snapshots(store)
        path = index_file.index_path(store.path)
        if not snaps:
            return "no list imported, nothing to index", None
        fkey = index_file.snapshot_key(snaps)
        fresh = MatchIndex.build(load_entries(store, [s["id"] for s in snaps]))
        try:
            index_file.load(path, fkey)
            damaged: str | None = None
        except index_file.IndexFileError as e:
            damaged = str(e) if e.damaged else None
            if not damaged:
                note = f"not used ({e}); saved afresh"
        else:
            damaged = index_file.compare_with_build(path, fkey, fresh)
            note = "the same as a fresh build" if damaged is None else ""
        if damaged:
            note = f"DOES NOT MATCH a fresh build: {damaged}; replaced by the fresh build"
            cls.forget(store)
        if damaged or note.startswith("not used"):
            try:
                index_file.save(path, fresh, fkey)
            except OSError as oe:
                note += f" (could not save: {oe.strerror or oe})"
        return note, damaged

    @classmethod
    def get(cls, store: Store, progress: Callable[[int, int | None], None] | None = None,
            cancel: Any = None) -> tuple[MatchIndex, list[dict[str, Any]]]:
        """The index over the current snapshots and those snapshots.

        Side effects: on a miss in memory, loads the saved index; if that is
        missing, stale or damaged, builds it (seconds for tens of thousands
        of names; `progress` and `cancel` go to the build) and saves it
        (skipped quietly when the folder is not writable). Safe from any
        thread; two threads missing at once may both build."""
        snaps = current_snapshots(store)
        # ids and hashes: a snapshot stored in a transaction that then rolled
        # back frees its id for the next import, which may be another file
        key = (str(store.path), tuple((s["id"], s["sha256"]) for s in snaps))
        with cls._lock:
            idx = cls._cache.get(key)
        if idx is None:
            fkey = index_file.snapshot_key(snaps)
            path = index_file.index_path(store.path)
            try:
                idx = index_file.load(path, fkey)
                origin = "loaded"
            except index_file.IndexFileError as e:
                idx = MatchIndex.build(load_entries(store, [s["id"] for s in snaps]),
                                       progress=progress, cancel=cancel)
                origin = f"built ({e})"
                try:
                    index_file.save(path, idx, fkey)
                except OSError as oe:
                    origin += f"; not saved ({oe.strerror or oe})"
            with cls._lock:
                # keep one index per database: old snapshot sets are garbage
                for k in [k for k in cls._cache if k[0] == key[0]]:
                    del cls._cache[k]
                cls._cache[key] = idx
                cls._origin[key[0]] = origin
        return idx, snaps


# -- browsing a snapshot (the Lists page) -------------------------------------

def _entry_where(snapshot_id: int, search: str) -> tuple[str, list[Any]]:
    sql, params = "snapshot_id = ?", [snapshot_id]
    for word in search.split():
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql += (" and (name like ? escape '\\' or alt_names like ? escape '\\'"
                " or entry_id like ? escape '\\' or countries like ? escape '\\'"
                " or list_code like ? escape '\\')")
        params += [like] * 5
    return sql, params


def count_entries(store: Store, snapshot_id: int, search: str = "") -> int:
    """How many entries of a snapshot match the search words. Read-only."""
    where, params = _entry_where(snapshot_id, search)
    return int(store.scalar(f"select count(*) from list_entry where {where}", params) or 0)


def page_entries(store: Store, snapshot_id: int, search: str = "", *, offset: int = 0,
                 limit: int = 200, sort: str = "name", desc: bool = False
                 ) -> list[dict[str, Any]]:
    """One page of a snapshot's entries (without the bulky ``data``). Read-only."""
    where, params = _entry_where(snapshot_id, search)
    order = {"name": "name collate nocase", "entry_id": "entry_id", "list_code": "list_code",
             "countries": "countries", "alt_names": "alt_names"}.get(sort, "name collate nocase")
    rows = store.all(
        f"select id, entry_id, list_code, name, alt_names, countries from list_entry"
        f" where {where} order by {order} {'desc' if desc else 'asc'}, id limit ? offset ?",
        [*params, limit, offset])
    out = []
    for r in rows:
        d = dict(r)
        d["alt_names"] = json.loads(d["alt_names"] or "[]")
        d["countries"] = json.loads(d["countries"] or "[]")
        out.append(d)
    return out


def entry_data(store: Store, row_id: int) -> dict[str, Any] | None:
    """Every stored field of one list entry (its ``data`` JSON). Read-only."""
    row = store.one("select data from list_entry where id = ?", (row_id,))
    return json.loads(row[0]) if row else None


def entries_by_id(store: Store, snapshot_id: int, entry_ids: list[str]) -> list[dict[str, Any]]:
    """entry_id, list_code and name of the given entries of a snapshot, by name."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(entry_ids), 500):
        chunk = entry_ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        out += [dict(r) for r in store.all(
            f"select entry_id, list_code, name from list_entry where snapshot_id = ?"
            f" and entry_id in ({marks}) order by name", [snapshot_id, *chunk])]
    return out
