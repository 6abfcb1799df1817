"""The saved screening index (issue 17): loaded instead of built, never
trusted blindly. A stale, damaged, truncated, foreign or edited file is
rebuilt (or, for an edit whose digest was fixed up, caught by `check`), and
an index loaded from the file answers exactly as a fresh build does."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import random
import shutil
import stat
from pathlib import Path

import pytest

from workbench.app import Workbench
from workbench.clearance import binding, holds
from workbench.demo import DEMO_PASSWORD
from workbench.screening import index_file
from workbench.screening.matcher import MatchIndex
from workbench.screening.snapshots import IndexCache, current_snapshots, load_entries

LISTS = Path(__file__).resolve().parents[1] / "data" / "lists"
SDN_2021 = LISTS / "ofac_sdn_2021" / "sdn.csv"
CSL_2019 = LISTS / "csl_samples" / "csl_2019_115rows.csv"


@pytest.fixture(scope="module")
def sdn_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with the 2021 SDN list imported (its index built and saved
    by the import), made once for this module."""
    folder = tmp_path_factory.mktemp("sdn")
    src = Workbench.open(demo_template)
    src.store.backup(folder / "t.db")
    src.close()
    w = Workbench.open(folder / "t.db")
    w.login("olivia", DEMO_PASSWORD)
    holds.import_list(w, SDN_2021)
    w.close()
    return folder / "t.db"


@pytest.fixture
def wb(sdn_template: Path, tmp_path: Path) -> Workbench:
    """A copy of that database and of its saved index."""
    src = Workbench.open(sdn_template)
    src.store.backup(tmp_path / "w.db")
    src.close()
    shutil.copyfile(index_file.index_path(sdn_template), index_file.index_path(tmp_path / "w.db"))
    os.chmod(index_file.index_path(tmp_path / "w.db"), 0o600)
    w = Workbench.open(tmp_path / "w.db")
    w.login("olivia", DEMO_PASSWORD)
    yield w
    IndexCache.forget(w.store)
    w.close()


def _path(wb: Workbench) -> Path:
    return index_file.index_path(wb.store.path)


def _fresh(wb: Workbench) -> MatchIndex:
    snaps = current_snapshots(wb.store)
    return MatchIndex.build(load_entries(wb.store, [s["id"] for s in snaps]))


def _queries(index: MatchIndex, n: int = 250) -> list[str]:
    """Listed names, each with a typo, and names that are on no list."""
    rng = random.Random(17)
    names = [index.entries[i].name for i in rng.sample(range(len(index.entries)), n)]
    typos = [s[:3] + s[4:] if len(s) > 6 else s + "x" for s in names[:80]]
    clean = ["Harbour Light Trading GmbH", "Pearl River Cloud Services", "Maria Gonzalez",
             "Северный ветер ООО", "星河科技有限公司", "HUAWEI", "Banco Nacional"]
    return names + typos + clean


def _answers(index: MatchIndex, queries: list[str]) -> list[list[tuple]]:
    return [[(h.entry_id, h.score, h.list_name, h.explanation) for h in index.screen(q)]
            for q in queries]


def _reload(wb: Workbench) -> MatchIndex:
    IndexCache.forget(wb.store)
    idx, _ = IndexCache.get(wb.store)
    return idx


def test_the_import_saves_the_index_and_a_new_process_loads_it(wb: Workbench) -> None:
    p = _path(wb)
    assert p.exists(), "the list import did not save the index"
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    loaded = _reload(wb)
    assert IndexCache.origin(wb.store) == "loaded"
    fresh = _fresh(wb)
    q = _queries(fresh)
    assert _answers(loaded, q) == _answers(fresh, q)
    assert sum(map(len, _answers(loaded, q))) > 200  # the queries do hit
    # the fronts check reads contact details from the saved index too
    assert loaded.contacts().to_payload() == fresh.contacts().to_payload()


def test_a_new_snapshot_makes_the_saved_index_stale(wb: Workbench) -> None:
    before = _path(wb).read_bytes()
    holds.import_list(wb, CSL_2019)  # saves the index of the new set
    assert _path(wb).read_bytes() != before
    _path(wb).write_bytes(before)  # an index of the old set put back
    idx = _reload(wb)
    assert IndexCache.origin(wb.store).startswith("built (") \
        and "other list snapshots" in IndexCache.origin(wb.store)
    fresh = _fresh(wb)
    assert len(idx.entries) == len(fresh.entries) > len(marshal.loads(
        before[index_file.read_header(before, "x")[1]:])["entries"])
    q = _queries(fresh, 120)
    assert _answers(idx, q) == _answers(fresh, q)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1:]


