"""One table of settings for the CLI and the pytest plugin: names, env vars, defaults and
validation agree everywhere, the base URL is normalised once, and per-API values win."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from contracts.cli import build_parser
from contracts.settings import SETTINGS, SettingError, normalise_url, resolve


def test_every_cli_setting_is_an_option_with_its_env_var_in_the_help() -> None:
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    run = commands.choices["run"]
    options = {o for action in run._actions for o in action.option_strings}
    for setting in SETTINGS:
        assert setting.option in options
        assert setting.env.startswith("CONVO_")
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    assert len({s.pytest_option for s in SETTINGS}) == len(SETTINGS)


def test_the_plugin_registers_every_pytest_setting(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    text = result.stdout.str()
    for setting in SETTINGS:
        assert (setting.pytest_option in text) == setting.pytest, setting.name
        if setting.pytest:
            assert setting.ini in text


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("https://API.example.com:443/", "https://api.example.com"),
        ("http://h:80", "http://h"),
        ("http://h:8080/prefix/", "http://h:8080/prefix"),
        ("  http://127.0.0.1:8000  ", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_the_base_url_is_normalised_once(raw: str, normalised: str) -> None:
    assert normalise_url(raw, "--base-url") == normalised


@pytest.mark.parametrize("raw", ["http://h/v1", "http://h/api/V1/", "http://h:99999", "h", "http://h?x=1"])
def test_base_urls_that_cannot_work_are_refused(raw: str) -> None:
    with pytest.raises(SettingError):
        normalise_url(raw, "--base-url")


def test_per_api_settings_win_over_the_shared_ones_and_keys_stay_secret() -> None:
    settings = resolve(
        {
            "base_url": "http://shared",
            "api_key": "shared-sekrit",
            "systemprompt_url": "http://sp:8443",
            "systemprompt_key": "sp-sekrit",
            "other_key": "other-sekrit",
            "systemprompt_id": "497f6eca-6276-4993-bfeb-53cbbbba6f08",
            "strict": "true",
        }
    )
    runtype, systemprompt = settings.targets["runtype"], settings.targets["systemprompt"]
    assert (runtype.base_url, runtype.api_key, runtype.other_key) == ("http://shared", "shared-sekrit", "other-sekrit")
    assert (systemprompt.base_url, systemprompt.api_key) == ("http://sp:8443", "sp-sekrit")
    assert runtype.systemprompt_id is None and systemprompt.systemprompt_id is not None
    assert runtype.strict and settings.strict
    # Each target redacts every key of the run, its own and the other API's.
    assert runtype.redactor("sp-sekrit shared-sekrit other-sekrit") == "[REDACTED] [REDACTED] [REDACTED]"
    assert "sekrit" not in repr(settings)


def test_defaults_come_from_the_table() -> None:
    target = resolve({"base_url": "http://h", "api_key": "k", "api": "runtype"}).targets["runtype"]
    defaults = {s.name: s.default for s in SETTINGS}
    assert (target.max_examples, target.seed, target.workers, target.timeout) == (
        defaults["max_examples"],
        defaults["seed"],
        defaults["workers"],
        defaults["timeout"],
    )
    assert target.deadline is not None and not target.read_only and not target.strict


def test_a_password_in_the_base_url_is_redacted_everywhere() -> None:
    target = resolve({"base_url": "https://me:pa55word@h", "api_key": "k", "api": "runtype"}).targets["runtype"]
    assert "pa55word" not in target.display_url
    assert target.redactor("failed at https://me:pa55word@h/v1") == "failed at https://me:[REDACTED]@h/v1"


def test_the_reference_lists_every_setting_with_its_names() -> None:
    # docs/reference.md is generated from SETTINGS (tests/test_docs.py fails when it is stale);
    # this reads it as a user would, so a setting the generator dropped shows here.
    reference = (Path(__file__).resolve().parents[2] / "docs" / "reference.md").read_text()
    reference = reference.split("### Suite settings", 1)[1]
    for setting in SETTINGS:
        row = next((line for line in reference.splitlines() if line.startswith(f"| `{setting.option}`")), None)
        assert row is not None, setting.option
        assert f"`{setting.env}`" in row, setting.option
