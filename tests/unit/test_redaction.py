"""The redacting filter masks registered secrets in messages, arguments and exception text."""

from __future__ import annotations

import io
import logging
import secrets

from core import redaction


def _logger_with_filter() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redaction.RedactingFilter())
    logger = logging.getLogger("baton.test." + secrets.token_hex(4))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_masks_message_args_and_traceback() -> None:
    canary = "canary-" + secrets.token_hex(8)
    redaction.register(canary)
    logger, stream = _logger_with_filter()
    logger.info("token is %s", canary)
    logger.info(f"inline {canary}")
    try:
        raise RuntimeError(f"boom {canary}")
    except RuntimeError:
        logger.exception("failed")
    out = stream.getvalue()
    assert canary not in out
    assert out.count(redaction.MASK) >= 3 and "RuntimeError: boom ***" in out


def test_unregistered_and_short_values_pass_through() -> None:
    redaction.register("abc")  # too short to mask safely
    logger, stream = _logger_with_filter()
    logger.info("abc and plain text")
    assert stream.getvalue().strip() == "abc and plain text"


def test_install_puts_filter_on_prefect_handlers() -> None:
    import prefect.main  # noqa: F401 - importing it configures Prefect's handlers

    assert redaction.install() >= 1
    api = [h for h in logging.getLogger("prefect.flow_runs").handlers if type(h).__name__ == "APILogHandler"]
    assert api and all(any(isinstance(f, redaction.RedactingFilter) for f in h.filters) for h in api)
