"""``workbench classify``, ``workbench determine`` and ``workbench rules …``.

Registered on the main click group by :func:`register`. Output follows the
CLI's conventions: text for people, ``--json`` (global or per command) for
scripts; refusals exit 1 with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workbench.cli.common import approver_password, party_by_ref
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.rules.pack import Pack

# The rules, clearance and pack modules are imported inside the commands
# that use them: every command pays for what is imported here (issue 17:
# `workbench screen NAME` spent a quarter of its time importing rules).
MAX_TXN_BYTES = 2_000_000


def _ctx() -> Any:
    return click.get_current_context().find_object(object)


def _as_json(flag: bool) -> bool:
    c = click.get_current_context().obj
    return flag or bool(getattr(c, "as_json", False))


def _emit(data: Any, text: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(text)


def _maybe_store(c: Any) -> Any:
    """The open database when one exists, else None (what-ifs need none)."""
    try:
        return c.workbench().store if c.db_path.exists() else None
    except WorkbenchError:
        return None


def _pack_arg(c: Any, ref: str | None) -> Pack:
    from workbench.rules import determinations as rstore
    from workbench.rules.pack import builtin_pack, load_pack
    if ref in (None, "", "active"):
        st = _maybe_store(c)
        return rstore.active_pack(st) if st is not None else builtin_pack()
    if ref == "builtin":
        return builtin_pack()
    return load_pack(ref)


# -- text renderers -------------------------------------------------------------------

def _classification_text(info: dict[str, Any]) -> str:
    p = info["proposal"]
    lines = [f"{info.get('manufacturer') or ''} {info['model']}".strip() +
             f" on {info['date']} (pack {info['pack']['id']} {info['pack']['version']})"]
    lines += [f"  {w}" for w in p["working"]]
    prop = p["computed_eccn"] or "not in 3A090/4A090"
    lines.append(f"Proposed: {prop}")
    if p["excluded_by"]:
        lines.append(f"  excluded by {p['excluded_by']}")
    if p.get("fallback"):
        fb = p["fallback"]
        lines.append(f"  ECCN to confirm: {fb['eccn']} ({fb['why']})")
    if p["level"] == "a" and p.get("computed_eccn"):
        lines.append("  .a item: data-centre 3A090.a needs a licence where §742.6(a)(6) applies;"
                     " a non-data-centre 3A090.a item is NAC/ACA-eligible")
    if p["missing"]:
        lines.append(f"  undecided: missing {', '.join(p['missing'])}")
    d = info.get("decision")
    if d:
        lines.append(f"Decision: {d['decision']} {d['eccn'] or '(not 3A090)'} by "
                     f"{d['decided_by']} at {d['decided_at'][:19]}"
                     + (f" — {d['reason']}" if d["reason"] else ""))
    return "\n".join(lines)


def determination_text(r: dict[str, Any]) -> str:
    """A determination as plain text a non-lawyer can read."""
    out = [f"Outcome: {r['outcome'].replace('_', ' ').upper()}"
           + (f" — License Exception {r['exception']}" if r.get("exception") else ""),
           f"Date evaluated: {r['date']}   Pack: {r['pack']['id']} {r['pack']['version']} "
           f"({r['pack']['sha256'][:12]}…)"]
    v = r["values"]
    if v.get("destination_note"):
        out.append(f"Note: {v['destination_note']}")
    for c in r["classification"]:
        out.append(f"Line {c['line']}: {c['model']}: "
                   f"TPP {c['tpp'] if c['tpp'] is not None else '?'}"
                   f", PD {c['pd'] if c['pd'] is not None else '?'}"
                   f" → {c['eccn'] or 'not 3A090'}"
                   + (f" ({c['fallback']['eccn']} to confirm)" if c.get("fallback") else ""))
    if r["reasons"]:
        out.append("Rules that applied:")
        for x in r["reasons"]:
            flag = "" if x["verified"] else "  [UNVERIFIED]"
            out.append(f"  - {x['rule_id']}: {x['title']} ({x['citation']}){flag}")
    if r["suppressed"]:
        out.append("Not applied (overlay):")
        for x in r["suppressed"]:
            out.append(f"  - {x['rule_id']} suppressed by {x['suppressed_by']}")
    if r.get("review_policy"):
        rp = r["review_policy"]
        out.append(f"Licence review policy: {rp['policy'].replace('_', ' ')}"
                   + (f" ({rp.get('citation')})" if rp.get("citation") else ""))
        for cert in rp.get("certifications") or []:
            out.append(f"  certify: {cert}")
    for ob in r.get("obligations") or []:
        out.append(f"Obligation: {ob['text']}")
    for msg in r.get("review_needed") or []:
        out.append(f"Needs review: {msg}")
    for w in r.get("warnings") or []:
        out.append(f"Warning: {w}")
    if r.get("unverified"):
        out.append(f"Relies on unverified rules: {', '.join(r['unverified'])}")
    return "\n".join(out)


# -- commands ---------------------------------------------------------------------------

@click.command("classify")
@click.argument("item")
@click.option("--date", help="Legal date (YYYY-MM-DD); default today.")
@click.option("--accept", is_flag=True, help="Accept the proposed classification (signs in).")
@click.option("--override", "override", metavar="ECCN",
              help="Replace the proposal with this ECCN (needs --reason; signs in).")
@click.option("--reason", default="", help="Why (required for --override).")
@click.option("--json", "as_json_flag", is_flag=True, help="Machine-readable output.")
def classify_cmd(item: str, date: str | None, accept: bool, override: str | None,
                 reason: str, as_json_flag: bool) -> None:
    """Compute TPP and performance density of ITEM (model name or id) and
    propose its ECCN paragraph; optionally accept or override it."""
    from workbench.rules import determinations as rstore
    c = click.get_current_context().obj
    wb = c.workbench()
    iid = rstore.find_item_ref(wb.store, item)
    if accept and override:
        raise click.UsageError("use either --accept or --override")
    if accept or override:
        wb = c.signed_in()
        rstore.decide_classification(wb, iid, accept=accept, eccn=override, reason=reason,
                                     date=date)
    info = rstore.classify_item(wb.store, iid, date)
    _emit(info, _classification_text(info), _as_json(as_json_flag))


@click.command("determine")
@click.option("--input", "input_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A what-if transaction (txn.json; see docs/txn-schema.md). '-' = stdin.")
@click.option("--shipment", "shipment_ref", help="Decide a stored shipment (reference).")
@click.option("--save", is_flag=True, help="With --shipment: store the determination (signs in).")
@click.option("--date", help="Override the transaction's date (YYYY-MM-DD).")
@click.option("--pack", "pack_ref", help="Pack folder, 'builtin' or 'active' (default).")
@click.option("--json", "as_json_flag", is_flag=True, help="Machine-readable output.")
def determine_cmd(input_path: Path | None, shipment_ref: str | None, save: bool,
                  date: str | None, pack_ref: str | None, as_json_flag: bool) -> None:
    """Decide whether a licence is needed: outcome, exception, rules cited."""
    from workbench.rules import determinations as rstore
    from workbench.rules.engine import TxnError, determine
    c = click.get_current_context().obj
    as_json = _as_json(as_json_flag)
    if bool(input_path) == bool(shipment_ref):
        raise click.UsageError("give exactly one of --input FILE or --shipment REF")
    pack = _pack_arg(c, pack_ref)
    if shipment_ref:
        from workbench.records.shipments import find_shipment
        wb = c.workbench()
        sid = find_shipment(wb.store, shipment_ref)
        if sid is None:
            raise WorkbenchError(f"no shipment with reference {shipment_ref!r}")
        hits_for = rstore.screening_hits_for(wb.store)
        if save:
            ch = rstore.determine_shipment(c.signed_in(), sid, hits_for=hits_for, pack=pack)
            result = {**ch.record, "determination_id": ch.id}
        else:
            txn = rstore.txn_from_shipment(wb.store, sid, hits_for=hits_for, date=date)
            result = determine(pack, txn)
    else:
        raw = sys.stdin.buffer.read(MAX_TXN_BYTES + 1) if str(input_path) == "-" else None
        if raw is None:
            if not input_path.exists():
                raise WorkbenchError(f"{input_path}: no such file")
            if not input_path.is_file():
                raise WorkbenchError(f"{input_path}: not a regular file (a device or a "
                                     f"pipe?)")
            if input_path.stat().st_size > MAX_TXN_BYTES:
                raise WorkbenchError(f"{input_path}: larger than {MAX_TXN_BYTES:,} bytes")
            raw = input_path.read_bytes()
        if len(raw) > MAX_TXN_BYTES:
            raise WorkbenchError(f"{input_path}: larger than {MAX_TXN_BYTES:,} bytes")
        try:
            txn = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise WorkbenchError(f"{input_path}: JSON nested too deeply to be a "
                                 f"transaction") from None
        except ValueError as e:  # bad UTF-8, bad JSON, a number of thousands of digits
            raise WorkbenchError(f"{input_path}: not valid JSON ({e})") from None
        if date and isinstance(txn, dict):
            txn["date"] = date
        st = _maybe_store(c)
        if st is not None and isinstance(txn, dict):
            txn = rstore.screen_txn_parties(st, txn)
            if "is_informed_letters" not in txn:
                letters = rstore.active_letters(st)
                if letters:
                    txn["is_informed_letters"] = letters
        try:
            result = determine(pack, txn)
        except TxnError as e:
            raise WorkbenchError(f"{input_path}: {e}") from None
    _emit(result, determination_text(result), as_json)


@click.group("rules")
def rules_group() -> None:
    """Rules packs: show, load (with diff and impact), diff."""


@rules_group.command("show")
@click.option("--pack", "pack_ref", help="Pack folder, 'builtin' or 'active' (default).")
@click.option("--rule", "rule_id", help="Show one rule in full.")
@click.option("--json", "as_json_flag", is_flag=True)
def rules_show(pack_ref: str | None, rule_id: str | None, as_json_flag: bool) -> None:
    """The pack in force (or a folder): its rules with citations and validity."""
    from workbench.rules import determinations as rstore
    c = click.get_current_context().obj
    pack = _pack_arg(c, pack_ref)
    if rule_id:
        r = pack.rule(rule_id)
        if r is None:
            raise WorkbenchError(f"no rule {rule_id!r} in {pack.id} {pack.version}")
        data = {"kind": r.kind, **r.data, "sources_detail": [pack.sources.get(s) for s in
                                                              r.data.get("sources", [])]}
        _emit(data, json.dumps(data, indent=2, ensure_ascii=False), True)
        return
    rules = [{"id": r.id, "kind": r.kind, "title": r.data.get("title"),
              "citation": r.data.get("citation"), "valid_from": r.data.get("valid_from"),
              "valid_to": r.data.get("valid_to"), "verified": r.verified}
             for r in pack.all_rules()]
    st = _maybe_store(c)
    data = {"pack": pack.ref, "as_of": pack.manifest["as_of"],
            "supersedes": pack.manifest.get("supersedes"), "rules": rules,
            "groups": sorted(pack.groups), "sets": sorted(pack.sets),
            "stored": rstore.list_packs(st) if st is not None else []}

    def text() -> str:
        lines = [f"{pack.id} {pack.version} (as of {pack.manifest['as_of']}, sha256 "
                 f"{pack.sha256[:16]}…)"]
        for r in rules:
            when = f"{r['valid_from'] or '…'} → {r['valid_to'] or 'open'}"
            lines.append(f"  {r['kind']:<13} {r['id']:<34} {when:<25} {r['citation']}"
                         + ("" if r["verified"] else "  [unverified]"))
        return "\n".join(lines)

    _emit(data, text(), _as_json(as_json_flag))


def _diff_text(d: dict[str, Any], imp: dict[str, Any] | None) -> str:
    lines = [f"{d['from']['id']} {d['from']['version']} → {d['to']['id']} {d['to']['version']}"]
    for x in d["added"]:
        lines.append(f"  + {x['kind']} {x['id']}: {x.get('title')}")
    for x in d["removed"]:
        lines.append(f"  - {x['kind']} {x['id']}: {x.get('title')}")
    for x in d["changed"]:
        lines.append(f"  ~ {x['kind']} {x['id']} ({', '.join(x['fields'])})")
    for g in d["groups_changed"]:
        lines.append(f"  ~ country group {g}")
    for s in d["sets_changed"]:
        lines.append(f"  ~ set {s}")
    if not any((d["added"], d["removed"], d["changed"], d["groups_changed"], d["sets_changed"])):
        lines.append("  no rule changes")
    if imp is not None:
        lines.append(f"Open shipments that change outcome: {len(imp['shipments'])}")
        for s in imp["shipments"]:
            lines.append(f"  {s['reference']} ({s['status']}, {s['date']}): "
                         f"{s['before']['outcome']}{'/' + s['before']['exception'] if s['before']['exception'] else ''}"
                         f" → {s['after']['outcome']}{'/' + s['after']['exception'] if s['after']['exception'] else ''}")
        lines.append(f"Saved determinations that would change: {len(imp['determinations'])}")
        for s in imp["determinations"]:
            lines.append(f"  determination {s['determination_id']} (shipment {s['shipment_id']}):"
                         f" {s['before']['outcome']} → {s['after']['outcome']}")
    return "\n".join(lines)


@rules_group.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--impact/--no-impact", default=True,
              help="Also list open shipments and saved determinations that would change.")
@click.option("--json", "as_json_flag", is_flag=True)
def rules_diff(old: str, new: str, impact: bool, as_json_flag: bool) -> None:
    """Compare two packs (folders, 'builtin' or 'active')."""
    from workbench.rules import determinations as rstore
    c = click.get_current_context().obj
    a, b = _pack_arg(c, old), _pack_arg(c, new)
    d = rstore.diff_packs(a, b)
    st = _maybe_store(c)
    imp = rstore.impact(st, b, a, hits_for=rstore.screening_hits_for(st)) \
        if impact and st is not None else None
    _emit({"diff": d, "impact": imp}, _diff_text(d, imp), _as_json(as_json_flag))


@rules_group.command("test")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json_flag", is_flag=True)
def rules_test(folder: Path, as_json_flag: bool) -> None:
    """Run a pack folder's golden cases without loading it (exit 1 if any fails)."""
    from workbench.rules import golden
    from workbench.rules.pack import load_pack
    pack = load_pack(folder)
    bad = golden.failures(pack)
    n = len(pack.golden_cases)
    text = (f"{pack.id} {pack.version}: all {n} golden cases pass" if not bad else
            f"{pack.id} {pack.version}: {len(bad)} of {n} golden cases fail\n"
            + golden.describe(bad, limit=len(bad)))
    _emit({"pack": pack.ref, "cases": n, "failures": bad}, text, _as_json(as_json_flag))
    if bad:
        sys.exit(1)


