"""The architecture holds: layers one way, no cycles, gates that fail closed,
one migration order, and holds that no caller can skip.

The layers and the no-cycles rule are import-linter contracts in
pyproject.toml ([tool.importlinter]); these tests run them on the tree and on
a copy with a planted violation, so a contract that stopped checking would
fail here too.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.app import Workbench
from workbench.bootstrap import open_workbench
from workbench.clearance import status as C
from workbench.db import migrations
from workbench.db.store import Store
from workbench.errors import WorkbenchError
from workbench.rules import determinations as rules
from workbench.screening import results as screening

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
PW = "demo-password"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: grimp must read the tree at `root`, not the installed one.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contracts_are_kept() -> None:
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("Layers", "independent front ends", "No import cycles"):
        assert name in proc.stdout


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("tree")
    for d in ("workbench", "ui"):
        shutil.copytree(ROOT / d, dst / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


def _plant(tree: Path, rel: str, line: str) -> str:
    p = tree / rel
    old = p.read_text()
    p.write_text(old + f"\n\ndef _planted() -> None:\n    {line}\n")
    return old


@pytest.mark.parametrize("rel, line, broken", [
    # an upward import made inside a function, the way the old cycles hid
    ("workbench/records/shipments.py", "from workbench.clearance import status  # noqa",
     "Layers"),
    ("workbench/rules/determinations.py", "from workbench.clearance import holds  # noqa",
     "Layers"),
    # a cycle inside one layer: lists is imported by results
    ("workbench/screening/lists.py", "from workbench.screening import results  # noqa",
     "No import cycles"),
    # the front ends stay apart
    ("ui/kit/style.py", "from workbench.cli import common  # noqa", "independent front ends"),
])
def test_the_contracts_catch_a_planted_violation(tree_copy: Path, rel: str, line: str,
                                                 broken: str) -> None:
    old = _plant(tree_copy, rel, line)
    try:
        proc = _lint(tree_copy)
    finally:
        (tree_copy / rel).write_text(old)
    assert proc.returncode != 0, proc.stdout
    broken_lines = [ln for ln in proc.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(broken in ln for ln in broken_lines), proc.stdout


def _core_files() -> list[Path]:
    return sorted((ROOT / "workbench").rglob("*.py"))


def test_no_gate_swallows_a_missing_module() -> None:
    """A missing module is a crash, not a pass: no ``except ImportError`` (or
    ModuleNotFoundError) anywhere in the core."""
    found = []
    for p in _core_files():
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if names & {"ImportError", "ModuleNotFoundError"}:
                    found.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def test_no_import_of_the_core_is_guarded_by_a_broad_except() -> None:
    """``try: from workbench… import x`` with ``except Exception`` is the
    same fail-open pattern under another name."""
    broad = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    found = []
    for p in _core_files():
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if not isinstance(node, ast.Try):
                continue
            imports_core = any(
                isinstance(n, ast.ImportFrom) and (n.module or "").startswith("workbench")
                or isinstance(n, ast.Import) and any(a.name.startswith("workbench")
                                                     for a in n.names)
                for stmt in node.body for n in ast.walk(stmt))
            # a handler that cleans up and re-raises does not swallow anything
            catches = any((h.type is None or {n.id for n in ast.walk(h.type)
                                              if isinstance(n, ast.Name)} & broad)
                          and not any(isinstance(n, ast.Raise) and n.exc is None
                                      for n in ast.walk(h))
                          for h in node.handlers)
            if imports_core and catches:
                found.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


# The area writes that clearance.holds wraps with their holds.
UNHELD = {"workbench.rules.determinations": {"install_pack", "record_letter", "set_party_tag"},
          "workbench.screening.results": {"rescreen_after_import"},
          "workbench.screening.snapshots": {"import_list", "store_parsed"}}


def _unheld_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    aliases: dict[str, str] = {}  # local name -> module
    names: dict[str, str] = {}    # local name -> "module.function"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full in UNHELD:
                    aliases[a.asname or a.name] = full
                elif a.name in UNHELD.get(node.module, ()):
                    names[a.asname or a.name] = full
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in UNHELD and a.asname:
                    aliases[a.asname] = a.name
    out = [f"{path.relative_to(ROOT)}: imports {v}" for v in names.values()]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr in UNHELD[aliases[node.value.id]]):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                       f"{aliases[node.value.id]}.{node.attr}")
    return out


def test_front_ends_use_the_writes_that_hold() -> None:
    """The CLI, the app and the demo loader activate packs, record letters
    and facts and re-screen through workbench.clearance.holds, so no path
    skips the holds."""
    files = [*(ROOT / "ui").rglob("*.py"), *(ROOT / "workbench" / "cli").rglob("*.py"),
             ROOT / "workbench" / "demo.py", ROOT / "workbench" / "bootstrap.py", ROOT / "main.py"]
    found = [f for p in files for f in _unheld_calls(p)]
    assert not found, found


def test_the_unheld_check_sees_a_direct_call(tmp_path: Path) -> None:
    p = ROOT / "tests" / "_planted_unheld.py"
    try:
        p.write_text("from workbench.rules import determinations as r\n"
                     "from workbench.screening.results import rescreen_after_import\n"
                     "def f(wb):\n    r.install_pack(wb, 'x')\n")
        assert len(_unheld_calls(p)) == 2
    finally:
        p.unlink()


# -- one migration order ----------------------------------------------------------------------

PINNED = ["0001_core", "0002_master_data", "0003_list_views", "screening_0001_snapshots",
          "screening_0002_results", "rules_0001_packs_classifications_determinations",
          "evidence_0001_files", "checklists_0001_templates_runs_answers_signoffs",
          "ledger_0001_drawdowns_status_obligations"]

FRESH = r"""
import importlib, json, sys
for m in sys.argv[2:]:
    importlib.import_module(m)
