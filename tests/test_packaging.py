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
    assert {"specs/runtype.yaml", "specs/systemprompt.yaml"} <= set(names)
    assert any(n.endswith("entry_points.txt") for n in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    code = (
        "import specs, sys; "
        "assert specs.__file__.startswith(sys.argv[1]), specs.__file__; "
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
