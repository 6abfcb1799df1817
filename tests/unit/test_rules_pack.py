"""Pack loading refuses bad, tampered and hostile packs, naming file, path and
reason; the expression language is whitelisted; the CLI works end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from workbench.cli.main import cli
from workbench.rules.classify import compute_metrics
from workbench.rules.expr import ExprError, compile_expr
from workbench.rules.pack import PackError, builtin_pack, builtin_pack_dir, load_pack, seal_pack
from workbench.rules.schemas import TXN

ROOT = Path(__file__).parents[2]


@pytest.fixture()
def pack_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), dest)
    return dest


def test_builtin_pack_loads_with_expected_groups() -> None:
    p = builtin_pack()
    assert len(p.members("ADVCOMP_DEST", "2026-07-08")) == 46
    assert p.group_member("D:5", "NI", "2024-03-15") and not p.group_member("D:5", "NI", "2024-03-14")
    assert p.group_member("D:5", "KH", "2026-02-02") and not p.group_member("D:5", "KH", "2026-02-03")
    assert p.group_member("D:5", "CY", "2024-05-29") and not p.group_member("D:5", "CY", "2024-05-30")
    assert p.resolve_country("HK", "2021-01-01") == "CN"
    assert p.resolve_country("HK", "2020-12-22") == "HK"
    assert "NO" in p.members("A:5", "2026-01-01")  # YAML 1.1 'Norway problem' guarded


def test_tpp_worked_examples_from_bis() -> None:
    bits = builtin_pack().classification["tpp"]["precision_bits"]
    for ex in builtin_pack().classification["tpp"]["worked_examples"]:
        assert compute_metrics({"tops": ex["tops"]}, bits)["tpp"] == ex["expect_tpp"]


def test_tampered_file_is_refused(pack_copy: Path) -> None:
    f = pack_copy / "requirements.yaml"
    f.write_text(f.read_text().replace("valid_from: 2023-11-17", "valid_from: 2023-11-18", 1))
    with pytest.raises(PackError, match="requirements.yaml.*SHA-256 mismatch"):
        load_pack(pack_copy)


def test_unlisted_file_is_refused(pack_copy: Path) -> None:
    (pack_copy / "extra.yaml").write_text("overlays: []\n")
    with pytest.raises(PackError, match="extra.yaml.*not listed"):
        load_pack(pack_copy)


def test_schema_error_names_file_and_path(pack_copy: Path) -> None:
    f = pack_copy / "exceptions.yaml"
    f.write_text(f.read_text().replace("code: ACA", "code: aca!"))
    seal_pack(pack_copy)
    with pytest.raises(PackError) as e:
        load_pack(pack_copy)
    assert e.value.file == "exceptions.yaml" and e.value.where == "exceptions[2].code"


def test_bad_expression_names_path(pack_copy: Path) -> None:
    f = pack_copy / "overlays.yaml"
    f.write_text(f.read_text().replace("{ge: [item.interconnect_gbps, 1100]}",
                                       "{ge: [item.secret_field, 1100]}"))
    seal_pack(pack_copy)
    with pytest.raises(PackError) as e:
        load_pack(pack_copy)
    assert e.value.file == "overlays.yaml" and "when.all[1].any[2].ge[0]" in e.value.where
    assert "unknown field" in e.value.reason


@pytest.mark.parametrize("text,match", [
    ("a: &x [1, 2]\nb: *x\n", "anchors|aliases"),
    ("a: " + "[" * 200 + "]" * 200 + "\n", "deeper|nested"),
    ("a: 'x'\n" + "#" * 1_100_000 + "\n", "limit"),
    ("a: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
])
def test_hostile_yaml_is_refused(pack_copy: Path, text: str, match: str) -> None:
    (pack_copy / "sources.yaml").write_text(text)
    with pytest.raises(PackError, match=match):
        seal_pack(pack_copy)  # re-hashed, so the parser itself must refuse it
        load_pack(pack_copy)


def test_expression_whitelist() -> None:
    with pytest.raises(ExprError, match="unknown operator"):
        compile_expr({"eval": ["1+1"]}, "w", scopes=["txn"], groups=[])
    with pytest.raises(ExprError, match="not available here"):
        compile_expr({"eq": ["party.name", "x"]}, "w", scopes=["txn"], groups=[])
    with pytest.raises(ExprError, match="not a country group"):
        compile_expr({"in_group": ["txn.destination", "NOPE"]}, "w", scopes=["txn"], groups=[])


def test_txn_schema_file_matches_code() -> None:
    assert json.loads((ROOT / "resources/rules/txn.schema.json").read_text()) == TXN


def test_cli_determine_classify_and_rules(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    r = CliRunner()
    assert r.invoke(cli, ["--db", str(db), "init"]).exit_code == 0
    txn = {"date": "2026-03-01", "destination": "CN",
           "items": [{"model": "H20", "tops": {"fp16": 148}, "die_area_mm2": 814,
                      "interconnect_gbps": 900, "memory_bandwidth_gbps": 4000,
                      "datacenter": True, "eccn": None, "quantity": 8}],
           "parties": [{"role": "end_user", "name": "X", "country": "CN", "hq_country": "CN",
                        "parent_hq_country": None, "list_hits": []}]}
    f = tmp_path / "txn.json"
    f.write_text(json.dumps(txn))
    res = r.invoke(cli, ["--db", str(db), "determine", "--input", str(f), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["outcome"] == "no_license_required" and out["exception"] is None
    assert out["pack"] == builtin_pack().ref and out["values"]["lines"][0]["tpp"] == 2368
    txn["items"][0].update(model="H100", tops={"fp8": 1979})
    f.write_text(json.dumps(txn))
    out = json.loads(r.invoke(cli, ["--db", str(db), "determine", "--input", str(f),
                                    "--json"]).output)
    assert out["outcome"] == "license_required"
    assert {"rule_id", "citation"} <= set(out["reasons"][0])
    assert out["classification"][0]["eccn"] == "3A090.a.1"
    f.write_text('{"date": "2026-03-01"}')
    res = r.invoke(cli, ["--db", str(db), "determine", "--input", str(f)])
    assert res.exit_code != 0
    res = r.invoke(cli, ["--db", str(db), "rules", "show", "--json"])
    assert json.loads(res.output)["pack"]["id"] == "us-ear-advanced-computing"
    test_pack = ROOT / "tests/data/rules/us-ear-advanced-computing-2026.12.2-test"
    res = r.invoke(cli, ["--db", str(db), "rules", "diff", "builtin", str(test_pack)])
    assert "+ exception EXC.CNR.2026" in res.output
