"""The one error type library code raises; the CLI maps it to exit code 2."""

from __future__ import annotations


class CodelensError(Exception):
    """An error a user can act on: what went wrong, and (in ``hint``) how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(CodelensError):
    """A bad setting in a config file or on the command line."""


class ModelError(CodelensError):
    """A base model or adapter that cannot be loaded or does not fit together."""
