"""Baton's root error. Every remote has its own subclass; messages never contain a secret."""

from __future__ import annotations


class BatonError(Exception):
    """Something Baton could not do. The message says what failed, what the remote said, and what to do."""


class ConfigError(BatonError):
    """A setting is missing or malformed; the message names the key and gives an example value."""
