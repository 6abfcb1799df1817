"""Item classification from specs: TPP, performance density, ECCN paragraph.

TPP (Technical Note to 3A090, 88 FR 73458) = 2 × MacTOPS × bit length,
aggregated over the processing units, highest over the supported precisions,
dense throughput only. Datasheet TOPS/TFLOPS already count a MAC as two
operations (2 × MacTOPS), so for one precision TPP = TOPS × bit length
(regulations.md §1.3; BIS's example: 600 TOPS at 8 bits = 4800). The bit
length of each precision key comes from the pack (``classification.tpp.
precision_bits``), not from code.

Performance density = TPP ÷ applicable die area (non-planar logic dies only).

The paragraph tests themselves (3A090.a.1 … and the Oct-2022 version) are
pack data, evaluated with the expression language. Pure; thread-safe.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.rules.expr import UNKNOWN, Env, evaluate
from workbench.rules.pack import Pack

_ADV = re.compile(r"^(3A090|4A090)\.([abc])", re.I)


def _fmt(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def compute_metrics(item: dict[str, Any], precision_bits: dict[str, int]) -> dict[str, Any]:
    """TPP and PD of one item with the working shown. Pure.

    Returns {tpp, tpp_precision, pd, working: [lines], per_precision: {...}}.
    tpp/pd are None when the inputs are missing.
    """
    tops = item.get("tops") or {}
    per: dict[str, float] = {}
    working: list[str] = []
    for key, rate in tops.items():
        bits = precision_bits.get(key)
        if bits is None or rate is None:
            continue
        per[key] = float(rate) * bits
        working.append(f"{key}: {_fmt(float(rate))} TOPS × {bits} bits = {_fmt(per[key])}")
    if not per:
        return {"tpp": None, "tpp_precision": None, "pd": None, "per_precision": {},
                "working": ["no dense TOPS figures: TPP cannot be computed"]}
    best = max(per, key=lambda k: (per[k], -list(per).index(k)))
    tpp = round(per[best], 3)
    working.append(f"TPP = max over precisions = {_fmt(tpp)} ({best})")
    area = item.get("die_area_mm2")
    pd = None
    if area:
        pd = round(tpp / float(area), 4)
        working.append(f"PD = TPP ÷ applicable die area = {_fmt(tpp)} ÷ {_fmt(float(area))} mm²"
                       f" = {_fmt(pd)}")
    else:
        working.append("no applicable die area: performance density cannot be computed")
    return {"tpp": tpp, "tpp_precision": best, "pd": pd, "per_precision": per,
            "working": working}


def _level_of(eccn: str | None) -> str | None:
    if not eccn:
        return None
    m = _ADV.match(eccn)
    return m.group(2).lower() if m else None


def classify(pack: Pack, item: dict[str, Any], date: str,
             txn: dict[str, Any] | None = None) -> dict[str, Any]:
    """Propose the advanced-computing ECCN paragraph of `item` on `date`.

    `item` uses the transaction-model fields (model, tops, die_area_mm2,
    interconnect_gbps, datacenter, item_type, eccn_claimed, eccn_override …).
    Returns a dict: eccn (e.g. "3A090.a.1", or None when outside 3A090),
    level ("a"/"b"/"c", "none" = not advanced-computing, None = undetermined),
    version (pack rule id), citation, working, excluded_by, missing, notes,
    source ("computed" / "override" / "claimed"), fallback (None, or for an
    item outside 3A090 with no ECCN entered the pack's proposal {eccn, why,
    confirm: True, citation} — shown to the officer, never fed to the rules).
    Pure.
    """
    cls = pack.classification
    m = compute_metrics(item, cls["tpp"]["precision_bits"])
    calc: dict[str, Any] = {"tpp": m["tpp"], "tpp_precision": m["tpp_precision"],
                            "pd": m["pd"], "eccn": None, "level": None, "advcomp": None,
                            "z_eccn": None}
    out: dict[str, Any] = {
        "model": item.get("model"), "date": date, "tpp": m["tpp"],
        "tpp_precision": m["tpp_precision"], "pd": m["pd"],
        "working": list(m["working"]), "version": None, "version_verified": True,
        "eccn": None, "level": None, "citation": None, "excluded_by": None,
        "missing": [], "notes": [], "source": "computed", "computed_eccn": None,
    }
    version = next((v for v in pack.eccn_versions if v.valid_on(date)), None)
    env = Env(txn=txn or {"date": date}, parties=[], group_member=pack.group_member,
              item=item, calc=calc)
    if version is None:
        out["level"] = "none"
        out["notes"].append(f"no 3A090 version of this pack is in force on {date}")
        out["working"].append(f"{date}: ECCN 3A090 did not exist yet (or the pack does not "
                              f"cover this date)")
    else:
        out["version"] = version.id
        out["version_verified"] = version.verified
        out["citation"] = version.data["citation"]
        undecided: list[str] = []
        excluded = None
        for ex in version.data.get("exclusions", []):
            env.missing = set()
            r = evaluate(version.conds[f"exclusion:{ex['id']}"], env)
            if r is True:
                if ex["effect"] == "not_controlled":
                    excluded = ex
                    break
                undecided.append(ex["id"])
                out["notes"].append(ex.get("message") or ex["id"])
            elif r is UNKNOWN and ex["effect"] == "not_controlled":
                undecided.append(ex["id"])
                out["missing"].extend(sorted(env.missing))
        if excluded is not None:
            out["level"] = "none"
            out["excluded_by"] = excluded["id"]
            out["working"].append(f"{excluded['id']} ({excluded['citation']}): "
                                  f"{excluded.get('message', 'outside 3A090')}")
        else:
            match = None
            para_undecided: list[str] = []
            for par in version.data["paragraphs"]:
                if par.get("valid_from") and date < par["valid_from"]:
                    continue
                env.missing = set()
                r = evaluate(version.conds[f"paragraph:{par['id']}"], env)
                if r is True:
                    match = par
                    break
                if r is UNKNOWN:
                    # an earlier paragraph might apply, so a later match would
                    # not be the answer either: stop undecided
                    para_undecided.append(par["id"])
                    out["missing"].extend(sorted(env.missing))
                    break
            if match is not None and not undecided:
                out["eccn"], out["level"] = match["id"], match["level"]
                out["working"].append(f"meets {match['id']} ({version.data['citation']})")
            elif match is not None:
                out["eccn"], out["level"] = match["id"], None
                out["working"].append(f"meets {match['id']}, unless {', '.join(undecided)} "
                                      f"applies: missing "
                                      f"{', '.join(sorted(set(out['missing'])))}")
            elif para_undecided:
                out["level"] = None
                out["working"].append(f"{', '.join(para_undecided)} could not be decided: "
                                      f"missing {', '.join(sorted(set(out['missing'])))}")
            else:
                out["level"] = "none"
                out["working"].append(f"meets no paragraph of {version.data['eccn']} "
                                      f"({version.id})")
        if out["eccn"] and item.get("item_type") == "computer":
            out["eccn"] = _computer_eccn(version.data, out)
            out["working"].append(f"a computer or assembly containing it: {out['eccn']}")
    out["computed_eccn"] = out["eccn"]
    claimed = (item.get("eccn_claimed") or "").strip() or None
    zb = (cls.get("z_bases") or {}).get("eccns", [])
    if claimed and out["level"] in ("a", "b") and claimed.split(".")[0].upper() in zb:
        out["eccn"] = claimed.split(".")[0].upper() + ".z"
        out["working"].append(f"base ECCN {claimed} also meets 3A090/4A090: {out['eccn']}")
    override = (item.get("eccn_override") or "").strip() or None
    if override:
        out["source"] = "override"
        out["working"].append(f"officer's classification {override} replaces the proposal "
                              f"{out['computed_eccn'] or 'not 3A090'}")
        lvl = _level_of(override)
        if lvl is None and override.upper().endswith(".Z"):
            lvl = out["level"]
        out["eccn"], out["level"] = override, (lvl or "none")
    elif m["tpp"] is None and claimed:
        out["source"] = "claimed"
        out["eccn"], out["level"] = claimed, (_level_of(claimed) or "none")
        out["notes"].append("classification taken from the ECCN entered, not computed "
                            "from specs")
        out["working"].append(f"ECCN as entered: {claimed}")
    out["missing"] = sorted(set(out["missing"]))
    out["fallback"] = _fallback(cls, item, out)
    if out["fallback"]:
        out["working"].append(f"outside 3A090/4A090: {out['fallback']['eccn']} proposed, to be "
                              f"confirmed ({out['fallback']['why']})")
    out["advcomp"] = None if out["level"] is None else out["level"] in ("a", "b", "c")
    return out


def _computer_eccn(version: dict[str, Any], out: dict[str, Any]) -> str:
    """The 4A090 paragraph of a computer containing a chip at `out`'s level.

    4A090 has .a and .b only (computers, assemblies and components containing
    3A090.a / .b ICs); the chip's sub-paragraph (.a.1, .b.2) has no 4A090
    counterpart, so it is never carried over. A level the pack maps to no
    4A090 paragraph keeps the chip's ECCN and says so in the notes."""
    paras = version.get("computer_paragraphs") or {}
    # an undecided match (level None) still names its paragraph's level
    para = paras.get(out["level"] or _level_of(out["eccn"]) or "")
    if para:
        return para
    out["notes"].append(f"no 4A090 paragraph for a computer containing a {out['eccn']} chip "
                        f"in {version.get('id', 'this version')}: decide by hand")
    out["level"] = None
    return out["eccn"]


