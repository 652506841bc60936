"""Debian chromium through Playwright, as every browser test here launches it (never a downloaded one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not at /usr/bin/chromium")


@contextmanager
def browser_page() -> Iterator[object]:
    """A page in a fresh context that reaches only loopback (any other host is aborted)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(ignore_https_errors=True)
            context.set_default_timeout(20_000)
            context.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.split("/")[2].split(":")[0] in ("127.0.0.1", "localhost")
                    else route.abort()
                ),
            )
            yield context.new_page()
        finally:
            browser.close()
