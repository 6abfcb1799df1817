"""Local users, roles and password hashing.

Passwords are hashed with scrypt (standard library, memory-hard): 16 MiB and
about 50 ms per check on this class of machine, so guessing offline is slow
while a login still feels instant. The parameters travel inside the stored
string so they can be raised later without breaking old hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from workbench.errors import AuthenticationError, FieldError, PermissionDenied, ValidationError
from workbench.db.store import Store

ROLES = ("officer", "approver", "auditor", "admin")
ROLE_LABELS = {
    "officer": "Compliance officer",
    "approver": "Approver (second signer)",
    "auditor": "Auditor (read-only)",
    "admin": "Administrator",
}
# Roles that may change domain records; the auditor only reads.
WRITER_ROLES = frozenset({"officer", "approver", "admin"})
MIN_PASSWORD = 8
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    display_name: str = ""

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES


# The identity recorded for events the system itself makes (schema set-up,
# demo data) before any person exists.
SYSTEM = User(0, "system", "admin", "Workbench")


def hash_password(password: str) -> str:
    """scrypt hash as ``scrypt$n$r$p$salt$digest`` (base64). Pure, ~50 ms."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R,
                            p=_P, maxmem=64 * 1024 * 1024, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${_N}${_R}${_P}${b64(salt)}${b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash. Pure."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"),
                             salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=256 * 1024 * 1024,
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def validate_new_user(username: str, password: str, role: str) -> None:
    errors = []
    u = (username or "").strip()
    if not u:
        errors.append(FieldError("username", "a user name is required"))
    elif len(u) > 64 or any(c.isspace() for c in u):
        errors.append(FieldError("username",
                                 "use up to 64 characters without spaces"))
    if role not in ROLES:
        errors.append(FieldError("role", f"must be one of {', '.join(ROLES)}"))
    if len(password or "") < MIN_PASSWORD:
        errors.append(FieldError(
            "password", f"at least {MIN_PASSWORD} characters, please"))
    if errors:
        raise ValidationError(errors)


def count(store: Store) -> int:
    return store.scalar("select count(*) from user") or 0


def get(store: Store, username: str) -> User | None:
    row = store.one("select * from user where username = ?", (username,))
    if row is None:
        return None
    return User(row["id"], row["username"], row["role"], row["display_name"])


def list_users(store: Store) -> list[dict]:
    return [dict(r) for r in store.all(
        "select id, username, display_name, role, active, created_at from user"
        " order by username")]


def possible_approvers(store: Store, asker: User) -> list[str]:
    """User names that could be the second person for `asker`
    (:func:`second_person`): active approvers other than `asker`. Read-only."""
    return [u["username"] for u in list_users(store)
            if u["role"] == "approver" and u["active"]
            and u["username"].casefold() != asker.username.casefold()]


def authenticate(store: Store, username: str, password: str) -> User:
    """Return the user for a correct, active login, else AuthenticationError.

    Read-only. Does the scrypt work even for an unknown name so timing does
    not tell which names exist.
    """
    row = store.one("select * from user where username = ?",
                    ((username or "").strip(),))
    stored = row["password_hash"] if row else hash_password("x" * 12)
    ok = check_password(password or "", stored)
    if row is None or not ok or not row["active"]:
        raise AuthenticationError("unknown user name or wrong password")
    return User(row["id"], row["username"], row["role"], row["display_name"])


def second_person(store: Store, asker: User, approver: str, password: str, what: str) -> User:
    """The approver of a four-eyes action: a different, active user with the
    approver role whose password is right. Read-only; raises
    AuthenticationError or PermissionDenied (naming `what`) otherwise."""
    appr = authenticate(store, approver, password)
    if appr.username.casefold() == asker.username.casefold():
        raise PermissionDenied(f"four eyes: the approver must be a different person from "
                               f"{asker.username}, who asks for {what}")
    if appr.role != "approver":
        raise PermissionDenied(f"{appr.username} ({ROLE_LABELS.get(appr.role, appr.role)}) "
                               f"cannot approve {what}; it needs a user with the approver role")
    return appr