def _fallback(cls: dict[str, Any], item: dict[str, Any], out: dict[str, Any]
              ) -> dict[str, Any] | None:
    """The ECCN to propose, with a confirm flag, for an item outside 3A090.

    Only when the computation says "outside" and nobody entered an ECCN; the
    rules never see it (calc.eccn stays empty), so it cannot ease anything."""
    fb = cls.get("fallback_eccns")
    if not fb or out["level"] != "none" or out["eccn"] or out["source"] != "computed":
        return None
    if (item.get("eccn_claimed") or "").strip() or (item.get("eccn_override") or "").strip():
        return None  # the officer's ECCN stands; nothing to propose over it
    kind = item.get("item_type") or "ic"
    pick = (fb.get("by_item_type") or {}).get(kind) or fb["default"]
    return {"eccn": pick["eccn"], "why": pick["why"], "confirm": True,
            "citation": fb.get("citation"), "item_type": kind}


def calc_values(c: dict[str, Any]) -> dict[str, Any]:
    """The `calc.*` values the pack's conditions see, from a classification."""
    return {"tpp": c["tpp"], "tpp_precision": c["tpp_precision"], "pd": c["pd"],
            "eccn": c["eccn"], "level": c["level"], "advcomp": c["advcomp"],
            "z_eccn": c["eccn"] if (c["eccn"] or "").endswith(".z") else None}
