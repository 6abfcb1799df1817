"""Fixtures the unit tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.app import Workbench
from workbench.bootstrap import open_workbench
from workbench.demo import DEMO_PASSWORD


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database, built once per session; tests work on copies."""
    p = tmp_path_factory.mktemp("unit-demo") / "demo.db"
    open_workbench(p, demo=True).close()
    return p


@pytest.fixture()
def demo_officer_wb(demo_template: Path, tmp_path: Path) -> Workbench:
    """A fresh copy of the demo database signed in as olivia (officer)."""
    src = Workbench.open(demo_template)
    src.store.backup(tmp_path / "w.db")  # SQLite's online backup: a consistent copy
    src.close()
    w = Workbench.open(tmp_path / "w.db")
    w.login("olivia", DEMO_PASSWORD)
    yield w
    w.close()
