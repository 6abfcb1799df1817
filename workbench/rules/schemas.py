"""JSON Schemas for rules packs and for the what-if transaction (txn.json).

Kept as Python data so they ship inside the package; ``resources/rules/
txn.schema.json`` is the same transaction schema written out for people and
other tools (a test keeps the two identical). Conditions inside packs are
only shape-checked here ("a one-key mapping"); :mod:`workbench.rules.expr`
checks operators and references precisely.
"""

from __future__ import annotations

from typing import Any

DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATE_OR_NULL = {"anyOf": [DATE, {"type": "null"}]}
ISO2 = {"type": "string", "pattern": "^[A-Z]{2}$"}
RULE_ID = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{1,120}$"}
CONDITION = {"type": "object", "minProperties": 1, "maxProperties": 1}
TEXT = {"type": "string", "maxLength": 4000}

_COMMON = {
    "id": RULE_ID,
    "title": TEXT,
    "citation": TEXT,
    "sources": {"type": "array", "items": RULE_ID, "minItems": 1},
    "valid_from": DATE_OR_NULL,
    "valid_to": DATE_OR_NULL,
    "verified": {"type": "boolean"},
    "notes": TEXT,
    "rev": {"type": ["string", "integer"]},
}
_REQUIRED_COMMON = ["id", "title", "citation", "sources", "valid_from", "valid_to"]

OBLIGATION = {
    "type": "object",
    "required": ["id", "text"],
    "additionalProperties": False,
    "properties": {"id": RULE_ID, "text": TEXT},
}

SOURCE = {
    "type": "object",
    "required": ["id", "title"],
    "additionalProperties": False,
    "properties": {
        "id": RULE_ID, "title": TEXT, "citation": TEXT, "url": TEXT,
        "date": DATE_OR_NULL, "kind": {"enum": [
            "federal_register", "cfr_section", "agency_statement", "agency_guidance",
            "secondary", "company_filing", "foreign_law", "gao_decision", "hypothetical"]},
        "tag": {"enum": ["P", "S", "I", "?"]},
        "notes": TEXT,
    },
}

MEMBER = {
    "type": "object",
    "required": ["code"],
    "additionalProperties": False,
    "properties": {
        "code": ISO2, "from": DATE_OR_NULL, "to": DATE_OR_NULL,
        "sources": {"type": "array", "items": RULE_ID},
        "verified": {"type": "boolean"}, "notes": TEXT,
    },
}

GROUP = {
    "type": "object",
    "required": ["title", "sources", "members"],
    "additionalProperties": False,
    "properties": {
        "title": TEXT, "citation": TEXT, "sources": {"type": "array", "items": RULE_ID},
        "members": {"type": "array", "items": {"anyOf": [ISO2, MEMBER]}},
        "notes": TEXT, "verified": {"type": "boolean"},
    },
}

ALIAS = {
    "type": "object",
    "required": ["code", "maps_to", "from", "sources"],
    "additionalProperties": False,
    "properties": {
        "code": ISO2, "maps_to": ISO2, "from": DATE_OR_NULL, "to": DATE_OR_NULL,
        "sources": {"type": "array", "items": RULE_ID}, "notes": TEXT,
        "verified": {"type": "boolean"},
    },
}

SET = {
    "type": "object",
    "required": ["id", "title", "citation", "sources"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "id": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_:]{0,60}$"},
        "union": {"type": "array", "items": {"type": "string"}},
        "minus": {"type": "array", "items": {"type": "string"}},
        "plus": {"type": "array", "items": {"type": "string"}},
        "expect_size": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}

PARAGRAPH = {
    "type": "object",
    "required": ["id", "level", "when"],
    "additionalProperties": False,
    "properties": {
        "id": RULE_ID, "level": {"enum": ["a", "b", "c"]}, "when": CONDITION,
        "valid_from": DATE_OR_NULL, "citation": TEXT, "notes": TEXT,
        "sources": {"type": "array", "items": RULE_ID},
    },
}

EXCLUSION = {
    "type": "object",
    "required": ["id", "when", "effect", "citation"],
    "additionalProperties": False,
    "properties": {
        "id": RULE_ID, "when": CONDITION, "citation": TEXT, "message": TEXT,
        "effect": {"enum": ["not_controlled", "needs_review"]},
        "applies_after_match": {"type": "boolean"},
    },
}

