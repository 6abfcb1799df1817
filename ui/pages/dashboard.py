"""The Dashboard: what needs attention today, as tiles that open the filtered
list, the rules pack's due review dates and assumptions, and two charts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.app import Workbench
from workbench.clearance.attention import attention
from workbench.licensing.ledger import NEARLY_USED_PCT
from workbench.records import browse
from workbench.records.shipments import STATUSES, STATUS_LABELS
from workbench.screening import results as screening_results

from ui.kit.charts import BarChart
from ui.kit.ops import Ops
from ui.kit.views import esc, heading_label


# ----------------------------------------------------------------------------
class _Tile(QFrame):
    """A big number with a caption; clicking it opens the filtered list."""

    def __init__(self, caption: str, on_click: Callable[[], None] | None,
                 tone: str = "") -> None:
        super().__init__()
        self.caption = caption
        self._on_click = on_click
        colors = {"warn": "#fff4ce", "bad": "#fde7e7", "good": "#e6f4ea"}
        bg = colors.get(tone, "white")
        self.setObjectName("tile")
        self.setStyleSheet(
            f"QFrame#tile {{ border: 1px solid #c9c9c9; border-radius: 6px; background: {bg}; }}"
            "QFrame#tile:hover { border-color: #3b6fd8; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 8, 14, 8)
        lay.setSpacing(0)
        self.number = QLabel("0")
        f = self.number.font()
        f.setPointSizeF(f.pointSizeF() * 1.9)
        f.setBold(True)
        self.number.setFont(f)
        self.label = QLabel(caption)
        for w in (self.number, self.label):
            w.setStyleSheet("background: transparent; border: none;")
            lay.addWidget(w)
        self.setMinimumSize(118, 70)
        if on_click:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._on_click and self.rect().contains(event.position().toPoint()):
            self._on_click()

    def click(self) -> None:
        if self._on_click:
            self._on_click()

    def set_count(self, n: int) -> None:
        self.number.setText(f"{n:,}")


class _PackReview(QFrame):
    """The active rules pack's review date and dated assumptions that are due
    (within 30 days or past), in words; clicking it opens the Rules page.
    Hidden while nothing is due."""

    TONES = {"warn": "#fff4ce", "bad": "#fde7e7"}

    def __init__(self, on_click: Callable[[], None] | None) -> None:
        super().__init__()
        self._on_click = on_click
        self.setObjectName("packReview")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 8, 14, 10)
        lay.setSpacing(2)
        self.heading = QLabel("Rules pack needs review")
        f = self.heading.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.heading.setFont(f)
        self.pack_label = QLabel()
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.RichText)
        for w in (self.heading, self.pack_label, self.body):
            w.setWordWrap(True)
            w.setStyleSheet("background: transparent; border: none;")
            lay.addWidget(w)
        self.pack_label.setStyleSheet("background: transparent; border: none;"
                                      " color: #555;")
        if on_click:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip("Open the Rules page to see the pack in force")
        self._tone("warn")
        self.hide()

    def _tone(self, tone: str) -> None:
        self.setStyleSheet(
            f"QFrame#packReview {{ border: 1px solid #c9c9c9; border-radius: 6px;"
            f" background: {self.TONES[tone]}; }}"
            "QFrame#packReview:hover { border-color: #3b6fd8; }")

    def mouseReleaseEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self._on_click and self.rect().contains(event.position().toPoint()):
            self._on_click()

    def set_review(self, tile: dict[str, Any] | None) -> None:
        """Show the ``rules_pack_review`` entry of attention() (hide when empty)."""
        items = (tile or {}).get("detail") or []
        if not items:
            self.hide()
            return
        pack = tile["pack"]
        self._tone("bad" if any(i["overdue"] for i in items) else "warn")
        self.pack_label.setText(f"{pack['title']}, version {pack['version']}")
        parts = []
        for i in items:
            what = "Review" if i["kind"] == "review" else "Assumption"
            state = "overdue" if i["overdue"] else "due soon"
            lines = [f"<b>{what} {state}.</b> {esc(i['text'])}"]
            if i["check"]:
                lines.append(f"Check: {esc(i['check'])}")
            titles = [r["title"] for r in i["rules"] if r.get("title")]
            if titles:
                lines.append("Affects: " + "; ".join(esc(t) for t in titles))
            parts.append("<br>".join(lines))
        self.body.setText("<p style='margin-top: 4px'>"
                          + "</p><p style='margin-top: 6px'>".join(parts) + "</p>")
        self.show()


class DashboardPage(QWidget):
    """What needs attention today (with the rules pack's review date and
    dated assumptions once due), shipments by status, two small charts and
    the record counts; each number opens the list it counts.

    Reads: a handful of ``browse.count`` queries on the GUI thread (indexed,
    quick even with 100,000 shipments), and
    :func:`workbench.clearance.attention.attention` (balances, re-verification
    dates, the charts' series) on the :class:`Ops` worker when one is given.
    """

    EXPIRY_DAYS = 90

    def __init__(self, wb: Workbench, open_list: Callable[..., None],
                 ops: Ops | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb = wb
        self.ops = ops
        self.open_list = open_list
        self.attention: dict[str, Any] | None = None
        self._stale = True
        self._ids: dict[str, list[int]] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(24, 12, 24, 12)
        head = QHBoxLayout()
        head.addWidget(heading_label("Dashboard"))
        self.today_label = QLabel()
        self.today_label.setStyleSheet("color: palette(mid);")
        head.addSpacing(12)
        head.addWidget(self.today_label, 1)
        lay.addLayout(head)

        self.tiles: dict[str, _Tile] = {}
        to_screening = lambda: self.open_list("screening", "")  # noqa: E731
        lay.addWidget(self._section("Needs attention today"))
        row = QHBoxLayout()
        self.tiles["open_hits"] = _Tile("hits to decide", to_screening, "bad")
        self.tiles["on_hold"] = _Tile("shipments on hold", lambda: self.open_list(
            "shipments", "Status: On hold", filters={"status": "on_hold"}), "warn")
        self.tiles["checklists_awaiting_approval"] = _Tile(
            "checklists to approve",
            lambda: self.open_list("checklists", "", tab="awaiting_approval"), "warn")
        self.tiles["expiring"] = _Tile(f"licences expire in {self.EXPIRY_DAYS} days",
                                       self._open_expiring, "warn")
        self.tiles["licences_nearly_used"] = _Tile("licences nearly used",
                                                   self._open_nearly_used, "warn")
        self.tiles["parties_due"] = _Tile("parties to re-verify",
                                          lambda: self.open_list("checklists", "", tab="due"),
                                          "warn")
        tips = {"open_hits": "Screening hits no officer has decided yet (Screening page)",
                "on_hold": "Shipments on hold, by hand or because a new list or rules pack "
                           "affects them",
                "checklists_awaiting_approval": "Checklist runs with red flags that wait for "
                                                "an approver's sign-off",
                "expiring": f"Licences whose expiry date falls in the next {self.EXPIRY_DAYS} "
                            f"days",
                "licences_nearly_used": "Licences with a line at or above "
                                        f"{NEARLY_USED_PCT:g}% of its quantity or value",
                "parties_due": "Parties whose end-user checks have lapsed or lapse within "
                               "30 days"}
        for k in ("open_hits", "on_hold", "checklists_awaiting_approval", "expiring",
                  "licences_nearly_used", "parties_due"):
            self.tiles[k].setToolTip(tips[k])
            row.addWidget(self.tiles[k])
        row.addStretch(1)
        lay.addLayout(row)
        self.pack_review = _PackReview(lambda: self.open_list("rules", ""))
        lay.addSpacing(6)
        lay.addWidget(self.pack_review)

        lay.addWidget(self._section("Shipments by status"))
        grid = QGridLayout()
        tones = {"on_hold": "warn", "blocked": "bad", "in_review": "warn", "cleared": "good"}
        for i, st in enumerate(STATUSES):
            t = _Tile(STATUS_LABELS[st], lambda st=st: self.open_list(
                "shipments", f"Status: {STATUS_LABELS[st]}", filters={"status": st}),
                tones.get(st, ""))
            t.setToolTip(f"Show the {STATUS_LABELS[st].lower()} shipments")
            self.tiles[f"status:{st}"] = t
            grid.addWidget(t, 0, i)
        lay.addLayout(grid)

        charts = QHBoxLayout()
        self.screenings_chart = BarChart("Screening runs per week (last 12 weeks)",
                                         empty_text="no screening yet")
        self.utilisation_chart = BarChart("Licence utilisation (share of each line used)",
                                          horizontal=True, unit="%", maximum=100,
                                          warn_at=80, bad_at=95,
                                          empty_text="no licence lines")
        for c in (self.screenings_chart, self.utilisation_chart):
            c.setMinimumHeight(170)
            charts.addWidget(c, 1)
        lay.addSpacing(10)
        lay.addLayout(charts)

        lay.addWidget(self._section("Screening, licences and records"))
        row = QHBoxLayout()
        self.tiles["possible_fronts"] = _Tile("parties may be fronts", to_screening, "warn")
        self.tiles["never_screened"] = _Tile("parties never screened", to_screening, "warn")
        self.tiles["expired"] = _Tile("licences have expired", self._open_expired)
        self.tiles["licences"] = _Tile("licences in all", lambda: self.open_list("licences", ""))
        self.tiles["parties"] = _Tile("parties", lambda: self.open_list("parties", ""))
        self.tiles["items"] = _Tile("items", lambda: self.open_list("items", ""))
        self.tiles["audit"] = _Tile("audit events", lambda: self.open_list("audit", ""))
        for k in ("possible_fronts", "never_screened", "expired", "licences", "parties",
                  "items", "audit"):
            row.addWidget(self.tiles[k])
        row.addStretch(1)
        lay.addLayout(row)
        hint = QLabel("Click a number to open the list it counts.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid); margin-top: 8px;")
        lay.addWidget(hint)
        lay.addStretch(1)
        self.refresh()

    @staticmethod
    def _section(text: str) -> QLabel:
        lab = QLabel(text)
        lab.setStyleSheet("font-weight: 600; margin-top: 10px;")
        return lab

    def _range(self) -> tuple[str, str]:
        today = dt.date.today()
        return today.isoformat(), (today + dt.timedelta(days=self.EXPIRY_DAYS)).isoformat()

    def _open_expiring(self) -> None:
        a, b = self._range()
        self.open_list("licences", f"Expiring {a} – {b}", date_column="expiry_date",
                       date_from=a, date_to=b)

    def _open_expired(self) -> None:
        y = (dt.date.today() - dt.timedelta(days=1)).isoformat()
        self.open_list("licences", f"Expired (before {dt.date.today().isoformat()})",
                       date_column="expiry_date", date_from="0000-01-01", date_to=y)

    def _open_nearly_used(self) -> None:
        self.open_list("licences", "Nearly used up",
                       ids=tuple(self._ids.get("licences_nearly_used", [])))

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Re-read the counts (GUI thread) and the attention data (worker).

        While the page is hidden it only marks itself stale and reads when
        shown: every write elsewhere asks for a refresh, and attention()
        costs ~0.4 s on 100,000 shipments that would queue before the
        officer's own work on the one worker thread."""
        if not self.isVisible() and self.attention is not None:
            self._stale = True
            return
        self._stale = False
        s = self.wb.store
        a, b = self._range()
        self.today_label.setText(f"Today is {dt.date.today():%A, %d %B %Y}.")
        for st in STATUSES:
            n = browse.count(s, "shipments", browse.Query(filters={"status": st}))
            self.tiles[f"status:{st}"].set_count(n)
            if st == "on_hold":  # the same count, shown again under "needs attention"
                self.tiles["on_hold"].set_count(n)
        self.tiles["expiring"].set_count(browse.count(s, "licences", browse.Query(
            date_column="expiry_date", date_from=a, date_to=b)))
        y = (dt.date.today() - dt.timedelta(days=1)).isoformat()
        self.tiles["expired"].set_count(browse.count(s, "licences", browse.Query(
            date_column="expiry_date", date_from="0000-01-01", date_to=y)))
        for k in ("licences", "parties", "items", "audit"):
            self.tiles[k].set_count(browse.count(s, k))
        for k, n in screening_results.attention_counts(s).items():
            self.tiles[k].set_count(n)
        if self.ops is None:
            self._show_attention(attention(s))
        else:
            self.ops.run(lambda _t: attention(s), success=self._show_attention, parent=self)

    def _show_attention(self, att: dict[str, Any]) -> None:
        self.attention = att
        for k in ("checklists_awaiting_approval", "licences_nearly_used", "parties_due"):
            tile = att[k]
            self._ids[k] = list(tile["ids"])
            self.tiles[k].set_count(tile["count"])
        self.tiles["licences_nearly_used"].setToolTip("\n".join(
            f"{d['number']}: {d['used_pct']:.0f}% used"
            for d in att["licences_nearly_used"].get("detail", [])) or "none")
        self.pack_review.set_review(att.get("rules_pack_review"))
        ser = att["series"]
        self.screenings_chart.set_data([
            (dt.date.fromisoformat(w["week"]).strftime("%d %b"), w["runs"])
            for w in ser["screenings_per_week"]])
        self.utilisation_chart.set_data([
            (f"{u['licence']} line {u['line']}", u["used_pct"])
            for u in sorted(ser["licence_utilisation"], key=lambda u: -u["used_pct"])])
