"""Exceptions whose names say what is wrong; messages name the file, row or field and the fix.

Every error raised on bad input derives from :class:`TransportAccessError`, so the command
line can show it as a one-paragraph message instead of a traceback.
"""

from __future__ import annotations

import os


class TransportAccessError(Exception):
    """Base class for errors about the user's input or configuration."""


class ConfigError(TransportAccessError, ValueError):
    """The study file is invalid: the message names the key and what is wrong."""


class DataFileError(TransportAccessError):
    """A data file is missing, unreadable or in the wrong format.

    Parameters
    ----------
    path : path-like
        The file concerned.
    problem : str
        What is wrong.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.hint = hint
        message = f"{self.path}: {problem}"
        if hint:
            message += f" {hint}"
        super().__init__(message)


class MissingFileError(DataFileError, FileNotFoundError):
    """A configured data file does not exist."""


class FileFormatError(DataFileError, ValueError):
    """A file exists but is not in the expected format."""


class MissingColumnError(DataFileError, KeyError):
    """A required column is absent (or renamed beyond recognition)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0] if self.args else ""


class InvalidValueError(DataFileError, ValueError):
    """Values in a file are invalid: the message names the rows and the field."""


class OutsideStudyAreaError(DataFileError, ValueError):
    """Coordinates fall outside the study area (often the wrong CRS or swapped columns)."""


class EmptyStudyAreaError(TransportAccessError, ValueError):
    """The study area selects no neighbourhoods."""


class NoServiceError(TransportAccessError, ValueError):
    """A timetable has no service on the chosen day."""


class DownloadError(TransportAccessError, OSError):
    """A source could not be downloaded or failed its checksum."""


class NonUniqueIDError(TransportAccessError, ValueError):
    """Point IDs are not unique."""


class NoIDColumnError(TransportAccessError, KeyError):
    """A points table has no ID column."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class UnsnappablePointsError(TransportAccessError, ValueError):
    """No point could be placed on the street network within the snap distance."""


class ScenarioError(ConfigError):
    """A scenario file is invalid or does not fit the timetable it is applied to.

    The message names the scenario file, the modification's index and key, and the fix, for
    example ``configs/scenarios/x.yaml: modifications[2] (change_frequency).routes: unknown
    route '99'; routes in the feed: ...``.
    """
