"""Demo data: a realistic small exporter of AI chips.

Written through the ordinary domain functions, so every demo record has its
audit event like any other. The chip figures are the public ones recorded in
shared/domain/regulations.md §2 (dense throughput; die areas of the silicon).
The parties are invented, except where a real listed company is named so the
screening demo can show a hit; none of them is a statement about a real
customer relationship.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from workbench.records import items, licences, parties, shipments
from workbench.app import Workbench

DEMO_LIST = Path(__file__).resolve().parent.parent / "resources" / "demo" / "entity_list_sample.csv"
DEMO_USERS = (
    ("owner", "Demo owner", "admin"),
    ("olivia", "Olivia Officer", "officer"),
    ("arthur", "Arthur Approver", "approver"),
    ("audrey", "Audrey Auditor", "auditor"),
)
DEMO_PASSWORD = "demo-password"

ITEMS: list[dict[str, Any]] = [
    {"model": "A100 SXM4 80GB", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Data-centre GPU, GA100", "die_area_mm2": 826,
     "memory_bandwidth_gbps": 2039, "interconnect_gbps": 600, "datacenter": True,
     "performance": {"fp64": 9.7, "tf32": 156, "fp16": 312, "bf16": 312, "int8": 624}},
    {"model": "A800 SXM4 80GB", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Data-centre GPU for China, NVLink cut to 400 GB/s",
     "die_area_mm2": 826, "memory_bandwidth_gbps": 2039, "interconnect_gbps": 400,
     "datacenter": True, "performance": {"fp16": 312, "bf16": 312, "int8": 624}},
    {"model": "H100 SXM5 80GB", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Data-centre GPU, GH100", "die_area_mm2": 814,
     "memory_bandwidth_gbps": 3350, "interconnect_gbps": 900, "datacenter": True,
     "eccn": "3A090.a",
     "performance": {"fp64": 34, "fp16": 989.5, "bf16": 989.5, "fp8": 1979, "int8": 1979}},
    {"model": "H800 SXM5 80GB", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Data-centre GPU for China, NVLink 400 GB/s", "die_area_mm2": 814,
     "memory_bandwidth_gbps": 3350, "interconnect_gbps": 400, "datacenter": True,
     "performance": {"fp16": 989.5, "bf16": 989.5, "fp8": 1979}},
    {"model": "H20", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Hopper GPU for China (is-informed letter, April 2025)",
     "die_area_mm2": 814, "memory_bandwidth_gbps": 4000, "interconnect_gbps": 900,
     "datacenter": True, "performance": {"fp16": 148, "bf16": 148, "fp8": 296, "int8": 296}},
    {"model": "L20", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Ada data-centre GPU for China", "die_area_mm2": 609,
     "memory_bandwidth_gbps": 864, "interconnect_gbps": 64, "datacenter": True,
     "performance": {"fp16": 119.5, "fp8": 239, "int8": 239}},
    {"model": "L40S", "manufacturer": "NVIDIA", "hs_code": "8473.30",
     "description": "Ada data-centre GPU", "die_area_mm2": 609,
     "memory_bandwidth_gbps": 864, "interconnect_gbps": 64, "datacenter": True,
     "performance": {"fp16": 362, "fp8": 733, "int8": 733}},
    {"model": "GeForce RTX 4090", "manufacturer": "NVIDIA", "hs_code": "8471.80",
     "description": "Consumer graphics card (not designed for data centres)",
     "die_area_mm2": 609, "memory_bandwidth_gbps": 1008, "interconnect_gbps": 64,
     "datacenter": False, "performance": {"fp16": 330.3, "fp8": 660.6, "int8": 660.6}},
]

# (key, record); owners/parents name other keys and are resolved in order.
PARTIES: list[tuple[str, dict[str, Any]]] = [
    ("pearl", {"legal_name": "Pearl River Cloud Computing Co., Ltd.", "kind": "company",
               "hq_country": "CN", "names": ["珠江云计算有限公司"],
               "addresses": [{"street": "88 Kexing Road, Nanshan District", "city": "Shenzhen",
                              "postcode": "518057", "country": "CN"}],
               "registrations": [{"scheme": "cn_uscc", "value": "91440300MA5DCEXK1F"}],
               "website": "pearlriver-cloud.example", "email_domain": "pearlriver-cloud.example",
               "notes": "Cloud service provider; GPU rental to enterprise customers."}),
    ("tsinglab", {"legal_name": "Beijing Institute of Intelligent Computing", "kind": "research_lab",
                  "hq_country": "CN", "names": ["北京智能计算研究院"],
                  "addresses": [{"street": "1 Zhongguancun East Road, Haidian", "city": "Beijing",
                                 "country": "CN"}]}),
    ("hkint", {"legal_name": "Harbour Compute Systems Limited", "kind": "company",
               "hq_country": "HK", "names": ["港湾计算系统有限公司"],
               "addresses": [{"street": "Unit 1203, 18 Harbour Road, Wan Chai", "city": "Hong Kong",
                              "country": "HK"}],
               "notes": "System integrator; builds GPU servers for regional clients."}),
    ("macau", {"legal_name": "Lotus Data Services (Macau) Limited", "kind": "company",
               "hq_country": "MO", "addresses": [{"street": "Avenida da Praia Grande 429",
                                                  "city": "Macau", "country": "MO"}]}),
    ("sgcloud", {"legal_name": "Merlion AI Cloud Pte. Ltd.", "kind": "company",
                 "hq_country": "SG", "addresses": [{"street": "1 Fusionopolis Way", "city": "Singapore",
                                                    "postcode": "138632", "country": "SG"}],
                 "website": "merlion-ai.example"}),
    ("sgsub", {"legal_name": "Merlion AI Cloud (Johor) Sdn. Bhd.", "kind": "company",
               "hq_country": "MY", "addresses": [{"street": "Jalan Sedenak, Kulai", "city": "Johor Bahru",
                                                  "country": "MY"}],
               "notes": "Data-centre operator in Johor; owned 60% by Merlion AI Cloud."}),
    ("klreseller", {"legal_name": "Tanjung Digital Trading Sdn. Bhd.", "kind": "company",
                    "hq_country": "MY", "addresses": [{"street": "Lot 12, Jalan Ampang",
                                                       "city": "Kuala Lumpur", "country": "MY"}],
                    "notes": "Reseller; first order in 2026, asked for 500 H20 boards."}),
    ("uni", {"legal_name": "Universiti Teknologi Selatan", "kind": "university",
             "hq_country": "MY", "addresses": [{"city": "Skudai", "country": "MY"}]}),
    ("dubai", {"legal_name": "Falcon Logistics FZE", "kind": "company", "hq_country": "AE",
               "names": ["فالكون للخدمات اللوجستية"],
               "addresses": [{"street": "Jebel Ali Free Zone, Warehouse 7", "city": "Dubai",
                              "country": "AE"}],
               "notes": "Freight forwarder."}),
    ("de", {"legal_name": "Rheinland Rechenzentrum GmbH", "kind": "company", "hq_country": "DE",
            "addresses": [{"street": "Speditionstraße 15", "city": "Düsseldorf",
                           "postcode": "40221", "country": "DE"}]}),
    ("us", {"legal_name": "Cascade Research Computing Inc.", "kind": "research_lab",
            "hq_country": "US", "addresses": [{"street": "400 Pine Street", "city": "Seattle",
                                               "postcode": "98101", "state": "WA", "country": "US"}]}),
    ("dawning", {"legal_name": "Dawning Information Industry Co., Ltd.", "kind": "company",
                 "hq_country": "CN", "names": ["曙光信息产业股份有限公司"],
                 "addresses": [{"street": "36 Zhongguancun Software Park, Haidian", "city": "Beijing",
                                "country": "CN"}],
                 "notes": "Demo: a real company on the US Entity List (an alias of Sugon), "
                          "so the screening demo shows a hit."}),
    ("bantian", {"legal_name": "Shenzhen Bantian Components Trading Co., Ltd.", "kind": "company",
                 "hq_country": "CN", "names": ["深圳坂田元器件贸易有限公司"],
                 "addresses": [{"street": "Bantian Huawei Base, Longgang District",
                                "city": "Shenzhen", "country": "CN"}],
                 "notes": "Demo: an invented trading company at a listed company's address "
                          "(a possible front)."}),
    ("shuguang", {"legal_name": "Beijing Zhongke Cloud Services Co., Ltd.", "kind": "company",
                  "hq_country": "CN", "addresses": [{"city": "Beijing", "country": "CN"}],
                  "notes": "Demo: invented; owned 55% by a listed company."}),
]
OWNERSHIP = [("sgsub", "sgcloud", 60.0), ("shuguang", "dawning", 55.0)]
PARENTS = [("sgsub", "sgcloud"), ("shuguang", "dawning")]

SHIPMENTS: list[dict[str, Any]] = [
    {"reference": "SO-2026-0001", "ship_date": "2026-02-10", "destination": "DE",
     "status": "shipped", "end_use": "Hosting of customer AI inference workloads",
     "lines": [("L40S", 16, "8200.00")], "parties": [("purchaser", "de"), ("end_user", "de")]},
    {"reference": "SO-2026-0002", "ship_date": "2026-03-04", "destination": "US",
     "status": "shipped", "end_use": "Climate model research",
     "lines": [("H100 SXM5 80GB", 8, "27500.00")],
     "parties": [("purchaser", "us"), ("end_user", "us")]},
    {"reference": "SO-2026-0003", "ship_date": "2026-06-01", "destination": "SG",
     "status": "in_review", "end_use": "Public cloud GPU instances",
     "lines": [("H100 SXM5 80GB", 64, "26900.00")],
     "parties": [("purchaser", "sgcloud"), ("ultimate_consignee", "sgcloud"),
                 ("end_user", "sgcloud")]},
    {"reference": "SO-2026-0004", "ship_date": "2026-06-20", "destination": "MY",
     "status": "draft", "end_use": "Data-centre expansion in Johor",
     "lines": [("H100 SXM5 80GB", 32, "26900.00"), ("L40S", 16, "8100.00")],
     "parties": [("purchaser", "sgcloud"), ("ultimate_consignee", "sgsub"),
                 ("end_user", "sgsub"), ("forwarder", "dubai")]},
    {"reference": "SO-2026-0005", "ship_date": "2026-07-01", "destination": "CN",
     "status": "on_hold", "end_use": "Cloud rental of inference capacity",
     "lines": [("H20", 200, "12000.00")],
     "parties": [("purchaser", "pearl"), ("end_user", "pearl")]},
    {"reference": "SO-2026-0006", "ship_date": "2026-07-15", "destination": "HK",
     "status": "draft", "end_use": "Integration into GPU servers for resale",
     "lines": [("A800 SXM4 80GB", 40, "14500.00")],
     "parties": [("purchaser", "hkint"), ("ultimate_consignee", "hkint")]},
    {"reference": "SO-2026-0007", "ship_date": "2026-08-03", "destination": "MO",
     "status": "draft", "end_use": "Not stated",
     "lines": [("GeForce RTX 4090", 100, "1750.00")],
     "parties": [("purchaser", "macau"), ("end_user", "macau")]},
    {"reference": "SO-2026-0008", "ship_date": "2026-08-20", "destination": "MY",
     "status": "blocked", "end_use": "Resale to undisclosed customers",
     "lines": [("H20", 500, "11800.00")],
     "parties": [("purchaser", "klreseller"), ("forwarder", "dubai")]},
    {"reference": "SO-2026-0009", "ship_date": "2026-09-02", "destination": "CN",
     "status": "draft", "end_use": "Large language model research",
     "lines": [("H800 SXM5 80GB", 16, "31000.00")],
     "parties": [("purchaser", "tsinglab"), ("end_user", "tsinglab")]},
    {"reference": "SO-2026-0010", "ship_date": "2026-09-15", "destination": "CN",
     "status": "draft", "end_use": "Server manufacturing",
     "lines": [("L20", 120, "6500.00")],
     "parties": [("purchaser", "dawning"), ("end_user", "dawning")]},
    # In review, not cleared: only clearance (workbench.clearance) may clear a shipment.
    {"reference": "SO-2026-0011", "ship_date": "2026-10-05", "destination": "MY",
     "status": "in_review", "end_use": "Teaching cluster for AI courses",
     "lines": [("L40S", 8, "8300.00")],
     "parties": [("purchaser", "uni"), ("end_user", "uni")]},
    {"reference": "SO-2026-0012", "ship_date": "2026-11-30", "destination": "AE",
     "status": "cancelled", "end_use": "Customer cancelled",
     "lines": [("A100 SXM4 80GB", 8, "12000.00")],
     "parties": [("purchaser", "dubai")]},
]

EXPORTER = "Northwind Compute Exports Ltd (demo)"

LICENCES: list[dict[str, Any]] = [
    {"number": "D1187342", "agency": "BIS", "type": "BIS-748P (approved)",
     "issue_date": "2026-04-02", "expiry_date": "2030-04-01",
     "conditions": "Items may be used only by the ultimate consignee for the stated end use. "
                   "No reexport or transfer without prior BIS authorisation.",
     "riders": "Rider 1: Report each shipment within 30 days.",
     "parties": [("ultimate_consignee", "sgcloud"), ("end_user", "sgcloud")],
     "lines": [("3A090.a", "NVIDIA H100 SXM5 GPUs", 128, "3500000.00")]},
    {"number": "D1190815", "agency": "BIS", "type": "BIS-748P (approved)",
     "issue_date": "2026-05-18", "expiry_date": "2027-05-17",
     "conditions": "End use limited to the Johor data centre named in the application.",
     "parties": [("ultimate_consignee", "sgsub"), ("end_user", "sgsub")],
     "lines": [("3A090.a", "NVIDIA H100 SXM5 GPUs", 32, "900000.00"),
               ("3A090.a", "NVIDIA L40S GPUs", 16, "140000.00")]},
]


# Rules facts an officer would have recorded: the lab's ownership decides
# whether a "non-governmental research lab" exception can reach it.
PARTY_FACTS = [
    ("tsinglab", "non_governmental",
     "Demo: company registry extract (2026-08-20) shows private ownership"),
]


def load_demo(wb: Workbench, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Fill an empty store with the demo exporter (users, items, parties,
    shipments, licences). Side effects: many audited transactions."""
    from workbench.users import get as get_user

    made = {"users": 0, "items": 0, "parties": 0, "shipments": 0, "licences": 0}
    for username, display, role in DEMO_USERS:
        if get_user(wb.store, username) is None:
            wb.create_user(username, DEMO_PASSWORD, role, display)
            made["users"] += 1
        if wb.user.username == "system":
            # once a person exists the system identity may not write: the
            # owner (the first demo user, an admin) adds the others
            wb.login("owner", DEMO_PASSWORD)
    total = len(ITEMS) + len(PARTIES) + len(SHIPMENTS) + len(LICENCES)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    item_ids = {}
    for it in ITEMS:
        item_ids[it["model"]] = items.save_item(wb, it).id
        made["items"] += 1
        tick()
    party_ids: dict[str, int] = {}
    for key, rec in PARTIES:
        party_ids[key] = parties.save_party(wb, rec).id
        made["parties"] += 1
        tick()
    from workbench.clearance import holds

    for key, tag, note in PARTY_FACTS:
        holds.set_party_tag(wb, party_ids[key], tag, True, note)
    for owned, owner, pct in OWNERSHIP:
        rec = parties.get_party(wb.store, party_ids[owned])
        rec["owners"] = [{"owner_id": party_ids[owner], "percent": pct}]
        rec["ultimate_parent_id"] = dict(PARENTS).get(owned) and party_ids[dict(PARENTS)[owned]]
        parties.save_party(wb, rec)
    for s in SHIPMENTS:
        shipments.save_shipment(wb, {
            **s,
            "lines": [{"item_id": item_ids[m], "quantity": q, "unit_value": v,
                       "currency": "USD"} for m, q, v in s["lines"]],
            "parties": [{"role": r, "party_id": party_ids[k]} for r, k in s["parties"]],
        })
        made["shipments"] += 1
        tick()
    for lic in LICENCES:
        licences.save_licence(wb, {
            **lic,
            "parties": [{"role": r, "party_id": party_ids[k]} for r, k in lic["parties"]],
            "lines": [{"eccn": e, "description": d, "quantity": q, "value": v,
                       "currency": "USD"} for e, d, q, v in lic["lines"]],
        })
        made["licences"] += 1
        tick()
    # The exporter's name for packet covers, and one licence drawn half down
    # (SO-2026-0003: 64 of the 128 H100 on D1187342) so the ledger has a balance
    # to show.
    from workbench import settings
    from workbench.licensing import ledger

    settings.set_value(wb, settings.EXPORTER_NAME, EXPORTER)
    ledger.draw(wb, ledger.find_shipment_ref(wb.store, "SO-2026-0003"),
                ledger.find_licence(wb.store, "D1187342"))
    # A small Entity List sample so the demo shows real hits; screened once.
    from workbench.clearance import holds
    from workbench.screening import results

    holds.import_list(wb, DEMO_LIST, rescreen=False)  # nothing is cleared yet: screen all
    results.screen_all(wb)
    made["list_snapshots"] = 1
    return made
