"""Organisation settings: the exporter's name is validated, audited, and
printed on packets ahead of the environment variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.records import browse
from workbench import settings
from workbench.app import Workbench
from workbench.errors import ValidationError
from workbench.packets.model import _exporter


@pytest.fixture()
def wb(tmp_db_path: Path) -> Workbench:
    w = Workbench.open(tmp_db_path)
    w.create_user("olivia", "password-123", "admin")
    w.login("olivia", "password-123")
    w.create_user("audrey", "password-123", "auditor")
    yield w
    w.close()


def test_exporter_name_is_stored_and_audited(wb: Workbench, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_EXPORTER", "From The Environment Ltd")
    assert settings.get(wb.store, settings.EXPORTER_NAME) == ""
    assert _exporter(wb.store) == "From The Environment Ltd"
    assert settings.set_value(wb, settings.EXPORTER_NAME, "  Acme   Chips Ltd ") == "Acme Chips Ltd"
    assert _exporter(wb.store) == "Acme Chips Ltd"  # the audited setting wins
    ev = wb.store.one("select * from audit_event where entity = 'setting' order by seq desc")
    assert ev["entity_id"] == "exporter_name" and ev["user"] == "olivia"
    assert '"Acme Chips Ltd"' in ev["after"]
    n = wb.store.scalar("select count(*) from audit_event")
    settings.set_value(wb, settings.EXPORTER_NAME, "Acme Chips Ltd")  # unchanged: no event
    assert wb.store.scalar("select count(*) from audit_event") == n
    monkeypatch.delenv("WORKBENCH_EXPORTER")


@pytest.mark.parametrize("value, message", [
    ("", "cannot be empty"), ("   ", "cannot be empty"), ("x" * 201, "at most 200"),
    ("Acme\x00Ltd", "control character"), ("Acme\u202eLtd", "control character")])
def test_bad_exporter_names_are_refused_and_nothing_is_written(wb: Workbench, value: str,
                                                               message: str) -> None:
    n = wb.store.scalar("select count(*) from audit_event")
    with pytest.raises(ValidationError) as ei:
        settings.set_value(wb, settings.EXPORTER_NAME, value)
    assert message in ei.value.for_field("exporter_name")[0]
    assert wb.store.scalar("select count(*) from audit_event") == n
    assert settings.get(wb.store, settings.EXPORTER_NAME) == ""


def test_unknown_setting_and_auditor_are_refused(wb: Workbench) -> None:
    with pytest.raises(ValidationError, match="no setting called"):
        settings.set_value(wb, "colour", "blue")
    wb.login("audrey", "password-123")
    with pytest.raises(Exception, match="auditor"):
        settings.set_value(wb, settings.EXPORTER_NAME, "Acme")


def test_browse_ids_filter_takes_any_number_of_ids(wb: Workbench) -> None:
    from workbench.records import items

    made = [items.save_item(wb, {"model": f"GPU-{i}", "manufacturer": "X"}).id
            for i in range(5)]
    q = browse.Query(ids=(made[1], made[3]))
    assert browse.count(wb.store, "items", q) == 2
    assert {r["id"] for r in browse.page(wb.store, "items", q)} == {made[1], made[3]}
    assert browse.count(wb.store, "items", browse.Query(ids=())) == 0
    assert browse.count(wb.store, "items", browse.Query(ids=tuple(range(5000)))) == 5


def test_joiners_in_real_names_are_kept(wb: Workbench) -> None:
    name = "شرکت\u200cفناوری"  # Persian: the zero-width non-joiner is part of the spelling
    assert settings.set_value(wb, settings.EXPORTER_NAME, name) == name
