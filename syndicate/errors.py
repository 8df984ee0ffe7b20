"""The one exception tree of syndicate.

Every error the package raises on purpose derives from :class:`SyndicateError`.
Errors caused by what the user handed in (a file, a column, a parameter) also
derive from :class:`ValueError` and make the command line exit with status 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "InputFileError",
    "SchemaError",
    "SyndicateError",
]


class SyndicateError(Exception):
    """Base class of every error raised on purpose by syndicate."""


class InputError(SyndicateError, ValueError):
    """Bad input or usage: the command line exits with status 2."""


class InputFileError(InputError):
    """An input file is missing, has an unknown extension or cannot be read."""


class SchemaError(InputError):
    """A table breaks the data contract: missing columns, wrong types, no rows."""


class ConfigError(InputError):
    """A configuration value is out of range or of the wrong kind."""
