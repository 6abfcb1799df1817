"""Every file of tests/data/hostile/ through every entry point that reads a
file: a one-line refusal (a WorkbenchError) or a clean acceptance — never
another exception — and a refusal changes nothing in the database.

Regenerate the corpus with tests/data/hostile/make_corpus.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from workbench.app import Workbench
from workbench.checklists import runs as checklists
from workbench.cli.main import cli
from workbench.errors import WorkbenchError
from workbench.packets.verify import verify_file
from workbench.records import evidence
from workbench.rules.pack import builtin_pack_dir, load_pack
from workbench.screening import batch, snapshots
from workbench.spreadsheets.imports import import_file

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile"
FILES = sorted(p for p in CORPUS.iterdir() if p.name != "make_corpus.py")


def test_the_corpus_holds_at_least_a_hundred_files() -> None:
    assert len(FILES) >= 100


def _state(wb: Workbench) -> tuple:
    st = wb.store
    return tuple(st.scalar(f"select count(*) from {t}") for t in (
        "audit_event", "party", "item", "shipment", "list_snapshot", "list_entry", "evidence",
        "checklist_template", "screening_run"))


def _one_line(e: BaseException) -> None:
    assert "\n" not in str(e).strip() or len(str(e)) < 2000, str(e)[:300]
    assert "Traceback" not in str(e)


ENTRY_POINTS: dict[str, Callable[[Workbench, Path], Any]] = {
    "import parties": lambda wb, p: import_file(wb, "parties", p),
    "import shipments": lambda wb, p: import_file(wb, "shipments", p),
    "lists import": lambda wb, p: snapshots.import_list(wb, p),
    "screen a file": lambda wb, p: batch.screen_file(wb, p, record=False),
    "template add": lambda wb, p: checklists.add_template(wb, p),
    "evidence": lambda wb, p: evidence.add_file(wb, p),
    "packet verify": lambda wb, p: verify_file(p),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_hostile_file_is_refused_in_one_line_or_taken_whole(
        demo_officer_wb: Workbench, entry: str) -> None:
    wb = demo_officer_wb
    surprises = []
    for f in FILES:
        before = _state(wb)
        try:
            result = ENTRY_POINTS[entry](wb, f)
        except WorkbenchError as e:
            _one_line(e)
            if _state(wb) != before:
                surprises.append(f"{f.name}: refused ({e}) but the database changed")
            continue
        except Exception as e:  # noqa: BLE001 - the finding itself
            surprises.append(f"{f.name}: {type(e).__name__}: {str(e)[:160]}")
            continue
        written = getattr(result, "written", True)
        if written is False and _state(wb) != before:
            surprises.append(f"{f.name}: nothing written, yet the database changed")
    assert surprises == [], "\n".join(surprises)


YAML_FILES = [f for f in FILES if f.suffix == ".yaml"]


@pytest.mark.parametrize("f", YAML_FILES, ids=[f.name for f in YAML_FILES])
def test_a_hostile_pack_file_is_refused_naming_it(tmp_path: Path, f: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), pack)
    shutil.copy(f, pack / "requirements.yaml")
    try:
        load_pack(pack)
    except WorkbenchError as e:
        _one_line(e)
        assert "requirements.yaml" in str(e) or "seal" in str(e) or "sha256" in str(e).lower()


JSON_FILES = [f for f in FILES if f.suffix == ".json"]


@pytest.mark.parametrize("f", JSON_FILES, ids=[f.name for f in JSON_FILES])
def test_determine_on_a_hostile_transaction_is_one_line(tmp_path: Path, f: Path) -> None:
    r = CliRunner().invoke(cli, ["--db", str(tmp_path / "w.db"), "determine", "--input",
                                 str(f)])
    assert r.exception is None or isinstance(r.exception, (SystemExit, WorkbenchError)), \
        f"{type(r.exception).__name__}: {r.exception}"
