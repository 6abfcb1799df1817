"""Export an audit packet from the app, then read it before sending it.

The dialog asks for the scope (these shipments, a party's shipments, or a
ship-date range) and a folder, writes the signed PDF and the workbook on the
:class:`Ops` worker (:func:`workbench.packets.export_packet`, which also
records the export in the audit trail), and shows the PDF in a QtPdf viewer
with the manifest hash and the signing certificate's fingerprint. GUI
thread for the widgets; the export itself runs on the worker.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from workbench import settings
from workbench.app import Workbench
from workbench.packets import ExportResult, export_packet

from ui.kit.key_unlock import run_unlocked
from ui.kit.ops import Ops, error_text
from ui.kit.views import Banner
from ui.kit.widgets import RecordPicker
from ui.kit.files import existing_directory


def _safe(text: str) -> str:
    """A file-name fragment from a reference (no separators or odd bytes)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "packet"


class PacketDialog(QDialog):
    """Scope + folder → export → preview. ``exported(ExportResult)`` after a
    successful export."""

    exported = Signal(object)

    def __init__(self, wb: Workbench, ops: Ops, *, shipment_ids: list[int] | None = None,
                 label: str = "", folder: str | Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wb, self.ops = wb, ops
        self.shipment_ids = list(shipment_ids or [])
        self.result: ExportResult | None = None
        self.busy = False
        self.setWindowTitle("Export audit packet")
        self.resize(980, 820)
        lay = QVBoxLayout(self)

        form = QFormLayout()
        self.scope_group = QButtonGroup(self)
        row = QHBoxLayout()
        self.rb_shipment = QRadioButton(f"Shipment {label}" if label else "Shipments given")
        self.rb_party = QRadioButton("Every shipment of a party")
        self.rb_dates = QRadioButton("Shipments with a ship date between")
        for i, rb in enumerate((self.rb_shipment, self.rb_party, self.rb_dates)):
            self.scope_group.addButton(rb, i)
            row.addWidget(rb)
        row.addStretch(1)
        form.addRow("Scope", row)
        self.party = RecordPicker(wb.store, "parties")
        form.addRow("Party", self.party)
        drow = QHBoxLayout()
        today = QDate.currentDate()
        self.date_from = QDateEdit(QDate(today.year(), 1, 1))
        self.date_to = QDateEdit(today)
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            drow.addWidget(d)
        drow.addStretch(1)
        form.addRow("Ship dates", drow)
        frow = QHBoxLayout()
        self.folder = QLineEdit(str(folder or Path.home()))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        frow.addWidget(self.folder, 1)
        frow.addWidget(browse)
        form.addRow("Folder", frow)
        self.name = QLineEdit()
        form.addRow("File name", self.name)
        self.want_xlsx = QCheckBox("Also write the Excel workbook (with its .sha256 file)")
        self.want_xlsx.setChecked(True)
        form.addRow("", self.want_xlsx)
        exporter = settings.get(wb.store, settings.EXPORTER_NAME)
        self.exporter_note = QLabel(
            f"Exporter on the cover: <b>{html.escape(exporter)}</b>" if exporter else
            "<span style='color:#8c1d18'>The exporter's name is not set: the cover will say "
            "“Exporter (name not set)”. Set it under File → Settings.</span>")
        self.exporter_note.setTextFormat(Qt.TextFormat.RichText)
        form.addRow("", self.exporter_note)
        lay.addLayout(form)

        brow = QHBoxLayout()
        self.export_btn = QPushButton("Export and preview")
        self.export_btn.setDefault(True)
        self.export_btn.clicked.connect(self.export)
        brow.addWidget(self.export_btn)
        self.banner = Banner()
        brow.addWidget(self.banner, 1)
        self.close_btn = QPushButton("Close")
        self.close_btn.clicked.connect(self.accept)
        brow.addWidget(self.close_btn)
        lay.addLayout(brow)

        self.doc = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setObjectName("packet_preview")
        self.view.setDocument(self.doc)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        lay.addWidget(self.view, 1)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setStyleSheet("color: palette(mid);")
        lay.addWidget(self.details)

        self.scope_group.idToggled.connect(self._scope_changed)
        (self.rb_shipment if self.shipment_ids else self.rb_dates).setChecked(True)
        self.rb_shipment.setEnabled(bool(self.shipment_ids))
        self._suggest_name(label)

    # -- inputs ---------------------------------------------------------------------------
    def _scope_changed(self, _id: int = 0, on: bool = True) -> None:
        if not on:
            return
        self.party.setEnabled(self.rb_party.isChecked())
        for d in (self.date_from, self.date_to):
            d.setEnabled(self.rb_dates.isChecked())
        self._suggest_name()

    def _suggest_name(self, label: str = "") -> None:
        day = dt.date.today().isoformat()
        if self.rb_shipment.isChecked():
            base = f"packet-{_safe(label or 'shipments')}-{day}"
        elif self.rb_party.isChecked():
            base = f"packet-party-{day}"
        else:
            base = (f"packet-{self.date_from.date().toString('yyyy-MM-dd')}-to-"
                    f"{self.date_to.date().toString('yyyy-MM-dd')}")
        self.name.setText(base)

    def _choose_folder(self) -> None:
        d = existing_directory(self, "Folder for the packet", self.folder.text())
        if d:
            self.folder.setText(d)

    def scope(self) -> dict[str, Any]:
        """The export_packet scope the inputs describe (ValueError: why not)."""
        if self.rb_shipment.isChecked():
            return {"shipment_ids": self.shipment_ids}
        if self.rb_party.isChecked():
            pid = self.party.value()
            if pid is None:
                raise ValueError("choose the party whose shipments go into the packet")
            return {"party_id": pid}
        a = self.date_from.date().toString("yyyy-MM-dd")
        b = self.date_to.date().toString("yyyy-MM-dd")
        if a > b:
            raise ValueError(f"the date range ends ({b}) before it starts ({a})")
        return {"date_from": a, "date_to": b}

    def targets(self) -> tuple[Path, Path | None]:
        """The files to write. An existing packet is never replaced: its
        audit event names its SHA-256, so a second export gets -2, -3, …"""
        folder = Path(self.folder.text().strip() or ".").expanduser()
        if not folder.is_dir():
            raise ValueError(f"the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"the folder {folder} cannot be written to")
        base = _safe(self.name.text().strip())
        xlsx = self.want_xlsx.isChecked()
        for n in range(1, 1000):
            stem = base if n == 1 else f"{base}-{n}"
            pdf, book = folder / f"{stem}.pdf", folder / f"{stem}.xlsx"
            if not pdf.exists() and not (xlsx and (book.exists() or
                                                   Path(f"{book}.sha256").exists())):
                return pdf, (book if xlsx else None)
        raise ValueError(f"too many packets named {base} in {folder}; choose another name")

    # -- export ---------------------------------------------------------------------------
    def export(self) -> None:
        """Write the packet on the worker thread, then preview the PDF."""
        try:
            scope = self.scope()
            pdf, xlsx = self.targets()
        except ValueError as e:
            self.banner.say(f"Not exported: {e}.", "bad")
            return
        wb = self.wb
        self.busy = True
        self.export_btn.setEnabled(False)
        self.close_btn.setEnabled(False)
        self.banner.say("Exporting…", "warn")

        def failed(exc: BaseException) -> None:
            self._idle()
            self.banner.say(f"Not exported: {error_text(exc)}", "bad")

        run_unlocked(self.ops, self, wb.store,
                     lambda t: export_packet(wb, pdf=pdf, xlsx=xlsx, progress=t.progress,
                                             **scope),
                     success=self._done, failure=failed,
                     progress="Writing and signing the audit packet…")

    def _idle(self) -> None:
        self.busy = False
        self.export_btn.setEnabled(True)
        self.close_btn.setEnabled(True)

    def reject(self) -> None:  # Esc and the window's close button
        if not self.busy:  # an export in flight finishes and shows its result first
            super().reject()

    def accept(self) -> None:
        if not self.busy:
            super().accept()

    def _done(self, res: ExportResult) -> None:
        self._idle()
        self.result = res
        p = res.packet
        self.doc.load(str(res.pdf))
        n = len(p.scope["shipments"])
        self.banner.say(f"Packet {p.packet_id} written and signed: {n} shipment(s), "
                        f"{self.doc.pageCount()} pages. The export is in the audit log.", "ok")
        lines = [f"PDF: {res.pdf}"]
        if res.xlsx:
            lines.append(f"Workbook: {res.xlsx} (+ .sha256)")
        lines.append(f"Manifest SHA-256 {res.manifest_sha256} · audit chain head "
                     f"{p.chain_head[:16]}… · certificate SHA-256 {res.cert_fingerprint}")
        if res.key_created:
            lines.append("A new organisation signing key was made for this database. Give "
                         "auditors its certificate (workbench packet cert OUT.pem).")
        lines += res.warnings
        self.details.setText("\n".join(lines))
        self.exported.emit(res)
