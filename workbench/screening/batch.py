"""Screening a spreadsheet of names (CSV or XLSX) and writing the results.

The file needs a ``name`` column; ``id`` and ``country`` are optional and
every other column is carried through to the output unchanged. Results keep
the input order and are recorded as one screening run (scope ``file``) with
the snapshot hashes, so the check is on the record even for names that are
not parties in the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from workbench.app import Workbench
from workbench.errors import ValidationError, FieldError
from workbench.db.store import utc_now
from workbench.spreadsheets.reading import TableError, normalise_header, open_table, sha256_file

from workbench.screening.lists import Cancelled, is_cancelled
from workbench.screening.matcher import DEFAULT_THRESHOLD
from workbench.screening.results import hit_json, _snapshot_by_entry, names_hash
from workbench.screening.snapshots import IndexCache, provenance


def screen_file(wb: Workbench, path: str | Path, *, threshold: float | None = None,
                progress: Callable[[int, int | None], None] | None = None,
                cancel: Any = None, record: bool = True) -> dict[str, Any]:
    """Screen every row of a names file; return the JSON-shaped result.

    Side effects: reads the file; when `record` (and the user may write),
    one transaction storing the run and its hits with an audit event.
    Raises TableError for an unreadable file and ValidationError when the
    ``name`` column is missing.
    """
    path = Path(path)
    wb.store.refuse_own_file(path, "file of names")
    thr = DEFAULT_THRESHOLD if threshold is None else threshold
    index, snaps = IndexCache.get(wb.store)
    if not snaps:
        raise ValidationError(FieldError(
            "lists", "no list snapshot has been imported yet; import a list file first"))
    results: list[dict[str, Any]] = []
    with open_table(path) as table:
        keys = {normalise_header(h): h for h in table.headers}
        if "name" not in keys:
            raise TableError(f"{path.name}: needs a 'name' column; found "
                             f"{', '.join(table.headers) or 'no headers'}")
        id_h, cc_h = keys.get("id"), keys.get("country")
        total = table.estimated_rows
        for n, row in enumerate(table.rows()):
            if n % 200 == 0:
                if is_cancelled(cancel):
                    raise Cancelled("screening cancelled; nothing was recorded")
                if progress:
                    progress(n, total)
            if row.is_blank():
                continue
            name = str(row.values.get(keys["name"]) or "").strip()
            country = str(row.values.get(cc_h) or "").strip() if cc_h else ""
            hits = index.screen([name], country=country or None, threshold=thr) if name else []
            snap_of = _snapshot_by_entry(wb.store, snaps, hits)
            results.append({
                "id": (row.values.get(id_h) if id_h else None) or row.number,
                "row": row.number, "query": name, "country": country or None,
                "columns": {h: row.values.get(h) for h in table.headers},
                "hits": [hit_json(h, snap_of) for h in hits],
                "problem": None if name else "empty name"})
    out = {"file": path.name, "sha256": sha256_file(path), "threshold": thr,
           "snapshots": [provenance(s) for s in snaps], "results": results}
    if record and wb.user.can_write:
        out["run_id"] = _record(wb, out)
    if progress:
        progress(len(results), len(results))
    return out


def _record(wb: Workbench, out: dict[str, Any]) -> int:
    n_hits = sum(len(r["hits"]) for r in out["results"])
    with wb.writing() as w:
        run_id = w.conn.execute(
            "insert into screening_run (ts, user, scope, subject, snapshots, threshold,"
            " parties, hits) values (?,?,?,?,?,?,?,?)",
            (utc_now(), wb.user.username, "file", f"{out['file']} ({out['sha256'][:16]})",
             json.dumps(out["snapshots"]), out["threshold"], len(out["results"]),
             n_hits)).lastrowid
        rows = []
        for r in out["results"]:
            for h in r["hits"]:
                rows.append((run_id, json.dumps([r["query"]], ensure_ascii=False),
                             h["entry_id"], (h.get("snapshot") or {}).get("snapshot_id"),
                             h["source"], h["list_name"], h["primary_name"], h["matched_name"],
                             h["score"], h["explanation"], json.dumps(h, ensure_ascii=False),
                             h["content_hash"], names_hash([r["query"]])))
        w.conn.executemany(
            "insert into screening_hit (run_id, query, entry_id, snapshot_id, list_code,"
            " list_name, primary_name, matched_name, score, explanation, detail,"
            " entry_content_hash, names_hash, status) values (?,?,?,?,?,?,?,?,?,?,?,?,?,'open')",
            rows)
        w.audit("screening_run", run_id, "screen_file", None,
                {"file": out["file"], "sha256": out["sha256"], "rows": len(out["results"]),
                 "hits": n_hits, "snapshots": out["snapshots"]})
    return run_id


RESULT_HEADERS = ["row", "id", "query", "country", "hit_count", "best_score", "entry_id",
                  "source", "list_name", "matched_name", "score", "explanation",
                  "license_requirement", "license_policy", "federal_register_notice",
                  "programs", "snapshot_file", "snapshot_sha256"]


def result_rows(out: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Flatten a file result: one row per hit (or one row for a clean name),
    input columns carried through after the result columns."""
    extra: list[str] = []
    for r in out["results"]:
        for h in r["columns"]:
            if h not in extra:
                extra.append(h)
    headers = RESULT_HEADERS + [f"input: {h}" for h in extra]
    rows = []
    for r in out["results"]:
        base = [r["row"], r["id"], r["query"], r["country"], len(r["hits"]),
                max((h["score"] for h in r["hits"]), default=None)]
        carried = [r["columns"].get(h) for h in extra]
        for h in r["hits"] or [None]:
            if h is None:
                rows.append(base + [None] * (len(RESULT_HEADERS) - len(base)) + carried)
                continue
            li = h.get("listing", {})
            snap = h.get("snapshot") or {}
            rows.append(base + [h["entry_id"], h["source"], h["list_name"], h["matched_name"],
                                h["score"], h["explanation"], li.get("license_requirement"),
                                li.get("license_policy"), li.get("federal_register_notice"),
                                "; ".join(li.get("programs", [])) or None,
                                snap.get("file"), snap.get("sha256")] + carried)
    return headers, rows
