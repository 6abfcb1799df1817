"""Issue 13: one signing key per database, always encrypted, never another
database's.

- no passphrase anywhere (no variable, no terminal, no keyring): the key is
  not made, in one line, and nothing is written;
- a key an older version left unencrypted is encrypted at the next use that
  has a passphrase;
- where the machine has a keyring, a random passphrase is kept there;
- a key folder copied from another database is refused before signing, and
  `check` names it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from tests.e2e.test_cli import run
from workbench.app import Workbench
from workbench.packets import anchors, signing

PW = "demo-password"
NOPASS = {"WORKBENCH_SIGNING_PASSPHRASE": ""}


def _export(db: Path, out: Path, env: dict[str, str] | None = None):
    return run(db, "packet", "export", "--shipment", "SO-2026-0010", "--pdf", str(out),
               user="olivia", password=PW, env=env)


def _key(db: Path) -> Path:
    return db.parent / f"{db.name}.keys" / signing.KEY_FILE


def test_no_passphrase_no_key(demo_db: Path, tmp_path: Path) -> None:
    events = Workbench.open(demo_db).store.scalar("select count(*) from audit_event")
    r = _export(demo_db, tmp_path / "p.pdf", NOPASS)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "must be protected by a passphrase" in r.stderr
    assert not _key(demo_db).exists() and not (tmp_path / "p.pdf").exists()
    assert Workbench.open(demo_db).store.scalar("select count(*) from audit_event") == events
    r = run(demo_db, "audit", "anchor", str(tmp_path / "a.json"), env=NOPASS)
    assert r.returncode != 0 and "must be protected by a passphrase" in r.stderr


def test_a_legacy_unencrypted_key_is_encrypted_at_next_use(demo_db: Path,
                                                           tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # what an older version left: an unencrypted key (made here with a cert)
    assert _export(demo_db, tmp_path / "first.pdf").returncode == 0
    k = _key(demo_db)
    priv = serialization.load_pem_private_key(
        k.read_bytes(), password=b"test-suite passphrase")
    k.write_bytes(priv.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    assert isinstance(priv, rsa.RSAPrivateKey)
    r = _export(demo_db, tmp_path / "old.pdf", NOPASS)  # no passphrase: signs, and warns
    assert r.returncode == 0 and "WITHOUT a passphrase" in r.stderr
    r = _export(demo_db, tmp_path / "new.pdf", {"WORKBENCH_SIGNING_PASSPHRASE": "now set"})
    assert r.returncode == 0 and "it is now encrypted" in r.stderr
    assert b"ENCRYPTED" in k.read_bytes()[:64]
    assert _export(demo_db, tmp_path / "x.pdf", NOPASS).returncode != 0  # locked now
    r = _export(demo_db, tmp_path / "y.pdf", {"WORKBENCH_SIGNING_PASSPHRASE": "wrong"})
    assert r.returncode != 0 and "passphrase of the packet signing key" in r.stderr
    assert run(demo_db, "packet", "verify", str(tmp_path / "new.pdf")).returncode == 0


def test_another_databases_key_folder_is_refused(demo_db: Path, tmp_path: Path) -> None:
    other = tmp_path / "beta" / "beta.db"
    other.parent.mkdir()
    shutil.copy(demo_db, other)
    assert _export(demo_db, tmp_path / "alpha.pdf").returncode == 0
    assert _export(other, tmp_path / "beta.pdf").returncode == 0
    # Beta's key folder replaced by Alpha's
    bkeys = other.parent / f"{other.name}.keys"
    shutil.rmtree(bkeys)
    shutil.copytree(demo_db.parent / f"{demo_db.name}.keys", bkeys)
    r = _export(other, tmp_path / "forged.pdf")
    assert r.returncode != 0 and "is not the one this database signs with" in r.stderr
    assert not (tmp_path / "forged.pdf").exists()
    r = run(other, "check")
    assert r.returncode == 1 and "the key folder was replaced outside the workbench" in r.stdout
    assert run(demo_db, "check").returncode == 0


class _MemoryKeyring(KeyringBackend):
    priority = 10

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.kept.pop((service, username), None)


def test_the_os_keyring_keeps_a_random_passphrase(demo_db: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(signing.PASSPHRASE_ENV, raising=False)
    ring = _MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    try:
        wb = Workbench.open(demo_db)
        wb.login("olivia", PW)
        path, _a, warnings = anchors.make_and_record(wb, tmp_path / "a.json", kind="by hand")
        assert not warnings and len(ring.kept) == 1
        (service, user), secret = next(iter(ring.kept.items()))
        assert service == signing.KEYRING_SERVICE and user.endswith("demo.db.keys")
        assert len(secret) >= 40 and b"ENCRYPTED" in _key(demo_db).read_bytes()[:64]
        wb.close()
        # a new session: nothing typed, the keyring unlocks it
        wb = Workbench.open(demo_db)
        assert anchors.database_key(wb.store).passphrase == secret.encode()
        wb.close()
    finally:
        keyring.set_keyring(previous)
    # without the keyring, and nobody to ask, it stays locked
    wb = Workbench.open(demo_db)
    with pytest.raises(signing.KeyLocked):
        anchors.database_key(wb.store)
    wb.close()
