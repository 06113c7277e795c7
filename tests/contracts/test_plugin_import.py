"""Both pytest plugins cost nothing until used: importing them (as pytest does at every start
wherever the package is installed) pulls in no heavy module, and needs no POSIX-only one."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# What a plugin must not import at load: the HTTP stacks, the fuzzer, the validators, the
# server, and the spec loader's YAML parser (no spec is read at load).
HEAVY = ("schemathesis", "hypothesis", "openapi_core", "jsonschema_rs", "starlette", "uvicorn", "httpx", "yaml")
PLUGINS = ("contracts.pytest_plugin", "mockserver.pytest_plugin")

_PROBE = textwrap.dedent(
    """
    import importlib.abc, json, sys

    class NoFcntl(importlib.abc.MetaPathFinder):
        # As on Windows: there is no fcntl to import.
        def find_spec(self, name, path, target=None):
            if name == "fcntl":
                raise ImportError("No module named 'fcntl'")
            return None

    sys.meta_path.insert(0, NoFcntl())
    import pytest  # what pytest itself imports is not the plugins' cost
    before = set(sys.modules)
    for plugin in sys.argv[1:]:
        __import__(plugin)
    print(json.dumps(sorted(set(sys.modules) - before)))
    """
)


def _imported_by(*plugins: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *plugins], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    imported: list[str] = json.loads(done.stdout)
    return imported


def test_both_plugins_load_where_there_is_no_fcntl() -> None:
    imported = _imported_by(*PLUGINS)
    assert set(PLUGINS) <= set(imported)
    assert "fcntl" not in imported


@pytest.mark.parametrize("plugin", PLUGINS)
def test_loading_a_plugin_pulls_in_no_heavy_module(plugin: str) -> None:
    heavy = sorted(m for m in _imported_by(plugin) if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy
