"""How rules read on screen: outcomes, conditions and rules in words, sources
with links. Pure functions returning HTML.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.records import shipments as shipments_mod
from workbench.rules.pack import Pack

from ui.kit.views import esc


# ----------------------------------------------------------------------------
# Plain words for what the core returns
# ----------------------------------------------------------------------------
# (headline, background, accent, what it means for the officer)
OUTCOMES: dict[str, tuple[str, str, str, str]] = {
    "license_required": (
        "Licence required", "#fde7e7", "#b3261e",
        "An export licence from BIS is needed before this can ship. Do not ship until the "
        "licence is granted and assigned to the shipment."),
    "license_exception": (
        "Licence exception {exc}", "#e8f0fe", "#1f4fb4",
        "No individual licence is needed: this can ship under License Exception {exc}, "
        "provided every obligation listed below is met first."),
    "no_license_required": (
        "No licence required", "#e6f4ea", "#1e6b34",
        "The rules in this pack do not require a licence for this shipment on this date. "
        "Screening and end-user checks still apply."),
    "prohibited": (
        "Prohibited", "#f6d5d5", "#7a1010",
        "This transaction must not go ahead: a party is on a list that forbids it. Stop "
        "and escalate."),
    "needs_review": (
        "Needs review", "#fff4ce", "#7a5a00",
        "The workbench could not decide. A person must resolve the points below before "
        "anything ships."),
}


POLICY_WORDS = {
    "presumption_of_approval": "presumption of approval (BIS expects to grant it)",
    "case_by_case": "case by case (BIS decides on the facts)",
    "presumption_of_denial": "presumption of denial (BIS expects to refuse it)",
    "policy_of_denial": "policy of denial (BIS will refuse it)",
    "see_entry": "as stated in the list entry",
}


SOURCE_TAGS = {"P": "primary text read", "S": "secondary source", "I": "inference",
               "?": "not verified"}


KIND_WORDS = {"requirement": "Requirement", "review_policy": "Review policy",
              "exception": "Licence exception", "overlay": "Overlay",
              "eccn_version": "ECCN text"}


EFFECT_WORDS = {"license_required": "a licence is required", "prohibited": "prohibited",
                "needs_review": "needs a person's review", "warning": "a warning",
                "no_license_exceptions": "no licence exception may be used",
                "suppress": "switches other rules off", "add_requirement": "adds a requirement",
                "license_exception": "licence exception used"}


# How references in pack conditions read (docs/txn-schema.md).
REF_WORDS = {
    "txn.date": "the shipment date", "txn.destination": "the destination",
    "txn.destination_entered": "the destination as entered",
    "txn.origin_country": "the country it leaves from", "txn.export_kind": "the kind of export",
    "txn.end_use": "the end use", "txn.end_use_flags": "the end-use flags",
    "txn.is_export": "it leaves the country", "txn.screened": "every party was screened",
    "txn.letters": "the is-informed letters received",
    "item.model": "the model name", "item.manufacturer": "the manufacturer",
    "item.item_type": "the item type", "item.datacenter": "designed/marketed for data centres",
    "item.die_area_mm2": "the die area (mm²)", "item.interconnect_gbps":
        "the chip-to-chip rate (GB/s)", "item.memory_bandwidth_gbps": "memory bandwidth (GB/s)",
    "item.hbm_bandwidth_density": "HBM bandwidth density", "item.eccn_claimed":
        "the ECCN entered", "item.quantity": "the quantity",
    "item.commercially_available_in_us_on": "the date it became commercially available in the US",
    "calc.tpp": "TPP", "calc.tpp_precision": "the precision giving TPP",
    "calc.pd": "performance density", "calc.eccn": "the ECCN", "calc.level":
        "the 3A090 level", "calc.advcomp": "it is an advanced-computing item",
    "calc.z_eccn": "the .z ECCN",
    "party.role": "the party's role", "party.name": "the party's name",
    "party.country": "the party's country", "party.hq_country": "the party's HQ country",
    "party.parent_hq_country": "the ultimate parent's HQ country",
    "party.kind": "the kind of party", "party.tags": "the party's recorded facts",
    "party.list_sources": "the lists the party is on",
    "party.listed_owner_pct": "the share owned by listed parties (%)",
    "party.listed_owner_sources": "the lists its owners are on",
    "hit.source": "the list", "hit.status": "the match status",
    "hit.license_requirement": "the entry's licence requirement",
    "hit.license_policy": "the entry's licence policy",
}


_REF = re.compile(r"^(txn|item|calc|party|hit)\.[a-z_][a-z0-9_]*$")


_CMP = {"eq": "is", "ne": "is not", "lt": "&lt;", "le": "≤", "gt": "&gt;", "ge": "≥"}


ROLE_WORDS = dict(shipments_mod.ROLE_LABELS)


LIST_WORDS = {"EL": "Entity List", "DPL": "Denied Persons List", "UVL": "Unverified List",
              "MEU": "Military End-User List", "SDN": "OFAC SDN List"}


def outcome_words(outcome: str | None, exception: str | None = None) -> str:
    """Short label of an outcome, e.g. "Licence exception NAC"."""
    if not outcome:
        return "—"
    head = OUTCOMES.get(outcome, (outcome.replace("_", " "),))[0]
    return head.format(exc=exception or "")


def number_text(v: Any) -> str:
    if v is None:
        return "?"
    f = float(v)
    return f"{f:,.0f}" if f.is_integer() else f"{f:,.2f}".rstrip("0").rstrip(".")


def _operand(v: Any, pack: Pack | None) -> str:
    if isinstance(v, dict):
        return condition_html(v, pack)
    if isinstance(v, bool):
        return "<b>yes</b>" if v else "<b>no</b>"
    if v is None:
        return "<b>unknown</b>"
    if isinstance(v, list):
        return ", ".join(_operand(x, pack) for x in v) or "(none)"
    if isinstance(v, str) and _REF.match(v):
        return esc(REF_WORDS.get(v, v.split(".", 1)[1].replace("_", " ")))
    if isinstance(v, (int, float)):
        return f"<b>{number_text(v)}</b>"
    return f"<b>{esc(v)}</b>"


def _group_words(name: str, pack: Pack | None) -> str:
    title = None
    if pack is not None:
        g = pack.groups.get(name) or pack.sets.get(name) or {}
        title = g.get("title")
    return f"<b>{esc(name)}</b>" + (f" ({esc(title)})" if title else "")


def _roles(roles: list[str] | None) -> str:
    if not roles:
        return "purchaser, consignees or end user"
    return ", ".join(ROLE_WORDS.get(r, r).lower() for r in roles)


def condition_html(cond: Any, pack: Pack | None = None) -> str:
    """A pack condition (the YAML form) in words, as nested HTML lists. Pure."""
    if not isinstance(cond, dict) or len(cond) != 1:
        return _operand(cond, pack)
    (op, arg), = cond.items()
    if op in ("all", "any"):
        head = "all of these hold:" if op == "all" else "any of these holds:"
        kids = "".join(f"<li>{condition_html(c, pack)}</li>" for c in arg)
        return f"{head}<ul>{kids}</ul>"
    if op == "not":
        return f"it is <b>not</b> so that {condition_html(arg, pack)}"
    if op == "lit":
        return _operand(arg, pack)
    if op in ("is_null", "known"):
        return f"{_operand(arg, pack)} is {'unknown' if op == 'is_null' else 'known'}"
    if op in ("any_party", "all_parties"):
        who = "some party" if op == "any_party" else "every party"
        return (f"{who} ({esc(_roles(arg.get('roles')))}) where "
                f"{condition_html(arg['where'], pack)}")
    if op == "any_hit":
        lists = ", ".join(arg.get("sources") or [])
        out = (f"a party ({esc(_roles(arg.get('roles')))}) matches the "
               f"<b>{esc(lists)}</b> list{'s' if len(arg.get('sources') or []) > 1 else ''}")
        if arg.get("where"):
            out += f", where {condition_html(arg['where'], pack)}"
        return out
    if not isinstance(arg, list) or len(arg) != 2:
        return esc(cond)
    a, b = arg
    if op in ("in_group", "not_in_group"):
        neg = " not" if op == "not_in_group" else ""
        return f"{_operand(a, pack)} is{neg} in {_group_words(b, pack)}"
    if op in ("in", "not_in"):
        neg = " not" if op == "not_in" else ""
        return f"{_operand(a, pack)} is{neg} one of {_operand(b, pack)}"
    if op == "word_in":
        return f"{_operand(a, pack)} contains one of the words {_operand(b, pack)}"
    if op == "terms_in":
        return (f"{_operand(a, pack)} mentions any of {_operand(b, pack)} "
                f"(a * stands for any ending)")
    if op == "contains":
        return f"{_operand(a, pack)} contains {_operand(b, pack)}"
    if op == "has":
        return f"{_operand(a, pack)} include {_operand(b, pack)}"
    if op in _CMP:
        return f"{_operand(a, pack)} {_CMP[op]} {_operand(b, pack)}"
    return esc(cond)


def sources_html(sources: list[dict[str, Any]]) -> str:
    """Sources as a list: title, citation, kind of source, link when known."""
    if not sources:
        return "<i>No source given.</i>"
    items = []
    for s in sources:
        link = (f' — <a href="{esc(s["url"])}">{esc(s["url"])}</a>' if s.get("url") else "")
        tag = SOURCE_TAGS.get(str(s.get("tag") or ""), "")
        items.append(f"<li><b>{esc(s.get('citation') or s.get('id'))}</b>"
                     f"{(': ' + esc(s['title'])) if s.get('title') else ''}"
                     f"{(' <i>(' + tag + ')</i>') if tag else ''}{link}</li>")
    return f"<ul>{''.join(items)}</ul>"


def pack_sources(pack: Pack | None, ids: list[str]) -> list[dict[str, Any]]:
    if pack is None:
        return [{"id": i} for i in ids]
    return [pack.sources.get(i, {"id": i}) for i in ids]


def validity_text(d: dict[str, Any]) -> str:
    f, t = d.get("valid_from"), d.get("valid_to")
    return f"in force {f or 'from the start'} to {t or 'today (no end date)'}"


UNVERIFIED_BADGE = ('<span style="background:#fff4ce; color:#7a5a00; font-weight:600;">'
                    '&nbsp;⚠ UNVERIFIED&nbsp;</span>')


def rule_html(pack: Pack | None, rule_id: str, data: dict[str, Any] | None = None,
              kind: str | None = None, *, heading: bool = True) -> str:
    """One rule in full: what it does, when it applies (in words), its
    dates, notes and sources. ``data`` defaults to the pack's rule. Pure."""
    if data is None and pack is not None:
        r = pack.rule(rule_id)
        if r is not None:
            data, kind = r.data, r.kind
    if data is None:
        return f"<p>Rule <b>{esc(rule_id)}</b> is not in this pack.</p>"
    verified = bool(data.get("verified", True))
    out = []
    if heading:
        out.append(f"<h3>{esc(data.get('title') or rule_id)}</h3>")
    out.append(f"<p><b>{esc(data.get('citation') or '')}</b><br>"
                f"<span style='color:#555'>{esc(KIND_WORDS.get(kind or '', kind or ''))} "
                f"<code>{esc(rule_id)}</code> · {esc(validity_text(data))}</span>"
                + ("" if verified else f"<br>{UNVERIFIED_BADGE} the research behind this "
                   "rule is not verified; check it before relying on it") + "</p>")
    eff = data.get("effect")
    if eff:
        words = EFFECT_WORDS.get(eff, eff)
        if eff == "add_requirement":
            words += f" ({EFFECT_WORDS.get(data.get('requirement_effect'), '')})"
        out.append(f"<p><b>Effect:</b> {esc(words)}</p>")
    if data.get("message"):
        out.append(f"<p><b>Message:</b> {esc(data['message'])}</p>")
    if data.get("when") is not None:
        out.append(f"<p><b>Applies when</b> {condition_html(data['when'], pack)}</p>")
    if data.get("covers"):
        out.append(f"<p><b>Covers:</b> {esc(', '.join(data['covers']))}</p>")
    for key, label in (("eligible_items", "Items eligible when"),
                       ("eligible_when", "Transaction eligible when"),
                       ("blocked_if", "Cannot be used when")):
        if data.get(key) is not None:
            out.append(f"<p><b>{label}</b> {condition_html(data[key], pack)}</p>")
    if data.get("targets"):
        out.append(f"<p><b>Switches off:</b> {esc(', '.join(data['targets']))}</p>")
    if data.get("warning"):
        out.append(f"<p><b>Warning shown:</b> {esc(data['warning'])}</p>")
    if data.get("applies_to"):
        out.append(f"<p><b>Review policy for:</b> {esc(', '.join(data['applies_to']))}</p>")
    for j, case in enumerate(data.get("cases") or []):
        out.append(f"<p><b>Case {j + 1}:</b> "
                   f"{esc(POLICY_WORDS.get(case.get('policy'), case.get('policy')))} when "
                   f"{condition_html(case.get('when'), pack)}</p>")
    for par in data.get("paragraphs") or []:
        out.append(f"<p><b>{esc(par['id'])}</b> (level {esc(par.get('level'))}) when "
                   f"{condition_html(par['when'], pack)}</p>")
    for ex in data.get("exclusions") or []:
        out.append(f"<p><b>Exclusion {esc(ex['id'])}</b> ({esc(ex.get('citation'))}): "
                   f"{esc(ex.get('message') or '')} — when {condition_html(ex['when'], pack)}</p>")
    if data.get("obligations"):
        obs = "".join(f"<li>{esc(o.get('text'))}</li>" for o in data["obligations"])
        out.append(f"<p><b>Obligations:</b></p><ul>{obs}</ul>")
    if data.get("aes_code"):
        out.append(f"<p><b>AES code:</b> {esc(data['aes_code'])}</p>")
    if data.get("notes"):
        out.append(f"<p><b>Notes:</b> {esc(data['notes'])}</p>")
    out.append("<p><b>Sources</b></p>"
               + sources_html(pack_sources(pack, data.get("sources") or [])))
    return "".join(out)
