"""Debian chromium through Playwright, as every browser test here launches it (never a downloaded one); the
launching lives in baton/autopilot_pages.py, shared with the demo's autopilot."""

from __future__ import annotations

import pytest

from baton.autopilot_pages import ARGS, CHROMIUM, browser_page

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not at /usr/bin/chromium")
__all__ = ["ARGS", "CHROMIUM", "browser_page", "needs_chromium"]
