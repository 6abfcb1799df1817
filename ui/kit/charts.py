"""Two small charts for the dashboard, painted with QPainter (a bar per
week, a bar per licence line): a few dozen bars do not justify QtCharts'
size in the installer. GUI thread only; no I/O.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

BAR = QColor("#3b6fd8")
WARN = QColor("#d69e00")
BAD = QColor("#c0392b")
GRID = QColor("#d0d0d0")


class BarChart(QWidget):
    """Vertical bars (``horizontal=False``: one per label along the bottom)
    or horizontal bars (one per row, label on the left). ``set_data`` takes
    (label, value) pairs; ``maximum`` fixes the scale (e.g. 100 for
    percentages); ``warn_at``/``bad_at`` colour high values."""

    def __init__(self, title: str, *, horizontal: bool = False, unit: str = "",
                 maximum: float | None = None, warn_at: float | None = None,
                 bad_at: float | None = None, empty_text: str = "nothing to show",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.horizontal = horizontal
        self.unit = unit
        self.maximum = maximum
        self.warn_at, self.bad_at = warn_at, bad_at
        self.empty_text = empty_text
        self.data: list[tuple[str, float]] = []
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, data: Sequence[tuple[str, float]]) -> None:
        self.data = [(str(k), float(v or 0)) for k, v in data]
        self.setToolTip("\n".join(f"{k}: {v:g}{self.unit}" for k, v in self.data))
        self.update()

    def _colour(self, v: float) -> QColor:
        if self.bad_at is not None and v >= self.bad_at:
            return BAD
        if self.warn_at is not None and v >= self.warn_at:
            return WARN
        return BAR

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.rect().adjusted(4, 4, -4, -4)
        fm = p.fontMetrics()
        lh = fm.height()
        f = p.font()
        f.setBold(True)
        p.setFont(f)
        p.drawText(r.left(), r.top() + fm.ascent(), self.title)
        f.setBold(False)
        p.setFont(f)
        area = QRectF(r.left(), r.top() + lh + 6, r.width(), r.height() - lh - 6)
        p.setPen(QPen(GRID))
        p.drawRect(area)
        if not self.data:
            p.setPen(QColor("#808080"))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        top = self.maximum or max(v for _k, v in self.data) or 1.0
        if self.horizontal:
            self._paint_rows(p, area, top, fm)
        else:
            self._paint_columns(p, area, top, fm)

    def _paint_columns(self, p: QPainter, area: QRectF, top: float, fm: object) -> None:
        n = len(self.data)
        lh = p.fontMetrics().height()
        plot = area.adjusted(6, lh + 2, -6, -(lh + 4))
        if plot.width() <= n or plot.height() <= 0:
            return  # too small to draw a bar (a squeezed layout); nothing to divide by
        step = plot.width() / n
        every = max(1, int((p.fontMetrics().horizontalAdvance("Mmm 00") + 6) // step) + 1)
        for i, (label, v) in enumerate(self.data):
            h = plot.height() * min(v / top, 1.0)
            x = plot.left() + i * step + step * 0.15
            bar = QRectF(x, plot.bottom() - h, step * 0.7, h)
            p.fillRect(bar, self._colour(v))
            p.setPen(QColor("#202020"))
            if v:
                p.drawText(QRectF(x - 10, bar.top() - lh - 1, step * 0.7 + 20, lh),
                           Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                           f"{v:g}")
            if (n - 1 - i) % every == 0:  # the newest bar always has its label
                p.setPen(QColor("#606060"))
                p.drawText(QRectF(x - 20, plot.bottom() + 2, step * 0.7 + 40, lh),
                           Qt.AlignmentFlag.AlignHCenter, label)

    def _paint_rows(self, p: QPainter, area: QRectF, top: float, fm: object) -> None:
        metrics = p.fontMetrics()
        lh = metrics.height()
        rows = self.data[: max(1, int((area.height() - 8) // (lh + 4)))]
        label_w = min(max(metrics.horizontalAdvance(k) for k, _v in rows) + 8,
                      area.width() * 0.45)
        value_w = metrics.horizontalAdvance(f"100{self.unit}") + 8
        if area.width() - label_w - value_w - 8 <= 0:
            return
        y = area.top() + 4
        for label, v in rows:
            p.setPen(QColor("#202020"))
            p.drawText(QRectF(area.left() + 4, y, label_w - 4, lh),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(label_w - 6)))
            full = area.width() - label_w - value_w - 8
            track = QRectF(area.left() + label_w, y + 3, full, lh - 6)
            p.fillRect(track, QColor("#eeeeee"))
            p.fillRect(QRectF(track.left(), track.top(), full * min(v / top, 1.0),
                              track.height()), self._colour(v))
            p.drawText(QRectF(track.right() + 4, y, value_w, lh),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       f"{v:.0f}{self.unit}")
            y += lh + 4
        if len(rows) < len(self.data):
            p.setPen(QColor("#808080"))
            p.drawText(QRectF(area.left() + 4, area.bottom() - lh - 2, area.width() - 8, lh),
                       Qt.AlignmentFlag.AlignRight, f"+{len(self.data) - len(rows)} more")
