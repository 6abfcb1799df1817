"""The PyInstaller bundle runs on its own (installer/smoke.sh).

Runs only when a bundle has been built (``installer/build.sh``); otherwise it
is skipped, so the normal suite does not need PyInstaller. CI builds the
bundle after the suite and runs installer/smoke.sh directly (.ci/run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dist" / "export-compliance-workbench" / "export-compliance-workbench"

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="smoke.sh is Linux-only"),
    pytest.mark.skipif(not APP.exists(), reason="no bundle: run installer/build.sh"),
]


def test_bundle_smoke():
    r = subprocess.run(["bash", str(ROOT / "installer" / "smoke.sh")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout
