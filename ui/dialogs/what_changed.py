"""The "What changed" dialog after a list import.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTabWidget, QVBoxLayout, QWidget

from workbench.records import shipments as _shipments
from workbench.screening import snapshots

from ui.kit.models import Column, RowsModel
from ui.kit.screening_html import STATUS_LABELS, list_label
from ui.kit.views import Banner, esc, heading_label, make_view


HIT_COLUMNS = [
    Column("party", "Party", 230, stretch=True),
    Column("list_name", "Matched list name", 230, stretch=True),
    Column("source", "List", 50, tip=lambda r: list_label(r.get("source", ""))),
    Column("score", "Score", 52, numeric=True),
    Column("status", "Status", 90, fmt=lambda r: STATUS_LABELS.get(r.get("status", ""), "")),
    Column("entry_id", "Entry ID", 140),
]


class WhatChangedDialog(QDialog):
    """What a new list snapshot changed: entries, hits and open shipments.

    Built from :func:`workbench.screening.changes.what_changed`'s dict; no I/O. Non-modal to the data:
    it only shows, the officer decides hits on the Screening page.
    """

    def __init__(self, data: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = data
        snap = data["snapshot"]
        self.setWindowTitle("What changed")
        self.resize(900, 620)
        lay = QVBoxLayout(self)
        src = snapshots.SOURCE_LABELS.get(snap.get("source", ""), snap.get("source", ""))
        head = heading_label(f"New snapshot #{snap.get('snapshot_id')}: {src}")
        lay.addWidget(head)
        t = data["totals"]
        if data["first"]:
            what = (f"This is the first snapshot of this source: all {t['added']:,} "
                    f"entries are new.")
        else:
            what = (f"Compared with snapshot #{snap.get('previous_id')}: "
                    f"<b>{t['added']:,}</b> entries added, <b>{t['removed']:,}</b> removed, "
                    f"<b>{t['changed']:,}</b> changed.")
        counts = " · ".join(f"{k} {v:,}" for k, v in sorted((snap.get("counts") or {}).items()))
        self.summary = QLabel(
            f"{esc(snap.get('file'))} — {snap.get('entries', 0):,} entries ({esc(counts)}); "
            f"published {esc(snap.get('publish_date') or 'date not stated')}.<br>{what}<br>"
            f"Every party was re-screened against what changed: "
            f"<b>{len(data['new_hits'])}</b> new or changed hits, "
            f"<b>{len(data['gone'])}</b> hits gone, "
            f"<b>{len(data['shipments'])}</b> open shipments affected"
            + (f", <b>{sum(1 for x in data['shipments'] if x.get('held'))}</b> of them put on "
               f"hold until an officer reviews the hits and clears them again."
               if any(x.get("held") for x in data["shipments"]) else "."))
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setToolTip("\n".join(f"{list_label(k)}: {v:,}" for k, v in
                                          sorted((snap.get("counts") or {}).items())))
        lay.addWidget(self.summary)
        if data.get("rescreen_error"):
            b = Banner()
            b.say(f"The snapshot was kept, but re-screening did not finish: "
                  f"{data['rescreen_error']} Use “Screen all parties” on the Screening page.",
                  "bad")
            lay.addWidget(b)
        if data.get("warnings"):
            b = Banner()
            b.say("Notes from reading the file: " + "; ".join(data["warnings"][:5]), "warn")
            lay.addWidget(b)

        self.tabs = QTabWidget()
        self.new_hits = RowsModel(HIT_COLUMNS, self)
        self.new_hits.set_rows(data["new_hits"])
        self.tabs.addTab(make_view(self.new_hits, HIT_COLUMNS),
                         f"New hits ({len(data['new_hits'])})")
        gone_cols = [Column("party", "Party", 260, stretch=True),
                     Column("list_name", "List name", 300, stretch=True),
                     Column("entry_id", "Entry ID", 200)]
        self.gone = RowsModel(gone_cols, self)
        self.gone.set_rows(data["gone"])
        self.tabs.addTab(make_view(self.gone, gone_cols), f"Hits gone ({len(data['gone'])})")
        ship_cols = [Column("reference", "Shipment", 160),
                     Column("status", "Status", 120,
                         fmt=lambda r: _shipments.STATUS_LABELS.get(r["status"], r["status"])),
                     Column("held", "Why it is on hold", 420, stretch=True)]
        self.shipments = RowsModel(ship_cols, self)
        self.shipments.set_rows(data["shipments"])
        self.tabs.addTab(make_view(self.shipments, ship_cols),
                         f"Open shipments affected ({len(data['shipments'])})")
        ent_cols = [Column("change", "Change", 80), Column("name", "Name", 380, stretch=True),
                    Column("list_code", "List", 56, tip=lambda r: list_label(r["list_code"])),
                    Column("entry_id", "Entry ID", 200)]
        self.entries = RowsModel(ent_cols, self)
        # changed and removed first: they are few and they are what moves hits
        self.entries.set_rows([{**e, "change": k} for k in ("changed", "removed", "added")
                               for e in data["entries"][k]])
        shown = len(self.entries.rows)
        total = sum(t.values()) if not data["first"] else shown
        self.tabs.addTab(make_view(self.entries, ent_cols),
                         f"Entries ({total:,})" if shown == total
                         else f"Entries (first {shown:,} of {total:,})")
        # Open where the officer has work: hits first, else the entries.
        self.tabs.setCurrentIndex(0 if data["new_hits"] or data["gone"] or data["shipments"]
                                  else 3)
        lay.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        lay.addWidget(buttons)