@pytest.mark.parametrize("damage", [
    "empty", "magic", "header-length", "header-json", "cut-in-header", "cut-in-payload",
    "one-byte-short", "padded", "flipped-payload", "flipped-last", "random", "directory",
    "other-code", "other-format",
])
def test_a_damaged_saved_index_is_rebuilt_and_answers_as_a_fresh_build(
        wb: Workbench, damage: str) -> None:
    p = _path(wb)
    data = p.read_bytes()
    header, at = index_file.read_header(data, p.name)
    mid = at + (len(data) - at) // 2
    if damage == "directory":
        p.unlink()
        p.mkdir()
    else:
        bad = {
            "empty": b"",
            "magic": b"X" + data[1:],
            "header-length": data[:len(index_file.MAGIC)] + b"\xff" * 8 + data[len(index_file.MAGIC) + 8:],
            "header-json": data[:len(index_file.MAGIC) + 8] + b"{" * (at - len(index_file.MAGIC) - 8) + data[at:],
            "cut-in-header": data[:len(index_file.MAGIC) + 20],
            "cut-in-payload": data[:mid],
            "one-byte-short": data[:-1],
            "padded": data + b"\0",
            "flipped-payload": _flip(data, mid),
            "flipped-last": _flip(data, len(data) - 1),
            "random": random.Random(3).randbytes(len(data)),
            "other-format": data.replace(b'"format": 1', b'"format": 9', 1),
            "other-code": data.replace(index_file.code_fingerprint().encode(), b"0" * 64, 1),
        }[damage]
        p.write_bytes(bad)
    idx = _reload(wb)
    origin = IndexCache.origin(wb.store)
    assert origin.startswith("built ("), origin
    fresh = _fresh(wb)
    q = _queries(fresh, 120)
    assert _answers(idx, q) == _answers(fresh, q)
    if damage != "directory":
        assert index_file.load(p, index_file.snapshot_key(current_snapshots(wb.store)))
        assert _reload(wb) and IndexCache.origin(wb.store) == "loaded"  # saved again


def _forge(p: Path, edit) -> None:
    """Change the payload and fix up the header's length and digest: what
    someone with write access and this module's source could do."""
    data = p.read_bytes()
    header, at = index_file.read_header(data, p.name)
    payload = marshal.loads(data[at:])
    edit(payload)
    new = marshal.dumps(payload)
    header.update(payload_bytes=len(new), payload_sha256=hashlib.sha256(new).hexdigest())
    h = json.dumps(header, sort_keys=True).encode()
    p.write_bytes(index_file.MAGIC + len(h).to_bytes(8, "big") + h + new)


def _hide_everything(payload: dict) -> None:
    """No name opens a candidate any more: every hit hidden."""
    payload["postings"] = {}
    payload["acronyms"] = {}


def test_an_edit_with_its_digest_fixed_up_is_caught_by_check(wb: Workbench) -> None:
    p = _path(wb)
    fresh = _fresh(wb)
    listed = [h for h in fresh.screen("BANCO NACIONAL DE CUBA")]
    assert listed, "the test needs a name that hits"
    _forge(p, _hide_everything)
    # The forged file passes the load's checks (its digest is right) and
    # would hide the hit …
    forged = _reload(wb)
    assert IndexCache.origin(wb.store) == "loaded"
    assert forged.screen("BANCO NACIONAL DE CUBA") == []
    # … but check compares it with a fresh build, says so and replaces it.
    rep = binding.full_check(wb.store)
    assert not rep.ok
    assert rep.index_problem and "differs from an index built now" in rep.index_problem
    assert "DOES NOT MATCH" in rep.index
    assert index_file.compare_with_build(p, index_file.snapshot_key(current_snapshots(wb.store)),
                                         fresh) is None
    again = _reload(wb)
    assert [h.entry_id for h in again.screen("BANCO NACIONAL DE CUBA")] == \
        [h.entry_id for h in listed]
    rep2 = binding.full_check(wb.store)
    assert rep2.index_problem is None and "same as a fresh build" in rep2.index


def test_check_on_a_missing_or_stale_index_is_not_a_problem(wb: Workbench) -> None:
    _path(wb).unlink()
    rep = binding.full_check(wb.store)
    assert rep.index_problem is None and "not saved yet" in rep.index
    assert _path(wb).exists()


def test_check_names_a_truncated_index(wb: Workbench) -> None:
    p = _path(wb)
    p.write_bytes(p.read_bytes()[:-100])
    rep = binding.full_check(wb.store)
    assert not rep.ok and "truncated" in (rep.index_problem or "")


def test_an_unwritable_folder_still_screens(wb: Workbench, monkeypatch) -> None:
    def refuse(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    _path(wb).unlink()
    monkeypatch.setattr(index_file, "save", refuse)
    idx = _reload(wb)
    assert "not saved (Permission denied)" in IndexCache.origin(wb.store)
    assert idx.screen("BANCO NACIONAL DE CUBA")
    assert not _path(wb).exists()


def test_a_save_leaves_no_temporary_file(wb: Workbench) -> None:
    folder = _path(wb).parent
    leftovers = [f for f in os.listdir(folder) if f.endswith(".tmp")]
    assert leftovers == []
