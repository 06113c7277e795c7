"""A non-editable install ships the specs and the licence inside the wheel, built with the
oldest setuptools the project declares, and finds the specs at run time."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _declared_minimum_setuptools() -> str:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    (minimum,) = [m.group(1) for r in requires if (m := re.fullmatch(r"setuptools>=([\d.]+)", r))]
    return minimum


_NOT_SOURCE = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")


def test_wheel_ships_specs_and_loads_them_outside_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    minimum = _declared_minimum_setuptools()
    # The build gets exactly the declared minimum, not the newest setuptools. pip 25.3+ reads
    # build constraints from PIP_BUILD_CONSTRAINT; older pips pass PIP_CONSTRAINT on to the
    # isolated build environment. Set both, so the test holds with whichever pip CI has.
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(f"setuptools=={minimum}\n")
    # Built from a copy: a developer's build/ left from before a module moved would put the
    # old file into the wheel beside the new package.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q", "-w", str(dist), str(source)],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_CONSTRAINT": str(constraints), "PIP_BUILD_CONSTRAINT": str(constraints)},
    )
    (wheel,) = dist.glob("convo_contracts-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    shipped = {"specs/runtype.yaml", "specs/systemprompt.yaml", "contracts/families/schemathesis/__init__.py"}
    assert shipped | {"mockserver/control/dashboard/app.js"} <= set(names)
    assert any(n.endswith("entry_points.txt") for n in names)
    (generator,) = [n for n in names if n.endswith(".dist-info/WHEEL")]
    assert f"Generator: setuptools ({minimum})" in archive.read(generator).decode()
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert "License-Expression: MIT" in archive.read(metadata).decode().splitlines()

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    # Every module of the three packages imports from the installed copy (a subpackage left
    # out of the wheel once passed every in-tree test).
    code = (
        "import importlib, pkgutil, sys, specs, mockserver, contracts\n"
        "for package in (specs, mockserver, contracts):\n"
        "    assert package.__file__.startswith(sys.argv[1]), package.__file__\n"
        "    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if not module.name.endswith('__main__'):  # those run the CLI\n"
        "            assert importlib.import_module(module.name).__file__.startswith(sys.argv[1]), module.name\n"
        "print(len(specs.load('runtype').operations), len(specs.load('systemprompt').operations))"
    )
    # Run from an empty folder with only the installed copy first on the path.
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["5", "3"]