FALLBACK = {"type": "object", "required": ["eccn", "why"], "additionalProperties": False,
            "properties": {"eccn": {"type": "string", "pattern":
                                    "^(EAR99|[0-9][A-E][0-9]{3}(\\.[A-Za-z0-9]+)*)$"},
                           "why": {"type": "string", "minLength": 1}}}

ECCN_VERSION = {
    "type": "object",
    "required": [*_REQUIRED_COMMON, "eccn", "paragraphs"],
    "additionalProperties": False,
    "properties": {
        **_COMMON, "eccn": {"type": "string"},
        "paragraphs": {"type": "array", "items": PARAGRAPH, "minItems": 1},
        "exclusions": {"type": "array", "items": EXCLUSION},
        "computer_eccn": {"type": "string"},
        "computer_paragraphs": {"type": "object", "additionalProperties": False,
                                "properties": {k: {"type": "string"} for k in "abc"}},
    },
}

CLASSIFICATION = {
    "type": "object",
    "required": ["tpp", "eccn_versions"],
    "additionalProperties": False,
    "properties": {
        "tpp": {
            "type": "object",
            "required": ["citation", "sources", "precision_bits", "definition"],
            "additionalProperties": False,
            "properties": {
                "citation": TEXT, "sources": {"type": "array", "items": RULE_ID},
                "definition": TEXT, "notes": TEXT,
                "precision_bits": {"type": "object",
                                   "additionalProperties": {"type": "integer", "minimum": 1,
                                                            "maximum": 128}},
                "worked_examples": {"type": "array", "items": {"type": "object"}},
            },
        },
        "pd": {"type": "object"},
        "fallback_eccns": {
            "type": "object", "required": ["default"], "additionalProperties": False,
            "properties": {
                "citation": TEXT, "sources": {"type": "array", "items": RULE_ID},
                "notes": TEXT, "default": FALLBACK,
                "by_item_type": {"type": "object", "additionalProperties": FALLBACK},
            },
        },
        "eccn_versions": {"type": "array", "items": ECCN_VERSION, "minItems": 1},
        "z_bases": {
            "type": "object", "additionalProperties": False,
            "properties": {"eccns": {"type": "array", "items": {"type": "string"}},
                           "citation": TEXT, "sources": {"type": "array", "items": RULE_ID},
                           "notes": TEXT},
        },
    },
}

EFFECTS = ["license_required", "prohibited", "needs_review", "warning",
           "no_license_exceptions"]

REQUIREMENT = {
    "type": "object",
    "required": [*_REQUIRED_COMMON, "when", "effect"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "when": CONDITION,
        "effect": {"enum": EFFECTS},
        "reason": TEXT,
        "message": TEXT,
        "policy_from_hit": {"type": "boolean"},
        "obligations": {"type": "array", "items": OBLIGATION},
        # The licence exceptions the regulation still allows where this
        # requirement applies (e.g. Part 746 sections). An exception whose code
        # is not listed can never be used when the requirement fires.
        "permits_exceptions": {"type": "array", "uniqueItems": True,
                               "items": {"type": "string", "pattern": "^[A-Z0-9]{2,6}$"}},
    },
}

POLICY_CASE = {
    "type": "object",
    "required": ["when", "policy"],
    "additionalProperties": False,
    "properties": {
        "when": CONDITION,
        "policy": {"enum": ["policy_of_denial", "presumption_of_denial", "case_by_case",
                            "presumption_of_approval"]},
        "certifications": {"type": "array", "items": {"type": "string"}},
        "note": TEXT,
    },
}

REVIEW_POLICY = {
    "type": "object",
    "required": [*_REQUIRED_COMMON, "priority", "applies_to", "cases"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "priority": {"type": "integer"},
        "applies_to": {"type": "array", "items": RULE_ID, "minItems": 1},
        "cases": {"type": "array", "items": POLICY_CASE, "minItems": 1},
    },
}

