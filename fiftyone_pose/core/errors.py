"""Errors that name the file, the record and the field, so a user can fix their input."""

from __future__ import annotations

import os


class PoseError(Exception):
    """An error the user can fix: a bad input file or a bad request.

    Only these are user errors: the CLI prints them in one line and exits 2. Anything else is a
    bug and shows as one (a traceback, exit 1), so it gets reported.
    """


class PoseUsageError(PoseError, ValueError):
    """A request the tool cannot carry out as given: an unknown format, layout or option, a dataset
    that exists or is missing, an option that does not apply to the format."""


class PoseFormatError(PoseError, ValueError):
    """A pose file does not hold what its format promises.

    ``record`` says which record (e.g. ``"annotations[12] (id 900017)"``) and ``field`` which key;
    the message reads ``FILE: RECORD: field 'FIELD': what is wrong``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.record = record
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.record) if p]
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        return ": ".join(parts)

    def with_path(self, path: str | os.PathLike) -> PoseFormatError:
        """The same error, attributed to ``path`` when it has no file yet."""
        if self.path is None:
            self.path = os.fspath(path)
            self.args = (str(self),)
        return self
