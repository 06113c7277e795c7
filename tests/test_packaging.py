"""A non-editable install ships the specs inside the wheel and finds them at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_specs_and_loads_them_outside_the_source_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("convo_contracts-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"specs/runtype.yaml", "specs/systemprompt.yaml", "contracts/families/upstream.py"} <= set(names)
    assert any(n.endswith("entry_points.txt") for n in names)

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