@rules_group.command("load")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--approver", required=True,
              help="A different user with the approver role, who confirms with their password "
                   "($WORKBENCH_APPROVER_PASSWORD or a prompt).")
@click.option("--json", "as_json_flag", is_flag=True)
def rules_load(folder: Path, approver: str, as_json_flag: bool) -> None:
    """Verify a pack folder, run its golden cases, show its diff and impact, and
    make it active: four eyes (an approver confirms)."""
    from workbench.clearance import holds
    from workbench.rules.pack import load_pack
    c = click.get_current_context().obj
    wb = c.signed_in()
    new = load_pack(folder)
    ch = holds.install_pack(wb, new, approver=approver,
                            approver_password=approver_password(approver))
    d = ch.extra["diff"]
    imp = ch.extra["impact"] or {"shipments": [], "determinations": []}
    held = ch.extra["held"]
    text = (f"Loaded and activated {new.id} {new.version} (approved by {approver}; "
            f"{len(new.golden_cases)} golden cases pass)\n" + _diff_text(d, imp))
    if held:
        text += "\nPut on hold (outcome changed): " + ", ".join(h["reference"] for h in held)
    _emit({"loaded": new.ref, "approved_by": approver, "diff": d, "impact": imp,
           "held": held}, text, _as_json(as_json_flag))