EXCEPTION = {
    "type": "object",
    "required": [*_REQUIRED_COMMON, "code", "covers", "eligible_items", "eligible_when",
                 "obligations"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "code": {"type": "string", "pattern": "^[A-Z0-9]{2,6}$"},
        "covers": {"type": "array", "items": RULE_ID, "minItems": 1},
        "eligible_items": CONDITION,
        "eligible_when": CONDITION,
        "blocked_if": CONDITION,
        "obligations": {"type": "array", "items": OBLIGATION},
        "aes_code": {"type": "string"},
    },
}

OVERLAY = {
    "type": "object",
    "required": [*_REQUIRED_COMMON, "kind", "effect"],
    "additionalProperties": False,
    "properties": {
        **_COMMON,
        "kind": {"enum": ["non_enforcement", "stay", "is_informed", "guidance",
                          "general_order"]},
        "effect": {"enum": ["suppress", "add_requirement"]},
        "targets": {"type": "array", "items": RULE_ID},
        "warning": TEXT,
        "when": CONDITION,
        "requirement_effect": {"enum": EFFECTS},
        "company_specific": {"type": "boolean"},
        "obligations": {"type": "array", "items": OBLIGATION},
    },
}

GOLDEN = {
    "type": "object",
    "required": ["id", "title", "txn", "expect"],
    "additionalProperties": False,
    "properties": {
        "id": RULE_ID, "title": TEXT, "notes": TEXT,
        "txn": {"type": "object"},
        "expect": {"type": "object"},
        "kind": {"enum": ["determination", "drawdown"]},
    },
}

LICENCES = {
    "type": "object",
    "required": ["tolerance_pct", "citation", "sources"],
    "additionalProperties": False,
    "properties": {
        "tolerance_pct": {"type": "number", "minimum": 0, "maximum": 100},
        "citation": TEXT, "sources": {"type": "array", "items": RULE_ID},
        "validity_years": {"type": "integer"}, "notes": TEXT,
    },
}

# One pack document (any YAML file except the manifest): a mapping of sections.
DOCUMENT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Rules-pack document",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sources": {"type": "array", "items": SOURCE},
        "groups": {"type": "object", "additionalProperties": GROUP},
        "aliases": {"type": "array", "items": ALIAS},
        "sets": {"type": "array", "items": SET},
        "classification": CLASSIFICATION,
        "requirements": {"type": "array", "items": REQUIREMENT},
        "review_policies": {"type": "array", "items": REVIEW_POLICY},
        "exceptions": {"type": "array", "items": EXCEPTION},
        "overlays": {"type": "array", "items": OVERLAY},
        "licences": LICENCES,
        "golden_cases": {"type": "array", "items": GOLDEN},
    },
}

MANIFEST: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Rules-pack manifest",
    "type": "object",
    "required": ["pack_id", "version", "schema_version", "as_of", "supersedes", "title",
                 "files", "pack_sha256"],
    "additionalProperties": False,
    "properties": {
        "pack_id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9\-]{1,60}$"},
        "version": {"type": "string", "pattern": r"^\d{4}\.\d{2}\.\d+$"},
        "schema_version": {"const": 1},
        "as_of": DATE,
        "supersedes": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "title": TEXT,
        "jurisdiction": TEXT,
        "disclaimer": TEXT,
        "coverage": {"type": "object", "additionalProperties": False,
                     "properties": {"from": DATE_OR_NULL, "to": DATE_OR_NULL}},
        # When the pack's author must re-read the rules at the latest; the
        # dashboard and `attention` warn ahead of it and after it.
        "review_by": DATE,
        # Dated assumptions the outcomes rest on (a stay that ends, a
        # deadline that may move): each is due on `until`.
        "assumptions": {
            "type": "array", "maxItems": 200,
            "items": {"type": "object", "required": ["id", "title", "until"],
                      "additionalProperties": False,
                      "properties": {"id": RULE_ID, "title": TEXT, "until": DATE,
                                     "rules": {"type": "array", "items": RULE_ID},
                                     "check": TEXT}},
        },
        "files": {
            "type": "array", "minItems": 1, "maxItems": 100,
            "items": {"type": "object", "required": ["path", "sha256"],
                      "additionalProperties": False,
                      "properties": {"path": {"type": "string",
                                              "pattern": r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*\.(yaml|md)$"},
                                     "sha256": {"type": "string",
                                                "pattern": "^[0-9a-f]{64}$"}}},
        },
        "pack_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
}

