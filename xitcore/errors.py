"""Errors for bad input: one line naming the thing and what is allowed."""


class XitError(Exception):
    """Base class for user-facing errors (the CLI prints them as one line, exit code 2)."""


class ConfigError(XitError):
    """Bad params: unknown key, wrong type, unknown task or language."""


class DataError(XitError):
    """Missing or malformed data file, unknown data set, split or language."""
