"""File dialogs that never open the files they list.

Qt's own file dialog sniffs each listed file's first bytes to guess its
type (QMimeDatabase via the icon provider), and a native GTK dialog does the
same in this process. Opening and closing the workbench database that way
drops every POSIX lock SQLite holds on it in this process; the next
`workbench` command then thinks it is alone, checkpoints and deletes the
app's live -wal and -shm, and the app's later writes are lost
(sqlite.org/howtocorrupt.html §2.2; issue 13). So every file dialog of the
app goes through here: Qt's widget dialog, an icon provider that looks at
names only, and a refusal of the database's own files as a choice.

GUI thread only.
"""

from __future__ import annotations

from PySide6.QtGui import QAbstractFileIconProvider
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QMessageBox, QWidget

from workbench.db.store import Store

_Type = QAbstractFileIconProvider.IconType


class NameOnlyIconProvider(QAbstractFileIconProvider):
    """Icons and type names from the file's name and kind, never its bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._icons = QFileIconProvider()

    def icon(self, what):  # noqa: ANN001 - Qt overload: IconType or QFileInfo
        if isinstance(what, _Type):
            return self._icons.icon(what)
        return self._icons.icon(_Type.Folder if what.isDir() else _Type.File)

    def type(self, info) -> str:  # noqa: ANN001
        if info.isDir():
            return "Folder"
        return f"{info.suffix().upper()} file" if info.suffix() else "File"


def _dialog(parent: QWidget | None, caption: str, folder: str, filters: str,
            mode: QFileDialog.FileMode, save: bool = False) -> QFileDialog:
    dlg = QFileDialog(parent, caption, folder, filters)
    dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dlg.setIconProvider(NameOnlyIconProvider())
    dlg.setFileMode(mode)
    if save:
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    if mode == QFileDialog.FileMode.Directory:
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
    return dlg


def _run(dlg: QFileDialog, store: Store | None) -> list[str]:
    if not dlg.exec():
        return []
    paths = dlg.selectedFiles()
    own = [p for p in paths if store is not None and store.is_own_file(p)]
    if own:
        QMessageBox.warning(dlg.parentWidget(), "That is the workbench's database",
                            f"{own[0]} is the workbench's own database file. It cannot be "
                            f"chosen here; choose another file.")
        return []
    return paths


def open_file_name(parent: QWidget | None, caption: str, folder: str = "",
                   filters: str = "", *, store: Store | None = None) -> str:
    """One existing file, or "" when cancelled (or the database was chosen)."""
    got = _run(_dialog(parent, caption, folder, filters, QFileDialog.FileMode.ExistingFile),
               store)
    return got[0] if got else ""


def open_file_names(parent: QWidget | None, caption: str, folder: str = "",
                    filters: str = "", *, store: Store | None = None) -> list[str]:
    """Existing files, or [] when cancelled (or the database was among them)."""
    return _run(_dialog(parent, caption, folder, filters,
                        QFileDialog.FileMode.ExistingFiles), store)


def save_file_name(parent: QWidget | None, caption: str, folder: str = "",
                   filters: str = "", *, store: Store | None = None) -> str:
    """A file to write (Qt asks before replacing one), or "" when cancelled
    or the database's own file was chosen."""
    got = _run(_dialog(parent, caption, folder, filters, QFileDialog.FileMode.AnyFile,
                       save=True), store)
    return got[0] if got else ""


def existing_directory(parent: QWidget | None, caption: str, folder: str = "") -> str:
    """A folder, or "" when cancelled."""
    got = _run(_dialog(parent, caption, folder, "", QFileDialog.FileMode.Directory), None)
    return got[0] if got else ""
