"""Fixtures the end-to-end tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import run


@pytest.fixture()
def demo_db(tmp_path: Path) -> Path:
    """A demo database made by `workbench init --demo`, as a user would."""
    db = tmp_path / "demo.db"
    run(db, "init", "--demo", check=True)
    return db