from workbench.db.store import Store
s = Store(sys.argv[1])
print(json.dumps([r[0] for r in s.all("select name from _sqlite_migrations order by rowid")]))
"""


def test_the_migration_order_is_pinned() -> None:
    assert migrations.known_names() == PINNED
    assert [n for n, _ in migrations.ORDER] == PINNED


@pytest.mark.parametrize("first", [
    [], ["workbench.records.evidence"], ["workbench.checklists", "workbench.records.evidence"],
    ["workbench.licensing.ledger", "workbench.screening.results"], ["ui.main_window"],
])
def test_a_new_database_gets_the_one_order_whatever_was_imported_first(
        tmp_path: Path, first: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path / "n.db"), *first],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == PINNED


def test_every_table_comes_from_the_schema_package(tmp_path: Path) -> None:
    """No area registers a migration of its own any more: the decorator is
    used in db/ only, so the order cannot depend on which module loads."""
    users = [p.relative_to(ROOT).as_posix() for p in _core_files()
             if "@migration" in p.read_text() and "workbench/db/" not in p.as_posix()]
    assert users == []
    s = Store(tmp_path / "t.db")
    tables = {r[0] for r in s.all("select name from sqlite_master where type = 'table'")}
    s.close()
    assert {"evidence", "checklist_run", "ledger_drawdown", "rules_determination",
            "screening_hit", "list_entry"} <= tables


# -- the checklist gate fails closed ---------------------------------------------------------

@pytest.fixture(scope="module")
def held_by_checklists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A demo database with a shipment whose only unmet conditions are its
    checklists (screened, determined, no licence needed)."""
    db = tmp_path_factory.mktemp("gate") / "g.db"
    open_workbench(db, demo=True).close()
    wb = Workbench.open(db)
    wb.login("olivia", PW)
    try:
        for r in wb.store.all("select id, reference from shipment where status in"
                              " ('draft','in_review') order by id"):
            screening.screen_shipment(wb, r["id"])
            rules.determine_shipment(wb, r["id"], hits_for=rules.screening_hits_for(wb.store))
            codes = {x["code"] for x in C.conditions(wb.store, r["id"])["reasons"]}
            if codes == {"checklist"}:
                return db, r["reference"]
    finally:
        wb.close()
    raise AssertionError("the demo has no shipment held back only by checklists")


BLOCKED = r"""
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "workbench.checklists" or name.startswith("workbench.checklists."):
            raise ImportError(f"{name} is blocked for this test")

sys.meta_path.insert(0, Block())
from workbench.cli.main import main
sys.exit(main(["--db", sys.argv[1], "shipment", "clear", sys.argv[2]]))
"""


def test_clearance_refuses_when_checklists_are_unavailable(
        held_by_checklists: tuple[Path, str]) -> None:
    db, ref = held_by_checklists
    wb = Workbench.open(db)
    sid = wb.store.scalar("select id from shipment where reference = ?", (ref,))
    before = wb.store.scalar("select status from shipment where id = ?", (sid,))
    wb.login("olivia", PW)
    with pytest.raises(WorkbenchError, match="Checklist"):
        C.clear(wb, sid)  # with checklists there: refused for them
    wb.close()
    env = {**os.environ, "WORKBENCH_USER": "olivia", "WORKBENCH_PASSWORD": PW}
    proc = subprocess.run([sys.executable, "-c", BLOCKED, str(db), ref], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, proc.stdout
    assert "ImportError" in proc.stderr and "blocked" in proc.stderr
    s = Store(db)
    try:
        assert s.scalar("select status from shipment where id = ?", (sid,)) == before
        assert s.scalar("select count(*) from ledger_status_event where shipment_id = ?"
                        " and to_status = 'cleared'", (sid,)) == 0
    finally:
        s.close()