@rules_group.command("letter")
@click.argument("overlay")
@click.option("--withdraw", is_flag=True, help="The letter no longer applies.")
@click.option("--received-on", metavar="YYYY-MM-DD", help="Date on the letter.")
@click.option("--reference", default="", help="The letter's reference (e.g. BIS file number).")
@click.option("--note", default="")
@click.option("--json", "as_json_flag", is_flag=True)
def rules_letter(overlay: str, withdraw: bool, received_on: str | None, reference: str,
                 note: str, as_json_flag: bool) -> None:
    """Record an is-informed letter the company received (OVERLAY: the pack's
    company-specific overlay id, e.g. OVL.H20_IS_INFORMED), or withdraw it.
    Saved determinations made before become out of date."""
    from workbench.clearance import holds
    from workbench.rules import determinations as rstore
    c = click.get_current_context().obj
    wb = c.signed_in()
    ch = holds.record_letter(wb, overlay, active=not withdraw, received_on=received_on,
                              reference=reference, note=note)
    now = rstore.active_letters(wb.store)
    held = ch.extra["held"]
    refs = [wb.store.scalar("select reference from shipment where id = ?", (i,))
            for i in ch.extra["changed"]]
    text = (f"{overlay}: {'withdrawn' if withdraw else 'recorded'}. Letters in force: "
            f"{', '.join(now) or 'none'}.")
    if refs:
        text += (f"\nOutcome changes for: {', '.join(refs)}"
                 + (f"; put on hold: {', '.join(h['reference'] for h in held)}" if held else ""))
    _emit({"overlay": overlay, "action": ch.action, "active_letters": now,
           "changed": refs, "held": [h["reference"] for h in held]}, text,
          _as_json(as_json_flag))


