"""The determination engine: a pure evaluator of a pack over a transaction.

``determine(pack, txn)`` returns the outcome (license_required,
license_exception, no_license_required, prohibited, needs_review), every rule
that fired with its citation and sources, overlays applied, exceptions
considered, the review policy, the intermediate values (TPP, PD per line)
and the pack's id, version and SHA-256. The same pack and the same input give
the same result (nothing reads the clock except ``evaluated_at``), which is
what makes stored determinations replayable.

No I/O, no database; thread-safe.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

import jsonschema

from workbench.errors import WorkbenchError
from workbench.rules import schemas
from workbench.rules.classify import calc_values, classify
from workbench.rules.expr import UNKNOWN, Env, evaluate
from workbench.rules.pack import Pack

ENGINE_VERSION = "1"
OUTCOMES = ("no_license_required", "license_exception", "needs_review",
            "license_required", "prohibited")  # ascending severity
_SEVERITY = {o: i for i, o in enumerate(OUTCOMES)}
POLICY_RANK = {"presumption_of_approval": 0, "case_by_case": 1,
               "presumption_of_denial": 2, "policy_of_denial": 3}
LISTED_FOR_AFFILIATES = {"EL", "MEU", "SDN"}


class TxnError(WorkbenchError):
    """A transaction (txn.json) is not valid; `where` is the JSON path."""

    def __init__(self, where: str, reason: str):
        self.where, self.reason = where, reason
        super().__init__(f"transaction refused at {where}: {reason}")


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def input_sha256(txn: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(txn).encode()).hexdigest()


def validate_txn(txn: Any) -> None:
    """Check a raw transaction against the txn JSON Schema. Raises TxnError."""
    v = jsonschema.Draft202012Validator(schemas.TXN)
    errs = sorted(v.iter_errors(txn), key=lambda e: list(e.absolute_path))
    if errs:
        e = jsonschema.exceptions.best_match(errs) or errs[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        raise TxnError(path.lstrip(".") or "(top)", e.message)
    # the schema checks the shape of a date; the calendar is checked here
    dated = [("date", txn["date"])] + [
        (f"items[{i}].commercially_available_in_us_on", it["commercially_available_in_us_on"])
        for i, it in enumerate(txn["items"]) if it.get("commercially_available_in_us_on")]
    for where, value in dated:
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise TxnError(where, f"{value} is not a date in the calendar") from None


def _up(v: Any) -> Any:
    return v.strip().upper() if isinstance(v, str) and v.strip() else None


def normalise(pack: Pack, txn: dict[str, Any]) -> tuple[dict, list[dict], list[dict]]:
    """The transaction model the conditions see: (txn, items, parties).

    Countries go through the pack's dated aliases (HK → China); each party
    gets ``list_sources`` and ``listed_owner_pct`` (the Affiliates-Rule
    aggregate of owners with EL/MEU/SDN hits). Pure.
    """
    date = txn["date"]
    dest_entered = _up(txn["destination"])
    region = _up(txn.get("destination_region"))
    if dest_entered and "-" in dest_entered:
        # an ISO 3166-2 code typed as the destination (UA-43) names the
        # country and the region at once
        region = region or dest_entered
        dest_entered = dest_entered.split("-", 1)[0]
    origin = _up(txn.get("origin_country")) or "US"
    t = {
        "date": date,
        "destination_entered": dest_entered,
        "destination_region": region,
        "destination": pack.resolve_country(dest_entered, date),
        "origin_country": pack.resolve_country(origin, date),
        "export_kind": txn.get("export_kind") or "export",
        "end_use": txn.get("end_use"),
        "end_use_flags": list(txn.get("end_use_flags") or []),
        "letters": list(txn.get("is_informed_letters") or []),
    }
    t["is_export"] = t["destination"] != t["origin_country"] or \
        t["export_kind"] == "transfer_in_country"
    parties = []
    screened = True
    for p in txn.get("parties") or []:
        if "list_hits" not in p:
            screened = False
        # a hit without a status is a confirmed match (what txn.json authors
        # mean); the screening adapter marks undecided matches "possible"
        hits = [dict(h, source=str(h.get("source", "")).upper(),
                     status=str(h.get("status") or "confirmed").lower())
                for h in p.get("list_hits") or []]
        owners = p.get("owners") or []
        tags = [str(x).strip().lower() for x in p.get("tags") or []]
        listed = [o for o in owners
                  if {str(h.get("source", "")).upper() for h in o.get("list_hits") or []}
                  & LISTED_FOR_AFFILIATES]
        parties.append({
            "role": p["role"], "name": p.get("name"),
            "country": pack.resolve_country(_up(p.get("country")), date),
            "hq_country": pack.resolve_country(_up(p.get("hq_country")), date),
            # null parent = the party is its own ultimate parent (txn.json and
            # the store's ultimate_parent_id both mean that); an unknown HQ
            # stays unknown, so the HQ test becomes a review, not a pass
            "parent_hq_country": pack.resolve_country(
                _up(p.get("parent_hq_country")) or _up(p.get("hq_country")), date),
            "kind": p.get("kind"),
            "tags": tags,
            "governmental": _governmental(p.get("kind"), tags),
            "list_hits": hits,
            "list_sources": sorted({h["source"] for h in hits}),
            "listed_owner_pct": round(sum(float(o["percent"]) for o in listed), 4),
            "listed_owner_sources": sorted({str(h.get("source", "")).upper()
                                            for o in listed for h in o.get("list_hits") or []}),
        })
    t["screened"] = screened
    items = []
    for it in txn["items"]:
        items.append({
            "model": it.get("model"), "manufacturer": it.get("manufacturer"),
            "item_type": it.get("item_type") or "ic",
            "tops": {k.lower(): v for k, v in (it.get("tops") or {}).items()},
            "datacenter": it.get("datacenter"),
            "die_area_mm2": it.get("die_area_mm2"),
            "interconnect_gbps": it.get("interconnect_gbps"),
            "memory_bandwidth_gbps": it.get("memory_bandwidth_gbps"),
            "hbm_bandwidth_density": it.get("hbm_bandwidth_density"),
            "eccn_claimed": it.get("eccn"),
            "eccn_override": it.get("eccn_override"),
            "quantity": it.get("quantity"),
            "commercially_available_in_us_on": it.get("commercially_available_in_us_on"),
        })
    return t, items, parties


GOVERNMENTAL_TAGS = frozenset({"government_end_user", "state_owned", "government_owned"})
NON_GOVERNMENTAL_TAG = "non_governmental"
# the party facts the built-in pack and the engine read, in words for people
PARTY_FACTS = {
    "approved_csp": "Approved cloud service provider",
    "non_governmental": "Not governmental (privately owned)",
    "state_owned": "State-owned",
    "government_owned": "Government-owned",
    "government_end_user": "Government end user",
    "allied_joint_venture": "Joint venture with a U.S. or allied company",
}


def _governmental(kind: Any, tags: list[str]) -> bool | None:
    """Whether a party is governmental: True for a government body or a party
    tagged government_end_user / state_owned / government_owned, False only
    when the officer tagged it non_governmental, else unknown (None) — a
    research lab's kind alone says nothing about who owns it."""
    if kind == "government" or GOVERNMENTAL_TAGS & set(tags):
        return True
    if NON_GOVERNMENTAL_TAG in tags:
        return False
    return None


