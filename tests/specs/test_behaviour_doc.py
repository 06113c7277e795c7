"""docs/behaviour.md is the one place the numbered rules live: every `x-rule` of the specs
names one of its rules, and nothing shipped points outside the repository."""

import re
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


def _shipped_files() -> list[Path]:
    found: list[Path] = []
    for name in ["specs", "mockserver", "contracts", "docs", "README.md", "ARCHITECTURE.md", "pyproject.toml"]:
        top = ROOT / name
        found += [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return found


def test_nothing_shipped_points_at_the_internal_notes() -> None:
    files = _shipped_files()
    assert any(f.suffix == ".py" for f in files) and any(f.name == "README.md" for f in files)
    hits = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if "shared/" in line or "DOCUMENTED.md" in line:
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []
