"""Mask every secret value Baton has handled, in every log record, including exception text.

Custody registers each value it reads or writes (``register``); ``RedactingFilter`` sits on the
handlers Prefect configures (console and API) and replaces any registered value with ``***``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words; no real credential is that short

_lock = threading.Lock()
_values: set[str] = set()


def register(*values: str) -> None:
    """Remember values to mask from now on, in this process."""
    with _lock:
        _values.update(v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH)


def registered_count() -> int:
    with _lock:
        return len(_values)


def redact(text: str) -> str:
    """*text* with every registered value replaced by ``***`` (longest first, so overlaps mask fully)."""
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and exception text with registered secrets masked. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
            # Formatters re-render exc_info when exc_text is empty; keep only the masked text.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _handlers(loggers: Iterable[logging.Logger]) -> list[logging.Handler]:
    seen: list[logging.Handler] = []
    for logger in loggers:
        for handler in logger.handlers:
            if handler not in seen:
                seen.append(handler)
    return seen


def install(extra_loggers: Iterable[str] = ()) -> int:
    """Add the filter to every handler of the root, ``prefect`` and ``baton`` loggers (and their children).

    Call it after Prefect has configured logging (importing ``prefect`` does). Idempotent; returns how
    many handlers carry the filter.
    """
    names = ["prefect", "baton", "uvicorn", *extra_loggers]
    manager = logging.Logger.manager
    loggers: list[logging.Logger] = [logging.getLogger()]
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and any(name == n or name.startswith(n + ".") for n in names):
            loggers.append(logger)
    count = 0
    for handler in _handlers(loggers):
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
        count += 1
    return count
