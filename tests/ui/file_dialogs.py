"""Answering the app's file dialogs in tests: the real dialog is built (its
options, the name-only icon provider, the own-database refusal all run) and
only its modal loop is replaced."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFileDialog


def choose_in_file_dialog(monkeypatch: Any, path: str | None) -> list[QFileDialog]:
    """Make every file dialog choose `path` (None: cancel). Returns the
    dialogs that were opened, for assertions on their set-up."""
    opened: list[QFileDialog] = []

    def exec_(self: QFileDialog) -> int:
        opened.append(self)
        return 0 if path is None else 1

    monkeypatch.setattr(QFileDialog, "exec", exec_)
    monkeypatch.setattr(QFileDialog, "selectedFiles",
                        lambda self: [] if path is None else [str(path)])
    return opened
