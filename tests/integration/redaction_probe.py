"""Run as a script by test_prefect_redaction: a flow that logs a registered secret every way it can."""

from __future__ import annotations

import logging
import os

from prefect import flow, get_run_logger
from prefect.context import get_run_context

from core import redaction


@flow(name="redaction-probe")
def probe() -> str:
    canary = os.environ["REDACTION_CANARY"]
    redaction.register(canary)
    redaction.install()
    logger = get_run_logger()
    logger.info("handled %s while rotating", canary)
    try:
        raise ValueError(f"remote said {canary}")
    except ValueError:
        logger.exception("a step failed")
    logging.getLogger("baton.flows").warning("inline %s", canary)
    return str(get_run_context().flow_run.id)  # type: ignore[union-attr]


if __name__ == "__main__":
    print("FLOW_RUN_ID=" + probe())
