"""The shared Chromium lookup: CONVO_CHROMIUM wins when it names an executable file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import browser


def test_the_environment_variable_names_the_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "my-chromium"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(fake))
    assert browser.chromium_path() != str(fake)  # not executable: not a browser
    fake.chmod(0o755)
    assert browser.chromium_path() == str(fake)
    args = browser.headless_args(tmp_path)
    assert args[0] == "--headless" and f"--user-data-dir={tmp_path}" in args and "--no-sandbox" in args


def test_the_skip_message_says_how_to_get_one() -> None:
    assert "apt-get install chromium" in browser.SKIP_MESSAGE
