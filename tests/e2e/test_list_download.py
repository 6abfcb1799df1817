"""'Download latest' against a local HTTP server (never the internet)."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from workbench.bootstrap import open_workbench
from workbench.screening import download
from workbench.screening.lists import Cancelled
from workbench.screening.snapshots import DuplicateSnapshot

CSL = Path(__file__).resolve().parents[1] / "data" / "lists" / "csl_samples" / "csl_2019_115rows.csv"


class _Handler(http.server.BaseHTTPRequestHandler):
    body = CSL.read_bytes()

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/consolidated.csv"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        elif self.path.startswith("/short.csv"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body[:1000])  # the connection drops mid-file
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture()
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def wb(tmp_path: Path):
    w = open_workbench(tmp_path / "wb.db", demo=True)
    w.login("olivia", "demo-password")
    yield w
    w.close()


def _snaps(wb) -> int:
    return wb.store.scalar("select count(*) from list_snapshot")


def test_download_imports_with_progress_and_leaves_no_files(wb, server, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    download.set_csl_url(wb, f"{server}/consolidated.csv")
    ch = download.download_latest(wb, progress=lambda d, t: seen.append((d, t)))
    assert ch.record["file"] == "consolidated.csv" and ch.record["entries"] == 115
    assert seen and seen[-1][0] == seen[-1][1] == CSL.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".download")) == []
    with pytest.raises(DuplicateSnapshot):
        download.download_latest(wb)


def test_broken_download_404_offline_and_cancel_leave_nothing(wb, server) -> None:
    before = _snaps(wb)
    with pytest.raises(download.OfflineError, match="stopped after"):
        download.download_latest(wb, url=f"{server}/short.csv", timeout=5)
    with pytest.raises(Exception, match="404"):
        download.download_latest(wb, url=f"{server}/missing.csv")
    with pytest.raises(Cancelled):
        download.download_latest(wb, url=f"{server}/consolidated.csv", cancel=lambda: True)
    # a port nobody listens on: the officer is told to import a file instead
    with pytest.raises(download.OfflineError, match="import the file instead"):
        download.download_latest(wb, url="http://127.0.0.1:9/consolidated.csv", timeout=2)
    assert _snaps(wb) == before


def test_bad_url_setting_refused(wb) -> None:
    with pytest.raises(Exception, match="not a web address"):
        download.set_csl_url(wb, "file:///etc/passwd")
