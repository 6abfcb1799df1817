"""The Checklists page and run form (pytest-qt, offscreen, one demo database per test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from tests.ui.file_dialogs import choose_in_file_dialog
from workbench.bootstrap import open_workbench
from workbench.checklists import runs as cs
from workbench.demo import DEMO_PASSWORD

from modeltest import model_tester
from ui.pages.checklists import ChecklistsPage
from ui.panels.checklist_run import RunForm
from ui.panels.checklist_questions import YesNoField
from ui.kit.ops import Ops

PARTY = "Cascade Research Computing Inc."


def _wb(path: Path, user: str):
    wb = open_workbench(path, demo=True)
    wb.login(user, DEMO_PASSWORD)
    return wb


@pytest.fixture
def db(tmp_path: Path) -> Path:
    p = tmp_path / "wb.db"
    _wb(p, "owner").close()
    return p


@pytest.fixture
def make_page(qtbot, db):
    """``make_page(user)``: the page signed in as that demo user, with its ops."""
    made = []

    def make(user: str = "olivia") -> ChecklistsPage:
        wb = _wb(db, user)
        ops = Ops()
        page = ChecklistsPage(wb, ops)
        qtbot.addWidget(page)
        page.resize(1280, 800)
        page.show()
        qtbot.waitExposed(page)
        made.append((wb, ops))
        return page

    yield make
    for wb, ops in made:
        qtbot.waitUntil(lambda o=ops: o.pending == 0, timeout=20_000)
        ops.shutdown()
        wb.close()


@pytest.fixture
def idle(qtbot):
    def wait(page: ChecklistsPage, timeout: int = 20_000) -> None:
        qtbot.waitUntil(lambda: page.ops.pending == 0, timeout=timeout)
    return wait


@pytest.fixture
def password(monkeypatch):
    """``password.value = "…"``: what the sign-off prompt answers; records prompts."""
    class Pw:
        value: str | None = DEMO_PASSWORD
        asked: list[str] = []
    pw = Pw()
    pw.asked = []

    def get_text(parent, title, label, echo=None, *a, **kw):
        pw.asked.append((title, label, echo))
        return (pw.value or "", pw.value is not None)

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        staticmethod(lambda *a, **kw: ("Resolution is too thin", True)))
    return pw


def _party_id(page: ChecklistsPage) -> int:
    return page.wb.store.scalar("select id from party where legal_name = ?", (PARTY,))


def _start_kyc(qtbot, page: ChecklistsPage, idle) -> RunForm:
    """Start a KYC run through the start dialog for the demo party."""
    dlg = page.new_record()
    assert dlg is not None
    dlg.party.set_value(_party_id(page))
    dlg.load(party_id=_party_id(page))
    idle(page)
    texts = [dlg.list.item(i).text() for i in range(dlg.list.count())]
    kyc = next(i for i, t in enumerate(texts) if t.startswith("★ Know your customer"))
    assert "because" in texts[kyc]  # the core's reason is shown
    dlg.list.setCurrentRow(kyc)
    dlg.accept()
    idle(page)
    assert page.stack.currentWidget() is page.form
    # offscreen, the page's window must be active again for keyboard focus
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.form.rows[0].answer)
    return page.form


def _type_answers(qtbot, form: RunForm, red: set[str] = frozenset()) -> None:
    """Answer every question from the keyboard only: Tab moves on."""
    assert QApplication.focusWidget() is form.rows[0].answer
    for row in form.rows:
        w = QApplication.focusWidget()
        assert w is row.answer, f"focus on {w!r}, expected {row.qid}"
        t = row.q["type"]
        if t == "yes_no":
            flags = row.q["red_flag_answers"]
            want = (flags[0] if row.qid in red else
                    ("no" if "yes" in flags else "yes"))
            qtbot.keyClick(w, {"yes": "y", "no": "n", "not_applicable": "a"}[want])
            assert row.answer.value() == want
        elif t == "choice":
            opts = row.q["options"]
            ok = [o for o in opts if o not in row.q["red_flag_answers"]]
            qtbot.keyClicks(w, ok[0][:4])
            assert row.answer.value() == ok[0]
        elif t == "date":
            qtbot.keyClicks(w, "2026-01-15")
        else:
            qtbot.keyClicks(w, "Checked by phone and web search")
        if row.is_red():
            qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
            assert QApplication.focusWidget() is row.resolution
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is row.note
        qtbot.keyClick(row.note, Qt.Key.Key_Tab)


def _save(qtbot, form: RunForm, idle, page) -> None:
    qtbot.keyClick(QApplication.focusWidget() or form, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier)
    idle(page)


def _drop(form: RunForm, row, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    form.scroll.ensureWidgetVisible(row)
    pos = row.mapTo(form, row.rect().center())
    # what a desktop drag delivers: enter, move, then the drop
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(form, enter)
    ev = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(form, ev)


# -- tests --------------------------------------------------------------------------------

def test_kyc_run_from_the_keyboard_red_flag_evidence_signoff_and_approval(
        qtbot, make_page, idle, password, tmp_path):
    page = make_page("olivia")
    form = _start_kyc(qtbot, page, idle)
    assert form.run["template"]["id"] == "kyc-red-flags"
    assert form.run["target"]["label"] == PARTY
    _type_answers(qtbot, form, red={"reluctant_end_use"})
    red_row = form.row("reluctant_end_use")
    assert red_row.is_red() and red_row.resolution.isVisible()

    # a red-flag answer without a resolution is refused inline; the rest are saved
    _save(qtbot, form, idle, page)
    assert red_row.error.isVisible() and "resolved" in red_row.error.text()
    run = cs.get_run(page.wb.store, form.run_id)
    answered = {q["id"] for q in run["questions"] if q["answer"]}
    assert "reluctant_end_use" not in answered
    assert len(answered) == len(run["questions"]) - 1
    assert red_row.answer.value() == "yes"  # what was typed is kept
    assert QApplication.focusWidget() is red_row.resolution

    qtbot.keyClicks(red_row.resolution, "Buyer later gave the end use in writing")
    _save(qtbot, form, idle, page)
    assert not red_row.error.isVisible()
    run = cs.get_run(page.wb.store, form.run_id)
    a = next(q for q in run["questions"] if q["id"] == "reluctant_end_use")["answer"]
    assert a["red_flag"] and a["resolution"].startswith("Buyer later")

    # sign-off is refused until the evidence a question requires is attached
    form.sign_off()
    idle(page)
    assert "identity_verified" in run["problems"][0]
    id_row = form.row("identity_verified")
    assert id_row.error.isVisible() and "evidence required" in id_row.error.text().lower()
    assert form.run["status"] == "in_progress"

    # evidence dropped onto the question is stored and listed with its hash
    f = tmp_path / "registry-extract.pdf"
    f.write_bytes(b"%PDF-1.4 company registry extract\n")
    _drop(form, id_row, f)
    idle(page)
    shown = " ".join(id_row.evidence_text())
    e = id_row.evidence[0]
    assert "registry-extract.pdf" in shown and e["sha256"][:12] in shown
    assert e["mime"] == "application/pdf"

    # "Open" writes the read-only copy and hands it to the desktop
    opened: list[QUrl] = []
    import ui.panels.checklist_evidence as mod
    qtbot_patch = pytest.MonkeyPatch()
    qtbot_patch.setattr(mod.QDesktopServices, "openUrl", staticmethod(opened.append))
    try:
        form.open_evidence(e["id"])
        idle(page)
    finally:
        qtbot_patch.undo()
    p = Path(opened[0].toLocalFile())
    assert p.read_bytes().startswith(b"%PDF") and not p.stat().st_mode & 0o222

    # olivia signs: red flags → waiting for approval
    form.sign_off()
    idle(page)
    assert password.asked and password.asked[-1][2] == QLineEdit.EchoMode.Password
    assert form.run["status"] == "awaiting_approval"
    assert page.models["awaiting_approval"].rowCount() == 1
    run_id = form.run_id

    # arthur: a wrong password is refused in words; the right one approves and locks
    page2 = make_page("arthur")
    assert page2.models["awaiting_approval"].rowCount() == 1
    assert page2.tabs.currentIndex() == 1  # an approver lands on the waiting runs
    page2.tables["awaiting_approval"].setCurrentIndex(
        page2.models["awaiting_approval"].index(0, 0))
    page2.open_current()
    f2 = page2.form
    assert f2.run_id == run_id and f2.sign_btn.text() == "Approve…"
    password.value = "not-my-password"
    f2.sign_off()
    idle(page2)
    assert "Wrong password" in f2.banner.text() and f2.run["status"] == "awaiting_approval"
    password.value = DEMO_PASSWORD
    f2.sign_off()
    idle(page2)
    assert f2.run["status"] == "completed"
    assert f2.read_only and not any(r.editable() for r in f2.rows)
    assert f2.rows[1].note.isReadOnly() and not f2.save_btn.isVisible()
    assert f2.revise_btn.isVisible()
    assert "Approved" in f2.signoffs.text() and "arthur" in f2.signoffs.text()
    assert page2.models["completed"].rowCount() == 1
    # a drop on a locked run is ignored
    _drop(f2, f2.rows[0], f)
    idle(page2)
    assert len(cs.get_run(page2.wb.store, run_id)["questions"][0]["answer"]["evidence"]) == 1

    # Revise starts a new, editable revision with the answers copied
    f2.revise()
    idle(page2)
    assert f2.run["revision"] == 2 and not f2.read_only
    assert f2.row("reluctant_end_use").answer.value() == "yes"


def test_four_eyes_refusal_is_shown_in_words(qtbot, make_page, idle, password):
    page = make_page("arthur")
    wb = page.wb
    pid = _party_id(page)
    rid = cs.start_run(wb, "ownership-headquarters", party_id=pid).id
    for q in cs.get_template(wb.store, "ownership-headquarters").questions:
        val = "yes" if q["id"] == "hq_d5_macau" else ("no" if q["type"] == "yes_no" else "x")
        if q["id"] in ("ownership_chain_documented", "owners_screened"):
            val = "yes"
        cs.answer(wb, rid, q["id"], val, resolution="checked" if q["id"] == "hq_d5_macau"
                  else None)
    page.refresh()
    form = page.open_run(rid)
    # evidence is required for one question: attach it through the core
    f = Path(page.wb.store.path).parent / "chain.txt"
    f.write_text("ownership chain")
    form.attach_files("ownership_chain_documented", [str(f)])
    idle(page)
    form.sign_off()
    idle(page)
    assert "four eyes" in form.banner.text()
    assert form.run["status"] == "in_progress"


def test_auditor_reads_only(qtbot, make_page, idle, password, db):
    wb = _wb(db, "olivia")
    pid = wb.store.scalar("select id from party where legal_name = ?", (PARTY,))
    rid = cs.start_run(wb, "kyc-red-flags", party_id=pid).id
    cs.answer(wb, rid, "identity_verified", "yes", note="passport seen")
    wb.close()
    page = make_page("audrey")
    assert not page.start_btn.isEnabled() and page.new_record() is None
    assert "auditor" in page.banner.text()
    assert page.models["in_progress"].rowCount() == 1
    page.tables["in_progress"].setCurrentIndex(page.models["in_progress"].index(0, 0))
    page.open_current()
    form = page.form
    assert form.read_only
    assert all(not r.editable() and r.note.isReadOnly() for r in form.rows)
    assert not form.sign_btn.isVisible() and not form.save_btn.isVisible()
    assert form.rows[0].note.text() == "passport seen"
    assert form.save() is False
    assert form.attach_files("identity_verified", [__file__]) is False
    form.sign_off()
    idle(page)
    assert password.asked == []


def test_models_pass_the_model_tester(qtbot, make_page, idle, db):
    wb = _wb(db, "olivia")
    pid = wb.store.scalar("select id from party where legal_name = ?", (PARTY,))
    cs.start_run(wb, "kyc-red-flags", party_id=pid)
    cs.start_run(wb, "ownership-headquarters", party_id=pid)
    wb.close()
    page = make_page("olivia")
    for key, m in page.models.items():
        model_tester(m)
    page.refresh()
    page.search.setText("ownership")
    assert page.models["in_progress"].rowCount() == 1
    page.search.setText("")
    m = page.models["in_progress"]
    assert m.rowCount() == 2
    m.sort(0, Qt.SortOrder.AscendingOrder)
    m.sort(1, Qt.SortOrder.DescendingOrder)


def test_yes_no_field_keys(qtbot):
    w = YesNoField()
    qtbot.addWidget(w)
    seen = []
    w.changed.connect(lambda: seen.append(w.value()))
    qtbot.keyClick(w, Qt.Key.Key_N)
    qtbot.keyClick(w, Qt.Key.Key_3)
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert seen == ["no", "not_applicable", "yes"]
    w.set_value(None)
    assert w.value() == ""


def test_window_shows_the_page_and_ctrl_f(qtbot, window):
    page = window.show_page("checklists")
    assert isinstance(page, ChecklistsPage)
    window.find_action.trigger()
    assert QApplication.focusWidget() is page.search


CUSTOM = (Path(__file__).parents[1] / "data" / "checklists" / "custom-check.yaml").read_bytes()


def test_custom_template_from_the_page(qtbot, make_page, idle, tmp_path, monkeypatch):
    page = make_page("olivia")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(CUSTOM.replace(b"type: yes_no", b"type: 7"))
    page.add_template_file(bad)
    idle(page)
    assert "bad.yaml, line 10" in page.banner.text()
    assert "custom-check" not in [t.id for t in cs.list_templates(page.wb.store)]
    good = tmp_path / "mine.yaml"
    good.write_bytes(CUSTOM)
    choose_in_file_dialog(monkeypatch, str(good))
    page.template_btn.click()
    idle(page)
    assert "Added checklist template “A custom check”" in page.banner.text()
    assert "custom-check" in [t.id for t in cs.list_templates(page.wb.store)]
    page.add_template_file(good)
    idle(page)
    assert "already stored" in page.banner.text()
    auditor = make_page("audrey")
    assert not auditor.template_btn.isEnabled()
