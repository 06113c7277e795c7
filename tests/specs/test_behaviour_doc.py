"""docs/behaviour.md is the one place the numbered rules live: every `x-rule` of the specs
names one of its rules, and nothing shipped points outside the repository."""

import re
import subprocess
from pathlib import Path
from typing import Any

import specs

ROOT = Path(__file__).resolve().parents[2]


def _x_rules(node: Any) -> set[int]:
    if isinstance(node, dict):
        found = {int(node["x-rule"])} if "x-rule" in node else set()
        return found.union(*(_x_rules(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_x_rules(v) for v in node))
    return set()


def test_every_x_rule_is_a_numbered_rule_of_the_behaviour_doc() -> None:
    numbered = {int(n) for n in re.findall(r"^(\d+)\. \*\*", (ROOT / "docs/behaviour.md").read_text(), re.M)}
    assert numbered == set(range(1, max(numbered) + 1))  # numbered without gaps
    used = set().union(*(_x_rules(specs.load(api).content) for api in specs.API_NAMES))
    assert used and used <= numbered


def test_nothing_shipped_points_at_the_internal_notes() -> None:
    shipped = ["specs", "mockserver", "contracts", "docs", "README.md", "ARCHITECTURE.md", "pyproject.toml"]
    found = subprocess.run(
        ["git", "grep", "-n", "-e", "shared/", "-e", "DOCUMENTED.md", "--", *shipped],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1, found.stdout  # 1: no match
