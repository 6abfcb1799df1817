"""Suite-wide test setup. Keep it minimal: per-area fixtures live in
tests/unit, tests/ui and tests/e2e conftest files."""

import atexit
import os
import shutil
import tempfile

# Before anything imports Qt: run headless (no X server needed).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Never touch the real user's data: platformdirs (the default database under
# the user data dir) resolves to a throwaway directory for the whole session.
_xdg = tempfile.mkdtemp(prefix="ecw-tests-xdg-")
atexit.register(shutil.rmtree, _xdg, True)
for _var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
    os.environ[_var] = os.path.join(_xdg, _var.lower())

# The packet signing key is always encrypted: the suite gives its passphrase
# the way an unattended run does, and never reaches a real OS keyring (tests
# of the keyring path install their own backend).
os.environ.setdefault("WORKBENCH_SIGNING_PASSPHRASE", "test-suite passphrase")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"

import pytest  # noqa: E402


@pytest.fixture
def tmp_db_path(tmp_path):
    """A path for a fresh database file; the file does not exist yet."""
    return tmp_path / "workbench.db"
