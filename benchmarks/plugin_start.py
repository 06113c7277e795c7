"""What installing the package costs people who never use it: the start of a one-test pytest
project (`pytest -q` on one passing test) in an environment with every dependency, with and
without this package installed (pytest loads both plugins, `convo_mock` and
`convo_contracts`, through their entry points in every run). Target: within 50 ms.

    python benchmarks/plugin_start.py [--rounds 21]

Both environments are venvs under a temp folder with this venv's dependencies linked
(`_install.py`); "with" adds this working tree installed as a wheel, as a user gets it.
Runs alternate, bytecode is cached (as after any install); medians, and the median of the
per-pair differences. Also prints each plugin module's own import time (`-X importtime`).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _install import python_with

PLUGINS = ("mockserver.pytest_plugin", "contracts.pytest_plugin")


def _env() -> dict[str, str]:
    # Bytecode cached as in any installed environment; nothing from this checkout on the path.
    dropped = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("CONVO_")}


def one_run(python: Path, project: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(python), "-m", "pytest", "-q"], cwd=project, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or "1 passed" not in done.stdout:
        raise SystemExit(f"the one-test project did not pass under {python}:\n{done.stdout}{done.stderr}")
    return elapsed


def import_times(python: Path) -> dict[str, float]:
    """Each plugin module's cumulative import time in ms, pytest already imported."""
    code = "import pytest\n" + "".join(f"import {name}\n" for name in PLUGINS)
    done = subprocess.run([str(python), "-X", "importtime", "-c", code], env=_env(), capture_output=True, text=True)
    times = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and match.group(3) in PLUGINS:
            times[match.group(3)] = int(match.group(1)) / 1000
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="convo-plugin-start-") as tmp:
        work = Path(tmp)
        without = python_with(None, work, project=False)
        with_ours = python_with(None, work)
        project = work / "project"
        project.mkdir()
        (project / "pytest.ini").write_text("[pytest]\n")
        (project / "test_one.py").write_text("def test_one():\n    assert True\n")
        for python in (without, with_ours, without, with_ours):  # warm-up: bytecode, the page cache
            one_run(python, project)
        runs: dict[str, list[float]] = {"without": [], "with": []}
        for round_ in range(args.rounds):
            pair = [("without", without), ("with", with_ours)]
            for name, python in pair if round_ % 2 == 0 else reversed(pair):
                runs[name].append(one_run(python, project))
        plugins = import_times(with_ours)
    differences = [(b - a) * 1000 for a, b in zip(runs["without"], runs["with"], strict=True)]
    without_ms, with_ms = (statistics.median(runs[k]) * 1000 for k in ("without", "with"))
    print(f"\none-test pytest project, start to finish, median of {args.rounds} alternated runs")
    print(f"{'without the package':<28}{without_ms:>10.0f} ms")
    print(f"{'with the package':<28}{with_ms:>10.0f} ms")
    cost = statistics.median(differences)
    print(
        f"{'cost (median of pairs)':<28}{cost:>+10.0f} ms   target: within 50 ms -> {'met' if cost <= 50 else 'NOT met'}"
    )
    print("\nimport time of each plugin module (cumulative, pytest already loaded):")
    for name in PLUGINS:
        print(f"  {name:<28}{plugins.get(name, float('nan')):>8.1f} ms")


if __name__ == "__main__":
    main()
