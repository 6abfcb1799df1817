"""Parties: the customers, consignees, end users and forwarders of shipments.

A party record (as :func:`get_party` returns it and :func:`save_party` takes
it) is a plain dict::

    {"id": 7, "version": 3, "legal_name": "Huawei Technologies Co., Ltd.",
     "kind": "company", "hq_country": "CN", "ultimate_parent_id": None,
     "website": "", "email_domain": "", "phone": "", "notes": "",
     "names": [{"name": "华为技术有限公司", "kind": "local", "script": "Han"}],
     "addresses": [{"street": "", "city": "Shenzhen", "postcode": "",
                    "country": "CN"}],
     "registrations": [{"scheme": "cn_uscc", "value": "914403001922038216"}],
     "owners": [{"owner_id": 3, "percent": 60.0}]}

Ownership edges say who owns this party; a cycle (A owns B owns A) or owners
adding up to more than 100% is refused, because screening aggregates
ownership through chains and would loop or overstate.
"""

from __future__ import annotations

from typing import Any

from stdnum import lei as _lei
from stdnum.cn import uscc as _uscc
from stdnum.exceptions import ValidationError as _StdnumError

from workbench.app import Change, Workbench
from workbench.errors import NotFound
from workbench.records.rows import check_version, write_row
from workbench.db.store import Store, utc_now
from workbench.records.values import (
    Checker,
    blank,
    detect_script,
    parse_country,
    parse_number,
    text,
)

KINDS = ("company", "person", "government", "university", "research_lab")
KIND_LABELS = {"company": "Company", "person": "Person",
               "government": "Government body", "university": "University",
               "research_lab": "Research lab"}
NAME_KINDS = ("local", "alias", "former", "trade")
REGISTRATION_SCHEMES = {
    "cn_uscc": "China unified social credit code",
    "lei": "Legal Entity Identifier",
    "duns": "D-U-N-S number",
    "vat": "VAT / tax number",
    "company_no": "Company registration number",
    "other": "Other",
}
_ROW_FIELDS = ("legal_name", "kind", "hq_country", "ultimate_parent_id",
               "website", "email_domain", "phone", "notes")


def get_party(store: Store, party_id: int) -> dict[str, Any]:
    """The whole party record with its names, addresses, ids and owners."""
    row = store.one("select * from party where id = ?", (party_id,))
    if row is None:
        raise NotFound(f"party {party_id} does not exist")
    rec = {k: row[k] for k in ("id", "version", *_ROW_FIELDS)}
    rec["names"] = [dict(r) for r in store.all(
        "select name, kind, script from party_name where party_id = ? order by id",
        (party_id,))]
    rec["addresses"] = [dict(r) for r in store.all(
        "select street, city, postcode, country from party_address"
        " where party_id = ? order by id", (party_id,))]
    rec["registrations"] = [dict(r) for r in store.all(
        "select scheme, value from party_registration where party_id = ?"
        " order by id", (party_id,))]
    rec["owners"] = [dict(r) for r in store.all(
        "select owner_id, percent from ownership where owned_id = ?"
        " order by percent desc, owner_id", (party_id,))]
    return rec


def find_party(store: Store, name: str) -> int | None:
    """Id of the party whose legal name or other name is `name` (any case)."""
    name = (name or "").strip()
    if not name:
        return None
    row = store.one("select id from party where legal_name = ? collate nocase"
                    " order by id limit 1", (name,))
    if row is None:
        row = store.one("select party_id as id from party_name where name = ?"
                        " collate nocase order by party_id limit 1", (name,))
    return None if row is None else row["id"]


def all_names(rec: dict[str, Any]) -> list[str]:
    """Legal name first, then every other name (what screening checks)."""
    return [rec["legal_name"], *(n["name"] for n in rec.get("names", []))]


def _check_registration(scheme: str, value: str) -> str:
    if scheme == "cn_uscc":
        try:
            return _uscc.validate(value)
        except _StdnumError as e:
            raise ValueError(f"not a valid unified social credit code ({e})") from None
    if scheme == "lei":
        try:
            return _lei.validate(value)
        except _StdnumError as e:
            raise ValueError(f"not a valid LEI ({e})") from None
    return value