@rules_group.command("letters")
@click.option("--json", "as_json_flag", is_flag=True)
def rules_letters(as_json_flag: bool) -> None:
    """Is-informed letters recorded, oldest first, and those in force."""
    from workbench.rules import determinations as rstore
    c = click.get_current_context().obj
    st = c.workbench().store
    rows, now = rstore.letters(st), rstore.active_letters(st)
    text = "\n".join(
        f"{r['recorded_at'][:10]}  {'receive ' if r['active'] else 'withdraw'}  "
        f"{r['overlay_id']:<24} {r['received_on'] or '':<10}  {r['reference']}  "
        f"(by {r['recorded_by']})" for r in rows) or "no letters recorded"
    _emit({"letters": rows, "in_force": now}, text + f"\nin force: {', '.join(now) or 'none'}",
          _as_json(as_json_flag))


@rules_group.command("tag")
@click.argument("party")
@click.argument("tag")
@click.option("--remove", is_flag=True, help="The fact no longer holds.")
@click.option("--note", default="", help="How you know (an auditor reads it).")
@click.option("--json", "as_json_flag", is_flag=True)
def rules_tag(party: str, tag: str, remove: bool, note: str, as_json_flag: bool) -> None:
    """Record a fact about a party that the rules use (PARTY: id or exact
    name; TAG e.g. approved_csp, government_end_user), or remove it."""
    from workbench.clearance import holds
    from workbench.rules import determinations as rstore
    c = click.get_current_context().obj
    wb = c.signed_in()
    pid = party_by_ref(wb.store, party)
    ch = holds.set_party_tag(wb, pid, tag, present=not remove, note=note)
    now = rstore.party_tags(wb.store, pid)
    held = [h["reference"] for h in ch.extra["held"]]
    _emit({"party_id": pid, "tags": now, "held": held},
          f"party {pid}: {'removed' if remove else 'recorded'} {tag.strip().lower()}; tags now: "
          f"{', '.join(now) or 'none'}" + (f"\nput on hold: {', '.join(held)}" if held else ""),
          _as_json(as_json_flag))


@rules_group.command("seal")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def rules_seal(folder: Path) -> None:
    """Pack authors: rewrite FOLDER/manifest.yaml with the files' SHA-256,
    then verify the pack. Never run on a published pack."""
    from workbench.rules.pack import load_pack, seal_pack
    m = seal_pack(folder)
    load_pack(folder)
    click.echo(f"Sealed {m['pack_id']} {m['version']}: {len(m['files'])} files, "
               f"sha256 {m['pack_sha256']}")


def register(cli: click.Group) -> None:
    """Add the rules commands to the main `workbench` group."""
    cli.add_command(classify_cmd)
    cli.add_command(determine_cmd)
    cli.add_command(rules_group)


__all__ = ["register", "determination_text"]