_HIT = {
    "type": "object",
    "required": ["source"],
    "properties": {
        "source": {"type": "string", "description": "EL, DPL, UVL, MEU, SDN, …"},
        "entry_id": {"type": ["string", "null"]},
        "name": {"type": ["string", "null"]},
        "license_requirement": {"type": ["string", "null"]},
        "license_policy": {"type": ["string", "null"]},
        "federal_register_notice": {"type": ["string", "null"]},
        "status": {"enum": ["confirmed", "possible", None],
                   "description": "confirmed (default) or possible = an undecided screening match"},
    },
}

TXN: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://export-compliance-workbench.invalid/schemas/txn.schema.json",
    "title": "What-if transaction for `workbench determine` (see docs/txn-schema.md)",
    "type": "object",
    "required": ["date", "destination", "items"],
    "properties": {
        "date": {**DATE, "description": "Legal date evaluated (shipment date)."},
        "destination": {"type": "string", "description": "ISO alpha-2 of the ultimate destination as entered (HK, MO …)."},
        "destination_region": {"anyOf": [{"type": "string", "pattern": "^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$"},
                                          {"type": "null"}],
                               "description": "ISO 3166-2 subdivision of the destination (UA-43 Crimea, UA-14 Donetsk, UA-09 Luhansk …); Part 746 regions need it."},
        "origin_country": {"type": "string", "default": "US"},
        "export_kind": {"enum": ["export", "reexport", "transfer_in_country",
                                 "export_from_abroad"], "default": "export"},
        "end_use": {"type": ["string", "null"]},
        "end_use_flags": {"type": "array", "items": {"type": "string"}},
        "is_informed_letters": {"type": "array", "items": {"type": "string"},
                                "description": "Overlay ids of company-specific is-informed letters the exporter received."},
        "reference": {"type": ["string", "null"]},
        "items": {
            "type": "array", "minItems": 1, "maxItems": 200,
            "items": {
                "type": "object",
                "properties": {
                    "model": {"type": "string"},
                    "manufacturer": {"type": ["string", "null"]},
                    "item_type": {"enum": ["ic", "computer", "board", "hbm", None]},
                    "tops": {"type": "object",
                             "propertyNames": {"enum": ["fp64", "fp32", "tf32", "fp16", "bf16",
                                                        "fp8", "int8", "int4", "fp4"]},
                             "additionalProperties": {"type": "number", "minimum": 0}},
                    "die_area_mm2": {"type": ["number", "null"], "exclusiveMinimum": 0},
                    "interconnect_gbps": {"type": ["number", "null"], "minimum": 0},
                    "memory_bandwidth_gbps": {"type": ["number", "null"], "minimum": 0},
                    "hbm_bandwidth_density": {"type": ["number", "null"], "minimum": 0},
                    "datacenter": {"type": ["boolean", "null"]},
                    "eccn": {"type": ["string", "null"]},
                    "eccn_override": {"type": ["string", "null"]},
                    "quantity": {"type": ["integer", "null"], "minimum": 0},
                    "commercially_available_in_us_on": {"anyOf": [DATE, {"type": "null"}]},
                },
                "required": ["model"],
            },
        },
        "parties": {
            "type": "array", "maxItems": 50,
            "items": {
                "type": "object",
                "required": ["role"],
                "properties": {
                    "role": {"enum": ["purchaser", "intermediate_consignee",
                                      "ultimate_consignee", "end_user", "forwarder"]},
                    "name": {"type": ["string", "null"]},
                    "country": {"type": ["string", "null"]},
                    "hq_country": {"type": ["string", "null"]},
                    "parent_hq_country": {"type": ["string", "null"]},
                    "kind": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "list_hits": {"type": "array", "items": _HIT},
                    "owners": {"type": "array", "items": {
                        "type": "object", "required": ["percent"],
                        "properties": {"name": {"type": ["string", "null"]},
                                       "percent": {"type": "number", "minimum": 0,
                                                   "maximum": 100},
                                       "list_hits": {"type": "array", "items": _HIT}}}},
                },
            },
        },
    },
}