def _src(pack: Pack, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for sid in ids or []:
        s = pack.sources.get(sid, {"id": sid})
        out.append({k: s[k] for k in ("id", "title", "citation", "url", "tag") if k in s})
    return out


def _reason(pack: Pack, rule: Any, effect: str, line: int, extra: dict | None = None
            ) -> dict[str, Any]:
    d = rule.data
    r = {"rule_id": rule.id, "kind": rule.kind, "citation": d.get("citation"),
         "title": d.get("title"), "effect": effect, "sources": _src(pack, d.get("sources")),
         "verified": rule.verified, "lines": [line]}
    if d.get("notes"):
        r["notes"] = d["notes"]
    if d.get("message"):
        r["message"] = d["message"]
    if extra:
        r.update(extra)
    return r


def determine(pack: Pack, txn: dict[str, Any], *, evaluated_at: str | None = None
              ) -> dict[str, Any]:
    """Decide a transaction with a pack. Pure; raises TxnError on bad input.

    `txn` follows docs/txn-schema.md. The result is JSON-serialisable; see
    the module docstring for its fields.
    """
    validate_txn(txn)
    t, items, parties = normalise(pack, txn)
    date = t["date"]
    letters = set(t["letters"])
    cov = pack.manifest.get("coverage") or {}
    result: dict[str, Any] = {
        "outcome": None, "exception": None, "exceptions": [], "obligations": [],
        "reasons": [], "suppressed": [], "overlays": [], "warnings": [],
        "review_needed": [], "review_policy": None, "exceptions_considered": [],
        "classification": [], "values": {}, "lines": [], "unverified": [],
        "pack": pack.ref, "date": date, "engine_version": ENGINE_VERSION,
        "input": txn, "input_sha256": input_sha256(txn), "evaluated_at": evaluated_at,
    }
    result["values"] = {
        "destination_entered": t["destination_entered"], "destination": t["destination"],
        "destination_region": t["destination_region"],
        "origin_country": t["origin_country"], "export_kind": t["export_kind"],
        "is_export": t["is_export"], "screened": t["screened"],
        "parties": [{k: p[k] for k in ("role", "name", "country", "hq_country",
                                       "parent_hq_country", "list_sources",
                                       "listed_owner_pct")} for p in parties],
        "lines": [],
    }
    if t["destination_entered"] != t["destination"]:
        result["values"]["destination_note"] = (
            f"{t['destination_entered']} is treated as {t['destination']} on {date} "
            f"(pack alias)")
    if (cov.get("from") and date < cov["from"]) or (cov.get("to") and date > cov["to"]):
        result["outcome"] = "needs_review"
        result["review_needed"].append(
            f"{date} is outside the dates this pack covers "
            f"({cov.get('from') or '…'} to {cov.get('to') or 'open'}); decide by hand")
        for n, it in enumerate(items, 1):
            c = classify(pack, it, date, t)
            result["classification"].append({"line": n, **c})
            result["lines"].append({"line": n, "model": it["model"], "outcome": "needs_review",
                                    "exception": None})
        return result

    reasons: dict[tuple[str, str], dict[str, Any]] = {}

    def add_reason(rule: Any, effect: str, line: int, extra: dict | None = None,
                   bucket: str = "reasons") -> None:
        key = (bucket, rule.id)
        if key in reasons:
            if line not in reasons[key]["lines"]:
                reasons[key]["lines"].append(line)
            return
        r = _reason(pack, rule, effect, line, extra)
        reasons[key] = r
        result[bucket].append(r)
        if not rule.verified and rule.id not in result["unverified"]:
            result["unverified"].append(rule.id)

    obligations: dict[str, dict] = {}
    policies: list[dict[str, Any]] = []
    worst = "no_license_required"
    used_exceptions: list[str] = []

    for n, it in enumerate(items, 1):
        c = classify(pack, it, date, t)
        result["classification"].append({"line": n, **c})
        if c["version"] and not c["version_verified"] and c["version"] not in result["unverified"]:
            result["unverified"].append(c["version"])
        calc = calc_values(c)
        result["values"]["lines"].append({"line": n, "model": it["model"], "tpp": c["tpp"],
                                          "tpp_precision": c["tpp_precision"], "pd": c["pd"],
                                          "eccn": c["eccn"], "level": c["level"]})
        env = Env(txn=t, parties=parties, group_member=pack.group_member, item=it, calc=calc)
        line_outcome = "no_license_required"
        required: list[Any] = []
        no_exc = False
        line_review: list[str] = []
        suppressors = [o for o in pack.overlays
                       if o.valid_on(date) and o.data["effect"] == "suppress"]
        active: list[tuple[Any, str, list]] = []  # (rule, effect, witness)

        def run(rule: Any, cond: str, effect: str) -> None:
            env.missing, env.witness = set(), []
            r = evaluate(rule.conds[cond], env)
            if r is True:
                active.append((rule, effect, list(env.witness)))
            elif r is UNKNOWN and effect in ("license_required", "prohibited",
                                             "no_license_exceptions", "needs_review"):
                msg = (f"{rule.id} ({rule.data.get('citation')}) could not be decided: "
                       f"missing {', '.join(sorted(env.missing)) or 'data'}")
                line_review.append(msg)

        for rule in pack.requirements:
            if rule.valid_on(date):
                run(rule, "when", rule.data["effect"])
        for ov in pack.overlays:
            if not ov.valid_on(date) or ov.data["effect"] != "add_requirement":
                continue
            if ov.data.get("company_specific") and ov.id not in letters:
                continue
            run(ov, "when", ov.data["requirement_effect"])

        for rule, effect, witness in active:
            sup = next((o for o in suppressors if rule.id in o.data.get("targets", [])), None)
            extra = {"witness": witness} if witness else None
            if sup is not None:
                add_reason(rule, effect, n, {**(extra or {}), "suppressed_by": sup.id},
                           bucket="suppressed")
                add_reason(sup, "suppress", n, {"targets": [rule.id],
                                                "warning": sup.data.get("warning")},
                           bucket="overlays")
                w = sup.data.get("warning") or f"{rule.id} suppressed by {sup.id}"
                if w not in result["warnings"]:
                    result["warnings"].append(w)
                continue
            if rule.kind == "overlay":
                add_reason(rule, effect, n, extra, bucket="overlays")
            add_reason(rule, effect, n, extra)
            for ob in rule.data.get("obligations", []):
                obligations.setdefault(ob["id"], {**ob, "from": rule.id})
            if effect == "prohibited":
                line_outcome = "prohibited"
            elif effect == "license_required":
                required.append((rule, witness))
            elif effect == "no_license_exceptions":
                no_exc = True
            elif effect == "needs_review":
                msg = rule.data.get("message") or rule.data["title"]
                terms = [t for w in witness for t in w.get("terms", ())]
                if terms:
                    msg += " Words found in the end use: " + ", ".join(
                        f"“{t.rstrip('*')}”" for t in dict.fromkeys(terms)) + "."
                line_review.append(msg)
            elif effect == "warning":
                w = rule.data.get("message") or rule.data["title"]
                if w not in result["warnings"]:
                    result["warnings"].append(w)

        exc_used = None
        if line_outcome != "prohibited" and required:
            line_outcome = "license_required"
            # review policy: the pack's policies by priority, plus EL entries
            for rule, witness in required:
                pol = _policy_for(pack, rule, env, witness)
                if pol:
                    pol["line"] = n
                    policies.append(pol)
            req_ids = {r.id for r, _ in required}
            for exc in pack.exceptions:
                if not exc.valid_on(date):
                    continue
                why = _exception_check(exc, env, req_ids, no_exc,
                                       [r for r, _ in required])
                result["exceptions_considered"].append(
                    {"line": n, "exception": exc.data["code"], "rule_id": exc.id,
                     "eligible": why is None, "why_not": why})
                if why is None:
                    exc_used = exc
                    break
            if exc_used is not None and not line_review:
                line_outcome = "license_exception"
                add_reason(exc_used, "license_exception", n, {"code": exc_used.data["code"]})
                if exc_used.data["code"] not in used_exceptions:
                    used_exceptions.append(exc_used.data["code"])
                    result["exceptions"].append({
                        "code": exc_used.data["code"], "rule_id": exc_used.id,
                        "citation": exc_used.data["citation"],
                        "title": exc_used.data["title"],
                        "aes_code": exc_used.data.get("aes_code"),
                        "obligations": exc_used.data.get("obligations", []),
                        "verified": exc_used.verified})
                for ob in exc_used.data.get("obligations", []):
                    obligations.setdefault(ob["id"], {**ob, "from": exc_used.id})
            elif exc_used is not None:
                line_review.append(f"{exc_used.data['code']} may apply, but "
                                   + "; ".join(line_review))
        if line_outcome in ("no_license_required", "license_exception") and line_review:
            line_outcome = "needs_review"
        for msg in line_review:
            if msg not in result["review_needed"]:
                result["review_needed"].append(msg)
        if c["level"] is None and c["source"] == "computed":
            msg = (f"line {n} ({it['model']}): classification undecided — "
                   + "; ".join(c["working"][-1:]))
            if msg not in result["review_needed"]:
                result["review_needed"].append(msg)
        result["lines"].append({"line": n, "model": it["model"], "outcome": line_outcome,
                                "exception": exc_used.data["code"]
                                if line_outcome == "license_exception" and exc_used else None,
                                "eccn": c["eccn"]})
        if _SEVERITY[line_outcome] > _SEVERITY[worst]:
            worst = line_outcome

    result["outcome"] = worst
    if worst == "license_exception":
        result["exception"] = used_exceptions[0] if len(used_exceptions) == 1 else \
            "+".join(used_exceptions)
    else:
        # an exception on some lines does not authorise a shipment that needs a
        # licence (or review) on others; keep it listed per line only
        result["exceptions"] = [e for e in result["exceptions"]
                                if worst == "license_exception"]
    result["obligations"] = list(obligations.values()) if worst != "prohibited" else []
    if policies:
        top = max(policies, key=lambda p: POLICY_RANK.get(p["policy"], 0))
        result["review_policy"] = {**top, "all": policies}
    return result


def _policy_for(pack: Pack, rule: Any, env: Env, witness: list[dict]) -> dict | None:
    if rule.data.get("policy_from_hit"):
        hit = next((w for w in witness if "license_policy" in w), None)
        text = (hit or {}).get("license_policy") or ""
        key = text.strip().lower().replace(" ", "_").replace("-", "_")
        for k in sorted(POLICY_RANK, key=len, reverse=True):
            if k in key:
                return {"policy": k, "rule_id": rule.id, "from": "list entry",
                        "text": text, "citation": rule.data.get("citation")}
        return {"policy": "presumption_of_denial" if not text else "see_entry",
                "rule_id": rule.id, "from": "list entry", "text": text,
                "citation": rule.data.get("citation")}
    cands = sorted((p for p in pack.review_policies
                    if p.valid_on(env.txn["date"]) and rule.id in p.data["applies_to"]),
                   key=lambda p: p.data["priority"])
    for p in cands:
        for j, case in enumerate(p.data["cases"]):
            env.missing = set()
            if evaluate(p.conds[f"case:{j}"], env) is True:
                return {"policy": case["policy"], "rule_id": rule.id, "policy_id": p.id,
                        "citation": p.data["citation"], "verified": p.verified,
                        "certifications": case.get("certifications", []),
                        "note": case.get("note")}
    return None


def _exception_check(exc: Any, env: Env, req_ids: set[str], no_exc: bool,
                     required: list[Any] = ()) -> str | None:
    """None when the exception can be used for this line; else why not."""
    if no_exc:
        return "licence exceptions are unavailable (a listed party bars them)"
    for rule in required:
        allowed = rule.data.get("permits_exceptions")
        if allowed is not None and exc.data["code"] not in allowed:
            return (f"{rule.data.get('citation') or rule.id} allows "
                    f"{'only ' + ', '.join(allowed) if allowed else 'no licence exception'}")
    uncovered = req_ids - set(exc.data["covers"])
    if uncovered:
        return f"does not cover {', '.join(sorted(uncovered))}"
    for key, label in (("eligible_items", "item not eligible"),
                       ("eligible_when", "destination/parties not eligible")):
        env.missing = set()
        r = evaluate(exc.conds[key], env)
        if r is UNKNOWN:
            return f"{label}: undecided, missing {', '.join(sorted(env.missing))}"
        if r is False:
            return label
    if "blocked_if" in exc.conds:
        env.missing, env.witness = set(), []
        r = evaluate(exc.conds["blocked_if"], env)
        if r is True:
            return "blocked (" + ", ".join(f"{w.get('party')}: {w.get('list')}"
                                           for w in env.witness) + ")" if env.witness \
                else "blocked"
        if r is UNKNOWN:
            return f"block condition undecided, missing {', '.join(sorted(env.missing))}"
    return None
