"""Headless Chromium for the tests of kotae's HTML pages (the eval report, the adoption plan)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; the tests skip without it, except under ``make test-integration``
    (``KOTAE_REQUIRE_INTEGRATION``), where a missing browser fails."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        reason = "no chromium binary (apt-get install chromium)"
        if os.environ.get("KOTAE_NO_BROWSER"):  # .ci/run could not install it: said loudly
            pytest.skip(f"{reason}; KOTAE_NO_BROWSER is set")
        if os.environ.get("KOTAE_REQUIRE_INTEGRATION"):  # make test-integration: no silent skip
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def run_chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a throwaway profile, no background networking, colours
    unmanaged (sRGB) so that pixels keep the page's exact colours."""
    command = [
        binary,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done
