"""The domain core (workbench/) must never depend on Qt (DESIGN.md, layers).

1. Every module under workbench/ imports in a fresh interpreter in which any
   import of PySide6 / shiboken6 raises ImportError.
2. No file under workbench/ has an `import PySide6` / `from PySide6` statement
   (also caught when it sits inside a function that (1) never runs).
"""

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "workbench"
QT_TOP_LEVEL = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2")

PROBE = textwrap.dedent(
    r"""
    import importlib, importlib.abc, json, pkgutil, sys, traceback

    BLOCKED = ("PySide6", "shiboken6")

    class BlockQt(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in BLOCKED:
                raise ImportError(f"{fullname} is blocked: workbench/ must not import Qt")
            return None

    sys.meta_path.insert(0, BlockQt())
    sys.path.insert(0, sys.argv[1])

    failures, imported = {}, []

    def record(name):
        exc = sys.exc_info()[1]
        qt = False
        while exc is not None:  # did the blocked Qt import cause it?
            qt = qt or "workbench/ must not import Qt" in str(exc)
            exc = exc.__cause__ or exc.__context__
        kind = "imports Qt" if qt else "broken import (not Qt-related)"
        failures[name] = kind + "\n" + traceback.format_exc(limit=-6)

    try:
        import workbench
        imported.append("workbench")
    except BaseException:
        record("workbench")
    else:
        for info in pkgutil.walk_packages(workbench.__path__, "workbench.", onerror=record):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue  # importing it would run the CLI
            try:
                importlib.import_module(info.name)
                imported.append(info.name)
            except BaseException:
                record(info.name)

    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({"imported": imported, "failures": failures, "leaked": leaked}))
    """
)


def test_core_imports_with_qt_unavailable():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"probe crashed (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "workbench" in result["imported"], result["failures"]
    detail = "\n".join(f"--- {name}: {tb}" for name, tb in result["failures"].items())
    assert not result["failures"], f"workbench modules that fail to import with Qt blocked:\n{detail}"
    assert not result["leaked"], f"Qt modules got imported: {result['leaked']}"


_QT_IMPORT_LINE = re.compile(r"^\s*(?:from|import)\s+(?:%s)\b" % "|".join(QT_TOP_LEVEL), re.M)


def _qt_imports(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError:
        return [m.group(0).strip() for m in _QT_IMPORT_LINE.finditer(source)]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name.split(".")[0] in QT_TOP_LEVEL:
                found.append(f"line {node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def test_no_qt_import_statements_in_core():
    assert CORE.is_dir(), f"{CORE} is missing"
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        hits = _qt_imports(path)
        if hits:
            offenders[str(path.relative_to(ROOT))] = hits
    assert not offenders, f"workbench/ must not import Qt: {offenders}"
