"""Errors that name the file, the record and the field, so a user can fix their input."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

#: an ``Option`` whose value the user chooses (``format=...``, ``--from FORMAT``)
CHOOSE = ...


@dataclasses.dataclass(frozen=True)
class Option:
    """An option the user can pass to fix an error, e.g. ``Option("layout", "aic")``.

    The message says it in Python (``pass layout='aic'``); the CLI says it as the flag of the
    command at hand (``pass --layout aic``, ``--from`` for the input format of ``convert``) and the
    App as the form's field, each through ``PoseError.render``.
    """

    name: str
    value: Any = CHOOSE

    def __str__(self) -> str:
        return f"pass {self.name}={'...' if self.value is CHOOSE else repr(self.value)}"


#: how an interface spells an option (None: as in Python)
Spelling = Callable[[Option], "str | None"]


class PoseError(Exception):
    """An error the user can fix: a bad input file or a bad request.

    Only these are user errors: the CLI prints them in one line and exits 2. Anything else is a
    bug and shows as one (a traceback, exit 1), so it gets reported. The message is given in
    parts, text and ``Option``s, so each interface can name the options its own way.
    """

    def __init__(self, *message: str | Option) -> None:
        self.parts = message
        super().__init__(self.render())

    def __str__(self) -> str:
        return self.render()

    def render(self, spell: Spelling | None = None) -> str:
        """The message with each option spelled by ``spell`` (by default, as in Python)."""
        return "".join(((spell and spell(p)) or str(p)) if isinstance(p, Option) else p for p in self.parts)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its parts and attributes (file, record, field), so an error raised in
        another process (``formats.worker``) reads and renders the same when raised again here."""
        return _restored, (type(self), self.__dict__)


def _restored(cls: type[PoseError], state: dict[str, Any]) -> PoseError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error.render())
    return error


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
        *message: str | Option,
        path: str | os.PathLike | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = None if path is None else os.fspath(path)
        self.record = record
        self.field = field
        super().__init__(*message)

    @property
    def message(self) -> str:
        """What is wrong, without the file, record and field."""
        return super().render()

    def render(self, spell: Spelling | None = None) -> str:
        parts = [p for p in (self.path, self.record) if p]
        if self.field:
            parts.append(f"field '{self.field}'")
        parts.append(super().render(spell))
        return ": ".join(parts)

    def with_path(self, path: str | os.PathLike) -> PoseFormatError:
        """The same error, attributed to ``path`` when it has no file yet."""
        if self.path is None:
            self.path = os.fspath(path)
            self.args = (self.render(),)
        return self

    def with_record(self, record: str) -> PoseFormatError:
        """The same error, attributed to ``record`` when it has none yet."""
        if self.record is None:
            self.record = record
            self.args = (self.render(),)
        return self
