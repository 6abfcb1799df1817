"""`workbench lists …`, `workbench screen …`, `workbench rescreen`, hits and decisions."""

from __future__ import annotations

import os

from pathlib import Path
from typing import Any

import click

from workbench.cli.common import Ctx, pass_ctx, progress_bar
from workbench.errors import WorkbenchError


def register(cli: click.Group) -> None:
    """Add the screening commands to the main `workbench` group."""
    @cli.group("lists")
    def lists_group() -> None:
        """Restricted-party list snapshots (CSL, OFAC SDN and non-SDN as CSV or XML, BIS DPL)."""

    @lists_group.command("import")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    @click.option("--format", "fmt", type=click.Choice(
        ["csl_csv", "csl_json", "ofac_sdn", "ofac_cons", "bis_dpl", "ofac_xml"]),
        help="Override the format detected from the content.")
    @click.option("--no-rescreen", is_flag=True, help="Do not re-screen parties afterwards.")
    @pass_ctx
    def lists_import(c: Ctx, path: Path, fmt: str | None, no_rescreen: bool) -> None:
        """Import a list file (or, for OFAC, the folder holding sdn.csv, cons_prim.csv,
        sdn.xml or consolidated.xml) as a new snapshot, then re-screen every party
        against what changed."""
        from workbench.clearance import holds

        if path.is_dir():
            # the CSV set first: a folder holding both formats imports as before
            for cand in ("sdn.csv", "SDN.CSV", "cons_prim.csv", "CONS_PRIM.CSV",
                         "sdn.xml", "SDN.XML", "consolidated.xml", "CONSOLIDATED.XML"):
                if (path / cand).exists():
                    path = path / cand
                    break
            else:
                raise WorkbenchError(f"{path}: a folder must hold sdn.csv, cons_prim.csv, "
                                     "sdn.xml or consolidated.xml")
        wb = c.signed_in()
        cb, finish = progress_bar(f"Importing {path.name}")
        try:
            ch, rr = holds.import_list(wb, path, format=fmt, rescreen=not no_rescreen,
                                       progress=cb)
        finally:
            finish()
        info: dict[str, Any] = dict(ch.record or {})
        info["warnings"] = ch.extra.get("warnings", [])
        if rr is not None:
            info["rescreen"] = {"run_id": rr["run_id"], "new_hits": len(rr["new_hits"]),
                                "gone": len(rr["gone"]),
                                "affected_shipments": [s["reference"] for s in rr["affected_shipments"]],
                                "held": [h["reference"] for h in rr["held"]]}
        else:
            info["not_rescreened"] = [r["reference"] for r in wb.store.all(
                "select reference from shipment where status = 'cleared' order by reference")]

        def text() -> str:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(info["counts"].items()))
            lines = [f"Snapshot {info['snapshot_id']}: {info['file']} ({info['format']}), "
                     f"{info['entries']} entries [{counts}], sha256 {info['sha256'][:16]}…"]
            if info.get("diff"):
                d = info["diff"]
                lines.append(f"  since snapshot {info['previous_id']}: {d['added']} added, "
                             f"{d['removed']} removed, {d['changed']} changed")
            for w in info["warnings"][:10]:
                lines.append(f"  warning: {w}")
            if "rescreen" in info:
                r = info["rescreen"]
                lines.append(f"  re-screened: {r['new_hits']} new hits, {r['gone']} gone; "
                             f"open shipments affected: "
                             f"{', '.join(r['affected_shipments']) or 'none'}")
                if r["held"]:
                    lines.append(f"  put on hold: {', '.join(r['held'])}")
            else:
                lines.append("  not re-screened: no shipment can be cleared or shipped until "
                             "the parties are screened again (workbench rescreen)")
                if info["not_rescreened"]:
                    lines.append(f"  cleared, now waiting for that re-screen before they can "
                                 f"ship: {', '.join(info['not_rescreened'])}")
            return "\n".join(lines)

        c.out(info, text)

    @lists_group.command("download")
    @click.option("--url", help="Download from this address (default: the configured one).")
    @click.option("--save-url", is_flag=True, help="Remember --url as the address to use.")
    @pass_ctx
    def lists_download(c: Ctx, url: str | None, save_url: bool) -> None:
        """Download the latest Consolidated Screening List and import it."""
        from workbench.clearance import holds
        from workbench.screening.download import download_latest, set_csl_url

        wb = c.signed_in()
        if url and save_url:
            set_csl_url(wb, url)
        cb, finish = progress_bar("Downloading")
        try:
            ch, rr = download_latest(wb, url=url, progress=cb, importer=holds.import_list)
        finally:
            finish()
        held = [h["reference"] for h in rr["held"]]
        info = dict(ch.record or {}, rescreen={"new_hits": len(rr["new_hits"]),
                                               "gone": len(rr["gone"]), "held": held})
        c.out(info, f"Snapshot {ch.id}: {info['file']}, {info['entries']} entries; "
                    f"{len(rr['new_hits'])} new hits, {len(rr['gone'])} gone"
                    + (f"; put on hold: {', '.join(held)}" if held else ""))

    @lists_group.command("show")
    @click.option("--all", "show_all", is_flag=True, help="Every snapshot, not only current ones.")
    @pass_ctx
    def lists_show(c: Ctx, show_all: bool) -> None:
        """Snapshots with their counts per list."""
        import json

        from workbench.screening.snapshots import current_snapshots, list_snapshots

        store = c.workbench().store
        snaps = list_snapshots(store) if show_all else current_snapshots(store)
        for s in snaps:
            s["counts"] = json.loads(s["counts"])
            s["files"] = json.loads(s["files"])
        c.out(snaps, lambda: "\n".join(
            f"{s['id']:>4}  {s['source']:<9} {s['file_name']:<28} {s['entry_count']:>7} entries"
            f"  published {s['publish_date'] or '—':<10}  imported {s['imported_at'][:10]}"
            f" by {s['imported_by']}  sha256 {s['sha256'][:12]}…" for s in snaps)
            or "no list snapshots yet: `workbench lists import FILE`")

    @cli.command("screen")
    @click.argument("name", required=False)
    @click.option("--country", metavar="CC", help="Country of the name (adjusts scores).")
    @click.option("--party", "party_id", type=int, help="Screen a stored party (by id).")
    @click.option("--shipment", "shipment_ref", help="Screen every party of a shipment.")
    @click.option("--all", "all_parties", is_flag=True, help="Screen every party.")
    @click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
                  help="CSV/XLSX of names: a `name` column; `id`, `country` optional.")
    @click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
                  help="With --file: write results to R.csv or R.xlsx.")
    @click.option("--threshold", type=float, help="Score 0–100 from which a hit is reported.")
    @pass_ctx
    def screen_cmd(c: Ctx, name: str | None, country: str | None, party_id: int | None,
                   shipment_ref: str | None, all_parties: bool, file: Path | None,
                   out: Path | None, threshold: float | None) -> None:
        """Screen a name, a party, a shipment, every party, or a file of names."""
        from workbench.screening import results as R

        chosen = sum(bool(x) for x in (name, party_id, shipment_ref, all_parties, file))
        if chosen != 1:
            raise click.UsageError("give exactly one of NAME, --party, --shipment, --all, --file")
        if out and not file:
            raise click.UsageError("--out goes with --file")
        if name:
            res = R.screen_names(c.workbench().store, [name], country=country, threshold=threshold)
            data = {"snapshots": res["snapshots"],
                    "results": [{"id": 1, "query": name, "country": country, "hits": res["hits"]}]}
        elif file:
            from workbench.screening.batch import result_rows, screen_file

            wb = c.workbench()
            # a named user signs in (a wrong password is refused); with nobody
            # named the screening still runs, read-only, and is not recorded
            named = bool(c.username or os.environ.get("WORKBENCH_USER"))
            record = named or not wb.store.scalar("select count(*) from user")
            if named:
                wb = c.signed_in()
            cb, finish = progress_bar(f"Screening {file.name}")
            try:
                data = screen_file(wb, file, threshold=threshold, progress=cb, record=record)
            finally:
                finish()
            if not record:
                click.echo("Not recorded: sign in with --user NAME (or $WORKBENCH_USER) to "
                           "keep this screening run in the audit trail.", err=True)
            if out:
                from workbench.spreadsheets.exports import Sheet, write_sheets

                headers, rows = result_rows(data)
                write_sheets(out, [Sheet("Screening", headers, rows)])
        else:
            wb = c.signed_in()
            if party_id:
                raw = R.screen_parties(wb, [party_id], scope="party", subject=str(party_id),
                                       threshold=threshold)
            elif shipment_ref:
                from workbench.records.shipments import find_shipment

                sid = find_shipment(wb.store, shipment_ref)
                if sid is None:
                    raise WorkbenchError(f"no shipment with reference {shipment_ref!r}")
                raw = R.screen_shipment(wb, sid, threshold=threshold)
            else:
                cb, finish = progress_bar("Screening all parties")
                try:
                    raw = R.screen_all(wb, threshold=threshold, progress=cb)
                finally:
                    finish()
            data = {"run_id": raw["run_id"], "snapshots": raw["snapshots"],
                    "results": [{"id": r["party_id"], "query": r["names"][0],
                                 "names": r["names"], "hits": r["hits"],
                                 "fronts": r["fronts"]}
                                for r in raw["results"]]}

        def text() -> str:
            lines = []
            if not data["snapshots"]:
                lines.append("warning: no list snapshots imported; nothing to screen against")
            for r in data["results"]:
                hits = r["hits"]
                if not hits and (name or party_id):
                    lines.append(f"{r['query']}: no hits")
                for f in r.get("fronts", []):
                    lines.append(f"{r['query']}: possible front ({f['kind']}): {f['detail']}")
                for h in hits:
                    status = f" [{h['status']}]" if "status" in h else ""
                    lines.append(f"{r['query']}: {h['score']:.0f} {h['entry_id']} "
                                 f"{h['list_name']}{status}")
                    lines.append(f"    {h['explanation']}")
                    li = h.get("listing", {})
                    if li.get("license_requirement"):
                        lines.append(f"    licence requirement: {li['license_requirement']}")
                    if li.get("license_policy"):
                        lines.append(f"    review policy: {li['license_policy']}")
                    if li.get("federal_register_notice"):
                        lines.append(f"    Federal Register: {li['federal_register_notice']}")
                    if li.get("programs"):
                        lines.append(f"    programs: {', '.join(li['programs'])}")
            n = sum(len(r["hits"]) for r in data["results"])
            lines.append(f"{len(data['results'])} screened, {n} hits"
                         + (f"; results written to {out}" if out else ""))
            return "\n".join(lines)

        c.out(data, text)

    @cli.command("rescreen")
    @pass_ctx
    def rescreen_cmd(c: Ctx) -> None:
        """Re-screen every party against the current snapshots."""
        from workbench.clearance.holds import rescreen_all
        from workbench.screening import results as R

        wb = c.signed_in()
        cb, finish = progress_bar("Re-screening")
        try:
            raw = rescreen_all(wb, progress=cb)
        finally:
            finish()
        open_ = R.open_hits(wb.store)
        held = [h["reference"] for h in raw["held"]]
        c.out({"run_id": raw["run_id"], "parties": len(raw["results"]),
               "hits": sum(len(r["hits"]) for r in raw["results"]), "open_hits": len(open_),
               "held": held},
              f"Re-screened {len(raw['results'])} parties: "
              f"{sum(len(r['hits']) for r in raw['results'])} hits, {len(open_)} need a decision"
              + (f"; put on hold: {', '.join(held)}" if held else ""))

    @cli.command("fronts")
    @pass_ctx
    def fronts_cmd(c: Ctx) -> None:
        """Parties that share contact details with a list entry or are owned 50%+
        (aggregated, through chains) by listed parties."""
        from workbench.records.parties import get_party

        from workbench.screening.fronts import all_front_flags

        store = c.workbench().store
        flags = all_front_flags(store)
        data = [{"party_id": pid, "party": get_party(store, pid)["legal_name"],
                 "flags": [f.as_dict() for f in fl]} for pid, fl in flags.items()]
        c.out(data, lambda: "\n".join(
            f"{d['party']} (party {d['party_id']}): {f['kind']}: {f['detail']}"
            for d in data for f in d["flags"]) or "no possible fronts")

    @cli.command("hits")
    @pass_ctx
    def hits_cmd(c: Ctx) -> None:
        """Hits that need a decision (from each party's latest screening)."""
        from workbench.screening.results import open_hits

        rows = open_hits(c.workbench().store)
        keep = ("id", "party_id", "legal_name", "entry_id", "list_code", "list_name",
                "score", "status", "explanation")
        rows = [{k: r[k] for k in keep} for r in rows]
        c.out(rows, lambda: "\n".join(
            f"hit {r['id']:>5}  {r['legal_name']} → {r['list_name']} ({r['entry_id']}, "
            f"score {r['score']:.0f}, {r['status']})" for r in rows) or "no open hits")

    @cli.command("decide")
    @click.argument("hit_id", type=int)
    @click.option("--as", "decision", type=click.Choice(["true_match", "false_positive", "escalate"]),
                  required=True)
    @click.option("--reason", required=True, help="Why; an auditor will read it.")
    @click.option("--expires", "expires_on", metavar="YYYY-MM-DD",
                  help="A false positive is raised again after this date.")
    @click.option("--shipment-only", is_flag=True,
                  help="The false positive holds only for the shipment the hit was raised for.")
    @pass_ctx
    def decide_cmd(c: Ctx, hit_id: int, decision: str, reason: str, expires_on: str | None,
                   shipment_only: bool) -> None:
        """Record a decision on a hit."""
        from workbench.screening.results import decide

        ch = decide(c.signed_in(), hit_id, decision, reason, expires_on=expires_on,
                    shipment_only=shipment_only)
        c.out(ch.record, f"Recorded {decision.replace('_', ' ')} on hit {hit_id} "
                         f"(decision {ch.id})")
