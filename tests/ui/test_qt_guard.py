"""Guards against the PySide6 6.12.0 / CPython 3.11 None-refcount bug.

On 6.12.0 with Python 3.11 every Qt method that returns nothing lowers
None's reference count by one; after a few thousand calls the interpreter
aborts with "Fatal Python error: none_dealloc: deallocating None".
See shared/domain/platform-notes.md. pyproject.toml pins PySide6 < 6.12;
these tests fail if that pin is lifted or the bug returns.
"""

import sys

import pytest

CALLS = 2000  # void Qt calls; a broken build drops None's refcount by ~CALLS


def test_void_calls_keep_none_refcount(qapp):
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    label.setText("warm-up")
    label.show()
    QCoreApplication.processEvents()

    before = sys.getrefcount(None)
    for _ in range(CALLS // 2):
        label.setText("x")  # void: returns None
        label.update()  # void
    QCoreApplication.processEvents()
    after = sys.getrefcount(None)
    label.close()

    # On the broken build the count drops by ~1 per call.
    assert before - after < CALLS // 20, (
        f"sys.getrefcount(None) fell from {before} to {after} over {CALLS} void Qt calls: "
        "this PySide6 build leaks None references and will abort the interpreter"
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal on Python >= 3.12")
def test_pyside6_below_6_12_on_python_3_11():
    import PySide6

    assert tuple(PySide6.__version_info__[:2]) < (6, 12), (
        f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]}: "
        "6.12.0 aborts CPython 3.11 (None refcount bug); keep PySide6 < 6.12"
    )