def normalise_party(data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise a party record; pure (no database).

    Raises ValidationError listing every bad field.
    """
    c = Checker()
    rec: dict[str, Any] = {"id": data.get("id"), "version": data.get("version")}
    rec["legal_name"] = c.field("legal_name", text, data.get("legal_name"),
                                required=True, max_len=300)
    kind = (data.get("kind") or "company")
    kind = str(kind).strip().lower().replace(" ", "_")
    kind = {"government_body": "government", "lab": "research_lab",
            "research": "research_lab", "individual": "person"}.get(kind, kind)
    if kind not in KINDS:
        c.add("kind", f"must be one of: {', '.join(KINDS)}")
    rec["kind"] = kind
    rec["hq_country"] = c.field("hq_country", parse_country, data.get("hq_country"))
    parent = data.get("ultimate_parent_id")
    rec["ultimate_parent_id"] = None if blank(parent) else int(parent)
    for f in ("website", "email_domain", "phone", "notes"):
        rec[f] = c.field(f, text, data.get(f), max_len=4000 if f == "notes" else 300) or ""
    if rec["email_domain"]:
        rec["email_domain"] = rec["email_domain"].lower().lstrip("@")
        if "." not in rec["email_domain"] or " " in rec["email_domain"]:
            c.add("email_domain", "write a domain such as example.com")

    names, seen = [], {(rec["legal_name"] or "").casefold()}
    for i, n in enumerate(data.get("names") or []):
        if isinstance(n, str):
            n = {"name": n}
        name = c.field(f"names[{i}].name", text, n.get("name"), required=True,
                       max_len=300)
        if not name:
            continue
        if name.casefold() in seen:
            continue  # duplicates add nothing to screening
        seen.add(name.casefold())
        script = detect_script(name)
        nk = n.get("kind") or ("alias" if script in ("Latin", "") else "local")
        if nk not in NAME_KINDS:
            c.add(f"names[{i}].kind", f"must be one of {', '.join(NAME_KINDS)}")
        names.append({"name": name, "kind": nk, "script": script})
    rec["names"] = names

    addrs = []
    for i, a in enumerate(data.get("addresses") or []):
        country = c.field(f"addresses[{i}].country", parse_country,
                          a.get("country"), required=True)
        addrs.append({
            "street": c.field(f"addresses[{i}].street", text, a.get("street"), max_len=500) or "",
            "city": c.field(f"addresses[{i}].city", text, a.get("city"), max_len=200) or "",
            "postcode": c.field(f"addresses[{i}].postcode", text, a.get("postcode"), max_len=40) or "",
            "country": country,
        })
    rec["addresses"] = addrs

    regs = []
    for i, r in enumerate(data.get("registrations") or []):
        scheme = str(r.get("scheme") or "").strip().lower()
        if scheme not in REGISTRATION_SCHEMES:
            c.add(f"registrations[{i}].scheme",
                  f"must be one of {', '.join(REGISTRATION_SCHEMES)}")
            continue
        raw = str(r.get("value") or "").strip().upper().replace(" ", "")
        if not raw:
            c.add(f"registrations[{i}].value", "required")
            continue
        try:
            value = _check_registration(scheme, raw)
        except ValueError as e:
            c.add(f"registrations[{i}].value", str(e))
            continue
        regs.append({"scheme": scheme, "value": value})
    rec["registrations"] = regs

    owners, total, seen_owners = [], 0.0, set()
    for i, o in enumerate(data.get("owners") or []):
        if blank(o.get("owner_id")):
            c.add(f"owners[{i}].owner_id", "choose the owning party")
            continue
        oid = int(o["owner_id"])
        pct = c.field(f"owners[{i}].percent", parse_number, o.get("percent"),
                      required=True)
        if pct is None:
            continue
        if not 0 < pct <= 100:
            c.add(f"owners[{i}].percent", "must be more than 0 and at most 100")
            continue
        if oid in seen_owners:
            c.add(f"owners[{i}].owner_id", "this owner is listed twice")
            continue
        if rec["id"] is not None and oid == int(rec["id"]):
            c.add(f"owners[{i}].owner_id", "a party cannot own itself")
            continue
        seen_owners.add(oid)
        total += pct
        owners.append({"owner_id": oid, "percent": round(pct, 4)})
    if total > 100.0001:
        c.add("owners", f"owners add up to {total:g}%, more than 100%")
    rec["owners"] = owners
    if rec["id"] is not None and rec["ultimate_parent_id"] == int(rec["id"]):
        c.add("ultimate_parent_id", "a party cannot be its own parent")
    c.done()
    return rec


def _owned_by_chain(store: Store, party_id: int) -> set[int]:
    """Every party that `party_id` owns, directly or through others."""
    rows = store.all("""
        with recursive down(id) as (
          select owned_id from ownership where owner_id = ?
          union select o.owned_id from ownership o join down d on o.owner_id = d.id)
        select id from down""", (party_id,))
    return {r[0] for r in rows}


def _parent_chain(store: Store, party_id: int) -> list[int]:
    rows = store.all("""
        with recursive up(id, depth) as (
          select ultimate_parent_id, 1 from party where id = ?
          union all select p.ultimate_parent_id, depth + 1 from party p
            join up on p.id = up.id where up.depth < 100)
        select id from up where id is not null""", (party_id,))
    return [r[0] for r in rows]


def _check_links(store: Store, rec: dict[str, Any], pid: int | None) -> None:
    c = Checker()
    parent = rec["ultimate_parent_id"]
    if parent is not None:
        if store.one("select 1 from party where id = ?", (parent,)) is None:
            c.add("ultimate_parent_id", f"party {parent} does not exist")
        elif pid is not None and pid in [parent, *_parent_chain(store, parent)]:
            c.add("ultimate_parent_id",
                  "that parent is already below this party; a cycle is refused")
    if pid is not None:
        below = _owned_by_chain(store, pid)
    for i, o in enumerate(rec["owners"]):
        oid = o["owner_id"]
        if store.one("select 1 from party where id = ?", (oid,)) is None:
            c.add(f"owners[{i}].owner_id", f"party {oid} does not exist")
        elif pid is not None and oid in below:
            name = store.scalar("select legal_name from party where id = ?", (oid,))
            c.add(f"owners[{i}].owner_id",
                  f"{name} is owned (directly or through others) by this party; "
                  f"an ownership cycle is refused")
    c.done()


def save_party(wb: Workbench, data: dict[str, Any]) -> Change:
    """Create (no ``id``) or update a party with everything it holds.

    Side effects: one transaction writing the party, replacing its names,
    addresses, registrations and owners, and appending one audit event with
    the whole record before and after. Raises ValidationError (nothing
    written) or ConflictError when ``version`` is stale.
    """
    rec = normalise_party(data)
    store = wb.store
    now = utc_now()
    with wb.writing() as w:
        pid = rec["id"]
        before = get_party(store, pid) if pid is not None else None
        check_version(before, rec, before["legal_name"] if before else "")
        _check_links(store, rec, pid)
        pid = write_party(w.conn, rec, pid, now)
        after = get_party(store, pid)
        action = "create" if before is None else "update"
        w.audit("party", pid, action, before, after)
    return Change("party", pid, action, after)


ROW_FIELDS = _ROW_FIELDS


def write_party(conn: Any, rec: dict[str, Any], pid: int | None, now: str) -> int:
    """Write a normalised party record (row and children) and return its id.

    The one place party rows are written (``save_party`` and the bulk import
    both use it); the caller holds the transaction, has checked links and
    appends the audit event.
    """
    pid = write_row(conn, "party", _ROW_FIELDS, [rec[f] for f in _ROW_FIELDS], pid, now,
                    (("party_name", "party_id"), ("party_address", "party_id"),
                     ("party_registration", "party_id"), ("ownership", "owned_id")))
    conn.executemany(
        "insert into party_name (party_id, name, kind, script) values (?,?,?,?)",
        [(pid, n["name"], n["kind"], n["script"]) for n in rec["names"]])
    conn.executemany(
        "insert into party_address (party_id, street, city, postcode, country)"
        " values (?,?,?,?,?)",
        [(pid, a["street"], a["city"], a["postcode"], a["country"]) for a in rec["addresses"]])
    conn.executemany(
        "insert into party_registration (party_id, scheme, value) values (?,?,?)",
        [(pid, r["scheme"], r["value"]) for r in rec["registrations"]])
    conn.executemany(
        "insert into ownership (owned_id, owner_id, percent) values (?,?,?)",
        [(pid, o["owner_id"], o["percent"]) for o in rec["owners"]])
    return pid


def ownership_chains(store: Store, party_id: int, *, max_depth: int = 10
                     ) -> list[list[tuple[int, float]]]:
    """Every upward ownership path from this party: lists of (owner, %).

    Used to aggregate indirect ownership (60% of 60% = 36%). Read-only.
    """
    paths: list[list[tuple[int, float]]] = []

    def walk(pid: int, path: list[tuple[int, float]], seen: set[int]) -> None:
        rows = store.all("select owner_id, percent from ownership where owned_id = ?",
                         (pid,))
        for r in rows:
            if r[0] in seen or len(path) >= max_depth:
                continue
            step = [*path, (r[0], r[1])]
            paths.append(step)
            walk(r[0], step, seen | {r[0]})

    walk(party_id, [], {party_id})
    return paths
