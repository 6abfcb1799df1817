"""The packet as a PDF (reportlab platypus), unsigned.

Landscape A4: a cover page (exporter, scope, generated at and by, packet id,
manifest hash, audit chain head), a table of contents that is also the PDF
outline (bookmarks), then one section per packet section as a table that
repeats its header row. Every page but the cover has a header (exporter,
scope, packet id) and a footer (page number, manifest hash).

Fonts are shipped in ``resources/fonts`` and embedded (subset): DejaVu Sans
for Latin, Cyrillic, Greek and Arabic, Droid Sans Fallback for Chinese,
Japanese and Korean. Text is split into runs and each run gets the first
font that has glyphs for it, because neither font covers everything.
Arabic is drawn in logical order without contextual shaping (reportlab has no
shaper): the right letters, isolated forms. User text is always escaped
(never read as reportlab markup) and long words are split so no cell can push
a table off the page.

Attachments (the evidence files, the manifest and the section data) are added
by :mod:`.signing` in the same incremental update that signs the file.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import threading
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape

from workbench.packets.model import Packet, Section, manifest_sha256

FONT = "ECW-Sans"
FONT_BOLD = "ECW-Sans-Bold"
FONT_CJK = "ECW-CJK"
_FONT_FILES = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf",
               FONT_CJK: "DroidSansFallbackFull.ttf"}
_cmaps: dict[str, set[int]] = {}
_font_lock = threading.Lock()
# Tables set a cell font on the canvas even when cells hold Paragraphs; left
# at reportlab's default that is an unembedded Helvetica (pdffonts: emb no).
_TABLE_FONT = ("FONTNAME", (0, 0), (-1, -1), "ECW-Sans")
_MAX_CELL = 1500  # characters per table cell; the rest is in the workbook / packet.json


def fonts_dir() -> Path:
    from workbench.rules.pack import resources_root

    return resources_root() / "fonts"


def register_fonts() -> None:
    """Register the shipped TTF fonts with reportlab once per process.

    Side effects: reportlab's global font registry. Threading: safe (a lock
    around the first registration).
    """
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if len(_cmaps) == len(_FONT_FILES):
        return
    with _font_lock:  # a second thread must not see a half-filled _cmaps
        if len(_cmaps) == len(_FONT_FILES):
            return
        maps = {}
        for name, file in _FONT_FILES.items():
            f = TTFont(name, str(fonts_dir() / file))
            pdfmetrics.registerFont(f)
            maps[name] = set(f.face.charToGlyph)
        # <b> inside a Paragraph in FONT switches to FONT_BOLD.
        addMapping(FONT, 0, 0, FONT)
        addMapping(FONT, 1, 0, FONT_BOLD)
        addMapping(FONT, 0, 1, FONT)
        addMapping(FONT, 1, 1, FONT_BOLD)
        addMapping(FONT_CJK, 1, 0, FONT_CJK)
        addMapping(FONT_CJK, 0, 0, FONT_CJK)
        _cmaps.update(maps)  # last: a non-empty _cmaps means ready


def font_for(ch: str) -> str:
    """The first shipped font with a glyph for `ch` (DejaVu, else CJK)."""
    cp = ord(ch)
    if cp in _cmaps[FONT] or ch in " \n\t":
        return FONT
    if cp in _cmaps[FONT_CJK]:
        return FONT_CJK
    return FONT  # no font has it: DejaVu's .notdef box shows something is there


def rich(value: Any, *, limit: int = _MAX_CELL) -> str:
    """User text as safe Paragraph markup: escaped, font runs by script,
    newlines as line breaks. Pure apart from the (registered) font tables."""
    register_fonts()
    s = _plain(value)
    if len(s) > limit:
        s = s[:limit] + f"… [{len(s) - limit} more characters in the workbook]"
    s = visual_order(s)
    out: list[str] = []
    run, cur = [], FONT
    for ch in s:
        f = font_for(ch)
        if f != cur and run:
            out.append(_run("".join(run), cur))
            run = []
        cur = f
        run.append(ch)
    if run:
        out.append(_run("".join(run), cur))
    return "".join(out)


def _is_rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def visual_order(s: str) -> str:
    """Reverse each right-to-left stretch (Arabic, Hebrew words and the
    spaces between them) so it reads correctly when drawn left to right.

    A minimal bidi: reportlab lays text out left to right and has no shaper,
    so without this an Arabic name would show its letters in reverse order.
    Digits and Latin inside the stretch end it (they stay left to right).
    """
    if not any(_is_rtl(ch) for ch in s):
        return s
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if not _is_rtl(s[i]):
            out.append(s[i])
            i += 1
            continue
        j = i
        end = i
        while j < n and (_is_rtl(s[j]) or unicodedata.bidirectional(s[j]) in
                         ("WS", "NSM", "ON", "CS")):
            if _is_rtl(s[j]) or unicodedata.bidirectional(s[j]) == "NSM":
                end = j + 1
            j += 1
        out.append(s[i:end][::-1])
        i = end
    return "".join(out)


def _run(text: str, font: str) -> str:
    t = escape(text).replace("\n", "<br/>")
    return t if font == FONT else f'<font name="{font}">{t}</font>'


def _plain(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4f}".rstrip("0").rstrip(".")
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return str(v)


def _cell(v: Any, fits: int, style: Any) -> Any:
    """A table cell: short single-line text in the main font as a plain
    string (never parsed as markup, and ten times lighter than a Paragraph,
    which keeps a year's packet in bounded memory), anything else as an
    escaped, wrapping Paragraph."""
    from reportlab.platypus import Paragraph

    s = _plain(v)
    if len(s) <= fits and "\n" not in s and all(font_for(ch) == FONT and not _is_rtl(ch)
                                                  for ch in s):
        return s
    return Paragraph(rich(v), style)


def _money_text(v: Any) -> str:
    """Money with its minor units shown (6,500.00), as an auditor expects."""
    if isinstance(v, (Decimal, int, float)) and not isinstance(v, bool):
        d = Decimal(str(v))
        exp = d.as_tuple().exponent  # money_to_major keeps the currency's minor units
        places = -exp if isinstance(exp, int) and exp < 0 else 0
        return f"{d:,.{places}f}"
    return _plain(v)


def _styles() -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=11.5,
                          splitLongWords=1, wordWrap=None)
    return {
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=6.8, leading=8.2),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=6.8,
                               leading=8.2, textColor=colors.white),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=14, leading=18,
                             spaceBefore=4, spaceAfter=6),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=22,
                                leading=28, spaceAfter=14),
        "note": ParagraphStyle("note", parent=base, fontSize=8.5, leading=11,
                               textColor=colors.HexColor("#444444"), spaceAfter=6),
        "toc": ParagraphStyle("toc", parent=base, fontSize=10, leading=15),
        "kv": ParagraphStyle("kv", parent=base, fontSize=9.5, leading=12.5),
    }


def _widths(section: Section, total: float) -> list[float]:
    """Column widths: first every column gets room for its longest header
    word in bold 6.8 pt ("Decision" must not wrap as "Decisi / on"), then
    the rest is shared by content length (capped, so one long column cannot
    starve the others)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    floors = [max(stringWidth(w, FONT_BOLD, 6.8) for w in (c.name.split() or [""])) + 6
              for c in section.columns]
    weights = []
    for i, c in enumerate(section.columns):
        longest = max([len(c.name) * 0.5] + [min(len(_plain(r[i])), 60)
                                              for r in section.rows[:200]])
        weights.append(min(max(longest, 3), 45))
    spare = max(total - sum(floors), 0)
    k = spare / (sum(weights) or 1)
    out = [f + w * k for f, w in zip(floors, weights)]
    scale = total / sum(out)
    return [w * scale for w in out]


def build_pdf(packet: Packet, manifest: dict[str, Any] | None = None) -> bytes:
    """Render the packet (unsigned) and return the PDF bytes.

    Side effects: registers fonts (once). Threading: any thread; reportlab's
    font registry is the only shared state.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Frame, PageBreak, PageTemplate,
                                    Paragraph, Spacer, Table, TableStyle)
    from reportlab.platypus.tableofcontents import TableOfContents

    register_fonts()
    manifest = manifest or packet.manifest()
    mhash = manifest_sha256(manifest)
    st = _styles()
    page = landscape(A4)
    margin = 14 * mm
    width = page[0] - 2 * margin
    scope = packet.scope.get("label") or ""

    class Doc(BaseDocTemplate):
        def afterFlowable(self, flowable: Any) -> None:
            # Each section heading becomes a TOC line and a PDF outline entry.
            if isinstance(flowable, Paragraph) and flowable.style.name == "h1":
                key = getattr(flowable, "_bookmark", None)
                if key:
                    text = flowable.getPlainText()
                    self.canv.bookmarkPage(key)
                    self.canv.addOutlineEntry(text, key, level=0, closed=False)
                    self.notify("TOCEntry", (0, text, self.page, key))

    def header_footer(canv: Any, doc: Any) -> None:
        canv.saveState()
        canv.setFont(FONT, 7.5)
        canv.setFillColor(colors.HexColor("#555555"))
        top = page[1] - 8 * mm
        canv.drawString(margin, top, f"{packet.exporter} — audit packet — {scope}"[:150])
        canv.drawRightString(page[0] - margin, top, f"Packet {packet.packet_id}")
        canv.line(margin, top - 2, page[0] - margin, top - 2)
        canv.drawString(margin, 7 * mm, f"Manifest SHA-256 {mhash}")
        canv.drawRightString(page[0] - margin, 7 * mm, f"Page {doc.page}")
        canv.restoreState()

    def cover_footer(canv: Any, doc: Any) -> None:
        canv.saveState()
        canv.setFont(FONT, 7.5)
        canv.drawRightString(page[0] - margin, 7 * mm, f"Page {doc.page}")
        canv.restoreState()

    buf = io.BytesIO()
    doc = Doc(buf, pagesize=page, leftMargin=margin, rightMargin=margin,
              topMargin=14 * mm, bottomMargin=13 * mm,
              title=f"Audit packet — {scope}", author=f"{packet.exporter} "
              f"({packet.generated_by})", subject=f"Export compliance audit packet "
              f"{packet.packet_id}: {', '.join(packet.scope.get('shipments') or [])}"[:500],
              creator="Export Compliance Workbench", producer="reportlab",
              initialFontName=FONT, initialFontSize=9,
              keywords=f"packet-id={packet.packet_id}; manifest-sha256={mhash}; "
                       f"audit-chain-head={packet.chain_head}", lang="en")
    frame = Frame(margin, doc.bottomMargin, width, page[1] - doc.topMargin - doc.bottomMargin,
                  id="f")
    doc.addPageTemplates([PageTemplate("cover", [frame], onPage=cover_footer),
                          PageTemplate("body", [frame], onPage=header_footer)])

    story: list[Any] = []
    from reportlab.platypus.doctemplate import NextPageTemplate

    # Cover ------------------------------------------------------------------------------
    story.append(Paragraph("Export compliance audit packet", st["title"]))
    kv = [("Exporter", packet.exporter), ("Scope", scope),
          ("Shipments", ", ".join(packet.scope.get("shipments") or [])),
          ("Generated at (UTC)", packet.generated_at), ("Generated by", packet.generated_by),
          ("Packet id", packet.packet_id), ("Manifest SHA-256", mhash),
          ("Audit chain head", packet.chain_head + ("" if packet.chain_ok else
                                                     "  (CHAIN VERIFICATION FAILED)"))]
    t = Table([[Paragraph(f"<b>{escape(k)}</b>", st["kv"]), Paragraph(rich(v), st["kv"])]
               for k, v in kv], colWidths=[55 * mm, width - 55 * mm])
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), _TABLE_FONT,
                           ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb"))]))
    story += [t, Spacer(1, 8 * mm), Paragraph(
        "How to check this packet: the PDF carries a digital signature (PAdES) by the "
        "exporter's organisation key; any change to the file after signing breaks it. The "
        "manifest (attached as manifest.json) holds the SHA-256 of every section's content; "
        "the section data is attached as packet.json and every evidence file is attached "
        "under its evidence number. The Excel workbook of the same packet carries the same "
        "manifest. <i>workbench packet verify FILE</i> checks all of this.", st["note"])]
    story += [NextPageTemplate("body"), PageBreak()]

    # Contents -----------------------------------------------------------------------------
    toc = TableOfContents(tableStyle=TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0), _TABLE_FONT]))
    toc.levelStyles = [st["toc"]]
    toc.dotsMinLevel = 0
    story += [Paragraph("Contents", st["h1"]), toc, PageBreak()]

    # Sections ---------------------------------------------------------------------------
    for n, sec in enumerate(packet.sections, 1):
        # A heading never sits alone at the foot of a page.
        story.append(CondPageBreak(45 * mm))
        h = Paragraph(f"{n}. {escape(sec.title)}", st["h1"])
        h._bookmark = f"sec-{sec.id}"  # type: ignore[attr-defined]
        story.append(h)
        story.append(Paragraph(
            f"{len(sec.rows)} row{'s' if len(sec.rows) != 1 else ''}. Content SHA-256 "
            f"{sec.sha256()}" + (f". {rich(sec.note)}" if sec.note else ""), st["note"]))
        if sec.rows:
            widths = _widths(sec, width)
            # Characters that surely fit on one line of each column at 6.8 pt.
            fits = [int((w - 5) / (6.8 * 0.62)) for w in widths]
            data = [[Paragraph(rich(c.name), st["head"]) for c in sec.columns]]
            for r in sec.rows:
                data.append([_cell(_money_text(v) if c.type == "money" else v, f, st["cell"])
                             for c, v, f in zip(sec.columns, r, fits)])
            tbl = Table(data, colWidths=widths, repeatRows=1)
            tbl.setStyle(TableStyle([_TABLE_FONT, ("FONTSIZE", (0, 1), (-1, -1), 6.8),
                                     ("LEADING", (0, 1), (-1, -1), 8.2),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#2f4858")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f4f5")]),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c8cdd0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
            ]))
            story.append(tbl)
        story.append(Spacer(1, 6 * mm))
    doc.multiBuild(story)
    return buf.getvalue()


def write_unsigned(packet: Packet, path: str | os.PathLike[str]) -> Path:
    """Write the unsigned PDF (for previews). Side effects: writes `path`."""
    p = Path(path)
    p.write_bytes(build_pdf(packet))
    return p
