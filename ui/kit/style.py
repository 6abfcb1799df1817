"""Application-wide look: one style on every platform, readable fonts.

Side effects: sets the QApplication's style and default font (GUI thread,
once, before any window is built).
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication


def apply_style(app: QApplication) -> None:
    # Fusion looks the same on Linux, Windows and macOS, so screenshots in the
    # manual match what officers see.
    app.setStyle("Fusion")
    f = QFont(app.font())
    if f.pointSizeF() < 10:
        f.setPointSizeF(10)
    # Chinese, Cyrillic and Arabic names must render: fontconfig/Qt fall back
    # per glyph to a font that has it (Noto CJK, DejaVu) when one is installed.
    f.setStyleHint(QFont.StyleHint.SansSerif)
    app.setFont(f)
