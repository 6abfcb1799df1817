"""Master data rules: ownership (cycles, totals, self), registrations (USCC),
countries, money, stale versions, duplicates, and the demo data set."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc

from workbench.db import audit
from workbench.records import browse, items, licences, parties, shipments
from workbench.app import Workbench
from workbench.demo import ITEMS, LICENCES, PARTIES, SHIPMENTS, load_demo
from workbench.errors import ConflictError, ValidationError
from workbench.db.store import Store
from workbench.users import User
from workbench.records.values import parse_country, parse_money

OFFICER = User(2, "olivia", "officer", "Olivia Officer")


@pytest.fixture
def store(tmp_db_path):
    s = Store(tmp_db_path)
    yield s
    s.close()


@pytest.fixture
def wb(store):
    return Workbench(store, OFFICER)


def _party(wb, name, **kw):
    return parties.save_party(wb, {"legal_name": name, **kw}).id


def _owned_by(wb, owned, *owners, parent=None):
    """Set the owners of `owned` to [(owner_id, percent), ...]."""
    rec = parties.get_party(wb.store, owned)
    rec["owners"] = [{"owner_id": o, "percent": p} for o, p in owners]
    if parent is not None:
        rec["ultimate_parent_id"] = parent
    return parties.save_party(wb, rec)


def _fields(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


# -- ownership -------------------------------------------------------------------

def test_master_ownership_two_party_cycle_refused(wb, store):
    a, b = _party(wb, "A Holdings"), _party(wb, "B Trading")
    _owned_by(wb, b, (a, 60))            # A owns B
    head = audit.head(store)
    with pytest.raises(ValidationError) as ei:
        _owned_by(wb, a, (b, 10))        # B owns A: cycle
    assert "cycle" in _fields(ei)["owners[0].owner_id"]
    assert "B Trading" in _fields(ei)["owners[0].owner_id"]
    assert parties.get_party(store, a)["owners"] == []
    assert audit.head(store) == head


def test_master_ownership_longer_cycle_refused(wb, store):
    a, b, c = (_party(wb, n) for n in ("A Corp", "B Corp", "C Corp"))
    _owned_by(wb, b, (a, 100))           # A -> B
    _owned_by(wb, c, (b, 51))            # B -> C
    with pytest.raises(ValidationError, match="cycle"):
        _owned_by(wb, a, (c, 5))         # C -> A closes A -> B -> C -> A
    assert parties.get_party(store, a)["owners"] == []
    # a diamond is not a cycle: D owned by B and C
    d = _party(wb, "D Corp")
    _owned_by(wb, d, (b, 50), (c, 50))
    chains = parties.ownership_chains(store, d)
    assert [(b, 50.0), (a, 100.0)] in chains and [(c, 50.0), (b, 51.0), (a, 100.0)] in chains


def test_master_ownership_over_100_percent_refused(wb, store):
    a, b, c = (_party(wb, n) for n in ("Owner One", "Owner Two", "Owned"))
    with pytest.raises(ValidationError) as ei:
        _owned_by(wb, c, (a, 60), (b, 40.5))
    assert "100.5%" in _fields(ei)["owners"]
    with pytest.raises(ValidationError):
        _owned_by(wb, c, (a, 101))
    with pytest.raises(ValidationError):
        _owned_by(wb, c, (a, 0))
    _owned_by(wb, c, (a, 60), (b, 40))   # exactly 100% is fine
    assert sum(o["percent"] for o in parties.get_party(store, c)["owners"]) == 100
    with pytest.raises(ValidationError, match="listed twice"):
        _owned_by(wb, c, (a, 10), (a, 10))


def test_master_ownership_unknown_owner_refused(wb):
    c = _party(wb, "Orphan")
    with pytest.raises(ValidationError, match="party 999 does not exist"):
        _owned_by(wb, c, (999, 10))


def test_master_party_cannot_own_itself_or_be_its_own_parent(wb, store):
    a = _party(wb, "Selfish Ltd")
    with pytest.raises(ValidationError) as ei:
        _owned_by(wb, a, (a, 100))
    assert "cannot own itself" in _fields(ei)["owners[0].owner_id"]
    rec = parties.get_party(store, a)
    rec["ultimate_parent_id"] = a
    with pytest.raises(ValidationError) as ei:
        parties.save_party(wb, rec)
    assert "own parent" in _fields(ei)["ultimate_parent_id"]


def test_master_parent_cycle_refused(wb, store):
    a, b, c = (_party(wb, n) for n in ("Top", "Middle", "Bottom"))
    rec = parties.get_party(store, b)
    rec["ultimate_parent_id"] = a
    parties.save_party(wb, rec)
    rec = parties.get_party(store, c)
    rec["ultimate_parent_id"] = b
    parties.save_party(wb, rec)
    rec = parties.get_party(store, a)
    rec["ultimate_parent_id"] = c
    with pytest.raises(ValidationError, match="cycle"):
        parties.save_party(wb, rec)
    assert parties.get_party(store, a)["ultimate_parent_id"] is None


# -- registrations, countries, money ---------------------------------------------

def test_master_uscc_validated(wb, store):
    body = "91440300" + "MA5ABCDE" + "1"     # 17 characters before the check digit
    good = body + uscc.calc_check_digit(body)
    bad_digit = next(ch for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY" if ch != good[-1])
    bad = body + bad_digit
    with pytest.raises(ValidationError) as ei:
        parties.save_party(wb, {"legal_name": "Shenzhen Example Co., Ltd.",
                                "registrations": [{"scheme": "cn_uscc", "value": bad}]})
    msg = _fields(ei)["registrations[0].value"]
    assert "unified social credit code" in msg
    assert store.scalar("select count(*) from party") == 0
    pid = parties.save_party(wb, {
        "legal_name": "Shenzhen Example Co., Ltd.",
        "registrations": [{"scheme": "cn_uscc", "value": " " + good.lower() + " "}]}).id
    assert parties.get_party(store, pid)["registrations"] == [
        {"scheme": "cn_uscc", "value": good}]
    with pytest.raises(ValidationError):  # wrong length
        parties.save_party(wb, {"legal_name": "X", "registrations": [
            {"scheme": "cn_uscc", "value": good[:-1]}]})
    with pytest.raises(ValidationError, match="scheme"):
        parties.save_party(wb, {"legal_name": "X", "registrations": [
            {"scheme": "passport", "value": "123"}]})


@pytest.mark.parametrize("given,code", [
    ("CN", "CN"), ("cn", "CN"), ("CHN", "CN"), ("China", "CN"), ("Macau", "MO"),
    ("Macao", "MO"), ("Hong Kong", "HK"), ("UAE", "AE"), ("United Arab Emirates", "AE"),
    ("Germany", "DE"), ("Singapore", "SG"), ("中国", "CN"), ("  Malaysia ", "MY"),
])
def test_master_countries_by_code_or_name(given, code):
    assert parse_country(given) == code


def test_master_unknown_country_refused(wb, store):
    with pytest.raises(ValidationError) as ei:
        parties.save_party(wb, {"legal_name": "Nowhere Ltd", "hq_country": "Narnia",
                                "addresses": [{"country": "QQ"}, {"city": "No country"}]})
    f = _fields(ei)
    assert "hq_country" in f and "addresses[0].country" in f
    assert f["addresses[1].country"] == "required"
    pid = _party(wb, "Somewhere Ltd", hq_country="Hong Kong",
                 addresses=[{"country": "Macau", "city": "Macau"}])
    rec = parties.get_party(store, pid)
    assert rec["hq_country"] == "HK" and rec["addresses"][0]["country"] == "MO"


@pytest.mark.parametrize("value,currency,minor", [
    ("1,234.50", "USD", 123450), (1234.5, "USD", 123450), ("0", "USD", 0),
    ("1500", "JPY", 1500), ("1.234", "KWD", 1234),
])
def test_master_money_parsed_to_minor_units(value, currency, minor):
    assert parse_money(value, currency) == minor


@pytest.mark.parametrize("value,currency", [
    ("10.001", "USD"), (0.125, "USD"), ("10.5", "JPY"), ("1.2345", "KWD"),
    ("-1", "USD"), ("abc", "USD"), ("nan", "USD"), ("inf", "USD"),
])
def test_master_money_bad_refused(value, currency):
    with pytest.raises(ValueError):
        parse_money(value, currency)


def test_master_shipment_money_with_too_many_decimals_refused(wb, store):
    it = items.save_item(wb, {"model": "L40S", "manufacturer": "NVIDIA"}).id
    with pytest.raises(ValidationError) as ei:
        shipments.save_shipment(wb, {
            "reference": "SO-1", "ship_date": "2026-01-02", "destination": "SG",
            "lines": [{"item_id": it, "quantity": 1, "unit_value": "8200.001",
                       "currency": "USD"},
                      {"item_id": it, "quantity": 1, "unit_value": "99.5",
                       "currency": "JPY"}]})
    f = _fields(ei)
    assert "more decimals" in f["lines[0].unit_value"]
    assert "more decimals" in f["lines[1].unit_value"]
    with pytest.raises(ValidationError, match="more decimals"):
        licences.save_licence(wb, {"number": "D1", "issue_date": "2026-01-01",
                                   "expiry_date": "2027-01-01",
                                   "lines": [{"eccn": "3A090.a", "value": "1.999"}]})
    assert store.scalar("select count(*) from shipment") == 0
    assert store.scalar("select count(*) from licence") == 0


# -- versions and duplicates -------------------------------------------------------

def test_master_stale_version_conflict(wb, store):
    pid = _party(wb, "Versioned Ltd")
    mine = parties.get_party(store, pid)
    theirs = parties.get_party(store, pid)
    theirs["notes"] = "their change"
    parties.save_party(wb, theirs)
    mine["notes"] = "my change"
    head = audit.head(store)
    with pytest.raises(ConflictError, match="version 2, yours 1"):
        parties.save_party(wb, mine)
    assert parties.get_party(store, pid)["notes"] == "their change"
    assert audit.head(store) == head

    it = items.save_item(wb, {"model": "H20", "manufacturer": "NVIDIA"})
    stale = dict(it.record)
    items.save_item(wb, {**it.record, "description": "first"})
    with pytest.raises(ConflictError):
        items.save_item(wb, {**stale, "description": "second"})

    sid = shipments.save_shipment(wb, {"reference": "SO-9", "ship_date": "2026-01-01",
                                       "destination": "SG"}).id
    old = shipments.get_shipment(store, sid)
    shipments.save_shipment(wb, {**old, "status": "in_review"})
    with pytest.raises(ConflictError):
        shipments.save_shipment(wb, {**old, "status": "cleared"})
    assert shipments.get_shipment(store, sid)["status"] == "in_review"


def test_master_duplicate_shipment_reference_refused(wb, store):
    shipments.save_shipment(wb, {"reference": "SO-2026-0001", "ship_date": "2026-01-01",
                                 "destination": "DE"})
    with pytest.raises(ValidationError) as ei:
        shipments.save_shipment(wb, {"reference": "so-2026-0001 ", "ship_date": "2026-02-01",
                                     "destination": "US"})
    assert "exists already" in _fields(ei)["reference"]
    assert store.scalar("select count(*) from shipment") == 1
    # renaming another shipment to the same reference is refused too
    other = shipments.save_shipment(wb, {"reference": "SO-2", "ship_date": "2026-01-01",
                                         "destination": "DE"}).record
    with pytest.raises(ValidationError, match="exists already"):
        shipments.save_shipment(wb, {**other, "reference": "SO-2026-0001"})


def test_master_duplicate_item_refused(wb, store):
    items.save_item(wb, {"model": "H100 SXM5 80GB", "manufacturer": "NVIDIA"})
    with pytest.raises(ValidationError) as ei:
        items.save_item(wb, {"model": "h100 sxm5 80gb", "manufacturer": "nvidia"})
    assert "exists already" in _fields(ei)["model"]
    # same model from another manufacturer is a different item
    items.save_item(wb, {"model": "H100 SXM5 80GB", "manufacturer": "Other Corp"})
    assert store.scalar("select count(*) from item") == 2


def test_master_item_validation(wb):
    with pytest.raises(ValidationError) as ei:
        items.save_item(wb, {"model": "", "eccn": "3A09", "hs_code": "84x",
                             "performance": {"fp12": 3, "fp16": "fast"},
                             "uom": "litre", "die_area_mm2": -5})
    f = _fields(ei)
    assert {"model", "eccn", "hs_code", "performance.fp12", "performance.fp16",
            "uom", "die_area_mm2"} <= set(f)
    rec = items.save_item(wb, {"model": "X", "eccn": "3a090.A", "hs_code": "847330"}).record
    assert rec["eccn"] == "3A090.a"


def test_master_shipment_unknown_item_or_party_refused(wb, store):
    with pytest.raises(ValidationError) as ei:
        shipments.save_shipment(wb, {
            "reference": "SO-X", "ship_date": "2026-13-01", "destination": "SG",
            "status": "teleported",
            "lines": [{"item_id": 5, "quantity": 0, "unit_value": "1"}],
            "parties": [{"role": "buyer", "party_id": 1}]})
    f = _fields(ei)
    assert {"ship_date", "status", "lines[0].quantity", "parties[0].role"} <= set(f)


# -- demo ------------------------------------------------------------------------

def test_master_demo_loads_and_chain_verifies(store):
    wb = Workbench(store)
    made = load_demo(wb)
    expected = {"users": 4, "items": len(ITEMS), "parties": len(PARTIES),
                "shipments": len(SHIPMENTS), "licences": len(LICENCES)}
    assert {k: made.get(k) for k in expected} == expected  # (other areas add more)
    assert store.scalar("select count(*) from party") == len(PARTIES)
    res = audit.verify(store)
    assert res.ok, res.problem
    # at least: users, items, parties, the ownership edit, shipments, licences
    assert res.events >= 4 + len(ITEMS) + len(PARTIES) + 1 + len(SHIPMENTS) + len(LICENCES)
    assert store.integrity_problems() == []
    assert {r["user"] for r in store.all("select distinct user from audit_event")} <= {"owner", "system"}
    owned = store.one("select * from ownership")
    assert owned["percent"] == 60.0
    for name in ("parties", "items", "shipments", "licences", "audit"):
        assert browse.count(store, name) > 0
        assert len(browse.page(store, name, limit=5)) > 0
