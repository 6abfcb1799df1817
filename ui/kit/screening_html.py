"""How screening reads on screen: list names, a hit explained token by token,
possible fronts, a list entry, a snapshot's provenance. Pure functions returning
HTML (Qt only for the browser they fill).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from PySide6.QtWidgets import QFrame, QTextBrowser

from workbench.screening import results, snapshots

from ui.kit.views import esc, format_timestamp


#: How a list code reads to an officer (tooltips and headings only).
LIST_LABELS = {
    "EL": "Entity List (BIS)", "DPL": "Denied Persons List (BIS)",
    "UVL": "Unverified List (BIS)", "MEU": "Military End-User List (BIS)",
    "SDN": "Specially Designated Nationals (OFAC)", "SSI": "Sectoral Sanctions (OFAC)",
    "FSE": "Foreign Sanctions Evaders (OFAC)", "PLC": "Palestinian Legislative Council (OFAC)",
    "CAP": "Correspondent Account or Payable-Through Account Sanctions (OFAC)",
    "CMIC": "Non-SDN Chinese Military-Industrial Complex (OFAC)",
    "NS-MBS": "Non-SDN Menu-Based Sanctions (OFAC)", "DTC": "ITAR Debarred (State)",
    "ISN": "Nonproliferation Sanctions (State)",
}


FORMAT_LABELS = {"csl_csv": "CSL CSV", "csl_json": "CSL JSON", "ofac_sdn": "OFAC SDN CSV",
                 "ofac_cons": "OFAC non-SDN CSV", "bis_dpl": "BIS DPL text",
                 "ofac_xml": "OFAC XML"}


STATUS_LABELS = {"open": "Open", "escalated": "Escalated", "cleared": "False positive",
                 "confirmed": "True match"}


FRONT_KINDS = {"address": "Shared address", "phone": "Shared phone", "website": "Shared domain",
               "email_domain": "Shared e-mail domain", "registration": "Shared registration",
               "ownership": "Owned by listed parties"}


def list_label(code: str) -> str:
    return LIST_LABELS.get(code, code)


HIT_CSS = """
<style>
 body { font-size: 10pt; }
 h3 { margin: 2px 0 4px 0; }
 h4 { margin: 10px 0 3px 0; color: #3b4a66; }
 td, th { padding: 2px 6px; vertical-align: top; }
 th { text-align: left; background: #eef1f6; font-weight: 600; }
 .k { color: #555; white-space: nowrap; }
 .mono { font-family: monospace; font-size: 9pt; }
 .muted { color: #777; }
</style>
"""


_HOW = {"exact": ("=", "#1e7b34"), "joined": ("= (spacing)", "#1e7b34"),
        "acronym": ("acronym of", "#1e7b34"), "initial": ("initial of", "#9a6700"), "typo": ("≈ typo", "#9a6700"),
        "spelling": ("≈ spelling", "#9a6700"), "unmatched-query": ("not in list name", "#8c1d18"),
        "unmatched-list": ("not in our name", "#777")}


def _score_badge(score: float) -> str:
    bg = "#fde7e7" if score >= 95 else "#fff4ce"
    return (f"<span style='background:{bg}; border:1px solid #d9b0ac; padding:1px 6px;'>"
            f"<b>score {score:.0f}</b></span>")


def _kv_table(pairs: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td class='k'>{esc(k)}</td><td>{v}</td></tr>" for k, v in pairs if v)
    return f"<table cellspacing='0'>{rows}</table>" if rows else ""


def provenance_html(snap: dict[str, Any] | None) -> str:
    """Which snapshot a result was checked against (source, file, date, hash)."""
    if not snap:
        return "<p class='muted'>No snapshot recorded.</p>"
    return _kv_table([
        ("Snapshot", esc(f"#{snap.get('snapshot_id')} — "
                        f"{snapshots.SOURCE_LABELS.get(snap.get('source', ''), snap.get('source'))}")),
        ("File", esc(snap.get("file"))),
        ("Published", esc(snap.get("publish_date") or "not stated in the file")),
        ("Imported", esc(format_timestamp(snap.get("imported_at")))),
        ("SHA-256", f"<span class='mono'>{esc(snap.get('sha256'))}</span>"),
    ])


def listing_html(listing: dict[str, Any]) -> str:
    """What the listing means for the exporter, as the list publishes it."""
    if not listing:
        return "<p class='muted'>The list gives no licence terms for this entry.</p>"
    url = listing.get("source_url")
    return _kv_table([
        ("List", esc(f"{list_label(listing.get('list', ''))} — {listing.get('agency', '')}")),
        ("Licence requirement", esc(listing.get("license_requirement"))),
        ("Licence review policy", esc(listing.get("license_policy"))),
        ("Federal Register", esc(listing.get("federal_register_notice"))),
        ("Programs", esc("; ".join(listing.get("programs") or []))),
        ("Listed since", esc(listing.get("start_date"))),
        ("Source", f"<a href='{esc(url)}'>{esc(url)}</a>" if url else ""),
    ])


def hit_html(hit: dict[str, Any], *, subject: str | None = None,
             stored: dict[str, Any] | None = None) -> str:
    """A hit explained for an officer: who matched what, word by word, what
    the listing means and which snapshot it came from. ``stored`` is the
    screening_hit row (status, decision) when the hit was recorded."""
    alias = "alias" if hit.get("is_alias") else "name"
    parts = [HIT_CSS]
    if subject:
        parts.append(f"<h3>{esc(subject)}</h3>")
    parts.append(
        f"<p>{_score_badge(float(hit.get('score', 0)))}&nbsp; our name "
        f"<b>“{esc(hit.get('matched_name'))}”</b> matches the listed {alias} "
        f"<b>“{esc(hit.get('list_name'))}”</b>"
        + (f" of <b>{esc(hit.get('primary_name'))}</b>"
           if hit.get("primary_name") != hit.get("list_name") else "")
        + f" on the {esc(list_label(hit.get('source', '')))}.<br>"
        f"<span class='muted'>Entry {esc(hit.get('entry_id'))}</span></p>")
    if stored is not None:
        st = STATUS_LABELS.get(stored.get("status", ""), stored.get("status", ""))
        dec = stored.get("decision")
        line = f"Status: <b>{esc(st)}</b>"
        if dec:
            line += (f" — {esc(results.DECISION_LABELS.get(dec['decision'], dec['decision']))}"
                     f" by {esc(dec['user'])} on {esc(format_timestamp(dec['ts']))}: “{esc(dec['reason'])}”")
        if stored.get("shipment_ref"):
            line += f"<br>Raised for shipment <b>{esc(stored['shipment_ref'])}</b>"
        parts.append(f"<p>{line}</p>")
    parts.append("<h4>Why it matched, word by word</h4>")
    rows = []
    for t in hit.get("tokens") or []:
        how, color = _HOW.get(t.get("how", ""), (t.get("how", ""), "#333"))
        matched = not str(t.get("how", "")).startswith("unmatched")
        sim = f"{float(t.get('similarity') or 0):.2f}" if matched else ""
        rows.append(
            f"<tr><td>{esc(t.get('query_token')) or '—'}</td>"
            f"<td style='color:{color}'>{esc(how)}</td>"
            f"<td>{esc(t.get('list_token')) or '—'}</td>"
            f"<td>{esc(t.get('kind'))}</td>"
            f"<td align='right'>{sim}</td>"
            f"<td align='right'>{float(t.get('weight', 0)):.1f}</td></tr>")
    if rows:
        parts.append("<table cellspacing='0'><tr><th>Our word</th><th>Match</th>"
                     "<th>List word</th><th>Kind</th><th>Similarity</th><th>Weight</th></tr>"
                     + "".join(rows) + "</table>")
    adj = hit.get("adjustments") or {}
    if adj:
        parts.append("<p>Adjustments: " + "; ".join(
            f"{esc(k)} matches ({v:+.0f})" for k, v in adj.items()) + "</p>")
    parts.append("<p class='muted'>Rare words weigh more than common words; legal forms "
                 "(Co., Ltd., 有限公司) and country words weigh little.</p>")
    parts.append("<h4>What the listing means</h4>")
    parts.append(listing_html(hit.get("listing") or {}))
    parts.append("<h4>Checked against</h4>")
    parts.append(provenance_html(hit.get("snapshot")))
    return "".join(parts)


def fronts_html(party: str, flags: list[dict[str, Any]]) -> str:
    """Why a party may front for a listed company: shared details or the
    ownership chain, one paragraph each."""
    parts = [HIT_CSS, f"<h3>{esc(party)}</h3>",
             "<p>This party matched no list name, but it may act for a listed company:</p>"]
    for f in flags:
        parts.append(f"<h4>{esc(FRONT_KINDS.get(f['kind'], f['kind']))}</h4>")
        if f["kind"] == "ownership" and (f.get("chains") or f.get("chain")):
            parts.append(f"<p>Owned <b>{f.get('percent') or 0:.1f}%</b> by listed parties, "
                         f"adding up every chain of ownership:</p>")
            for chain in f.get("chains") or [f["chain"]]:
                share = 100.0
                lines = [f"<b>{esc(party)}</b>"]
                for depth, c in enumerate(chain, 1):
                    share *= float(c["percent"]) / 100.0
                    last = depth == len(chain)
                    lines.append("&nbsp;" * (4 * depth) + f"└ {c['percent']:g}% owned by "
                                 + (f"<b>{esc(c['name'])}</b> — a listed party (confirmed or undecided hit)" if last
                                    else esc(c["name"])))
                parts.append("<p>" + "<br>".join(lines)
                             + f"<br><span class='muted'>this chain: {share:.1f}%</span></p>")
        else:
            parts.append(f"<p>{esc(f['detail'])}</p>")
            if f.get("entry_id"):
                parts.append(f"<p class='muted'>Entry {esc(f['entry_id'])}</p>")
    parts.append("<p class='muted'>Check the relationship before you ship; record what you "
                 "found on the party.</p>")
    return "".join(parts)


def entry_html(d: dict[str, Any]) -> str:
    """Every field of a list entry, the structured ones first, then the row
    exactly as the list published it."""
    addrs = "<br>".join(esc(", ".join(x for x in (a.get("street"), a.get("city"),
                                                 a.get("state"), a.get("postcode"),
                                                 a.get("country")) if x))
                        for a in d.get("addresses") or [])
    ids = "<br>".join(esc(f"{i.get('type', '')}: {i.get('number', '')}"
                         + (f" ({i['country']})" if i.get("country") else ""))
                      for i in d.get("ids") or [])
    known = {"name", "alt_names", "list_code", "agency", "type", "addresses", "ids",
             "programs", "federal_register_notice", "license_requirement", "license_policy",
             "start_date", "remarks", "source_url", "key", "content_hash", "raw"}
    pairs = [
        ("Name", f"<b>{esc(d.get('name'))}</b>"),
        ("Other names", "<br>".join(esc(n) for n in d.get("alt_names") or [])),
        ("List", esc(f"{list_label(d.get('list_code', ''))} — {d.get('agency', '')}")),
        ("Type", esc(d.get("type"))),
        ("Addresses", addrs), ("Identifiers", ids),
        ("Programs", esc("; ".join(d.get("programs") or []))),
        ("Federal Register", esc(d.get("federal_register_notice"))),
        ("Licence requirement", esc(d.get("license_requirement"))),
        ("Licence review policy", esc(d.get("license_policy"))),
        ("Listed since", esc(d.get("start_date"))),
        ("Remarks", esc(d.get("remarks"))),
        ("Source", esc(d.get("source_url"))),
        *[(k.replace("_", " ").capitalize(), esc(json.dumps(v, ensure_ascii=False)
                                                if not isinstance(v, str) else v))
          for k, v in sorted(d.items()) if k not in known and v not in (None, "", [], {})],
        ("Content hash", f"<span class='mono'>{esc(d.get('content_hash'))}</span>"),
    ]
    out = [HIT_CSS, _kv_table(pairs)]
    raw = {k: v for k, v in (d.get("raw") or {}).items() if v not in (None, "", [], {})}
    if raw:
        out.append("<h4>As published</h4>")
        out.append(_kv_table([(k, esc(v if isinstance(v, str) else
                                     json.dumps(v, ensure_ascii=False)))
                              for k, v in raw.items()]))
    return "".join(out)


def hit_browser() -> QTextBrowser:
    tb = QTextBrowser()
    tb.setOpenExternalLinks(True)
    tb.setFrameShape(QFrame.Shape.StyledPanel)
    return tb


def counts_text(r: dict[str, Any]) -> str:
    counts = json.loads(r["counts"]) if isinstance(r["counts"], str) else r["counts"]
    return " · ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))


SOURCE_SHORT = {"csl": "Consolidated Screening List", "ofac_sdn": "OFAC SDN",
                "ofac_cons": "OFAC non-SDN", "bis_dpl": "BIS Denied Persons"}
