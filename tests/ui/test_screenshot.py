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
