"""Named failures of the domain core.

Each carries a message written for the officer, not the developer: the CLI
prints it as one line, the UI shows it in a dialog or beside a field.
"""

from __future__ import annotations

from dataclasses import dataclass


class WorkbenchError(Exception):
    """Base of every error the core raises on purpose."""


class StoreError(WorkbenchError):
    """The database file cannot be opened, migrated or written."""


class NewerDatabaseError(StoreError):
    """The file was written by a newer version of the workbench."""


class PermissionDenied(WorkbenchError):
    """The signed-in user's role does not allow this action."""


class SignInRequired(PermissionDenied):
    """A change was attempted with nobody signed in while the database has
    users: every change must carry a person's name."""


class AuthenticationError(WorkbenchError):
    """Unknown user or wrong password (deliberately not saying which)."""


class NotFound(WorkbenchError):
    """A record that was asked for does not exist."""


class ConflictError(WorkbenchError):
    """The record changed since it was read (another window or process)."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field: `field` is a path such as
    ``addresses[0].country`` so a form can put the message beside the input."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationError(WorkbenchError):
    """One or more fields of a record are invalid; nothing was written."""

    def __init__(self, errors: list[FieldError] | FieldError):
        if isinstance(errors, FieldError):
            errors = [errors]
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors))

    def for_field(self, field: str) -> list[str]:
        return [e.message for e in self.errors if e.field == field]
