"""`python main.py --screenshot` works headless in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_main_screenshot_writes_png(tmp_path):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LANG": "C"}
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--db", str(tmp_path / "s.db"),
         "--screenshot", str(out), "--page", "parties"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_main_screenshot_rejects_unknown_page(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--db", str(tmp_path / "s.db"),
         "--screenshot", str(tmp_path / "x.png"), "--page", "nowhere"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no page" in r.stderr


def _packet_run(tmp_path, passphrase):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("WORKBENCH_SIGNING_PASSPHRASE", None)
    if passphrase:
        env["WORKBENCH_SIGNING_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--db", str(tmp_path / "s.db"),
         "--screenshot", str(tmp_path / "p.png"), "--packet", "SO-2026-0003"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_screenshot_packet_without_passphrase_ends_with_an_error_not_a_hang(tmp_path):
    # CI once waited 90 minutes on the passphrase dialog of the installer smoke run
    r = _packet_run(tmp_path, None)
    assert r.returncode == 1, r.stderr
    assert "Signing key passphrase" in r.stderr and "not exported" in r.stderr
    assert not list(tmp_path.glob("packet-*.pdf"))


def test_screenshot_packet_with_passphrase_exports_and_previews(tmp_path):
    r = _packet_run(tmp_path, "screenshot passphrase")
    assert r.returncode == 0, r.stderr
    assert "asked for an answer" not in r.stderr
    assert len(list(tmp_path.glob("packet-*.pdf"))) == 1
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
