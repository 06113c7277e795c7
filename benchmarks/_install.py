"""Python environments for benchmarks that compare installs: the project's dependencies
without the project, plus one revision of it (or none), in a venv under a temp folder.

The dependencies are the ones this venv has (linked, not downloaded); a revision is
`git archive`d and installed as a user gets it (`pip install --no-deps --target`, a wheel
built from that revision's own pyproject; the build backend comes from the package index).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = "convo_contracts"
_NOT_SOURCE = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")


def _ours(name: str) -> bool:
    return name.startswith((DIST, f"__editable__.{DIST}", f"__editable___{DIST}"))


def dependencies(work: Path) -> Path:
    """A folder of links to every package this venv has, but the project itself."""
    site = Path(sysconfig.get_paths()["purelib"])
    farm = work / "dependencies"
    if not farm.exists():
        farm.mkdir(parents=True)
        for entry in site.iterdir():
            if not _ours(entry.name) and not entry.name.endswith(".pth"):
                (farm / entry.name).symlink_to(entry)
    return farm


def venv(work: Path, name: str, paths: list[Path]) -> Path:
    """A venv of this interpreter (no pip) whose import path is `paths`; its python."""
    home = work / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(home), "platbase": str(home)}, scheme="venv")["purelib"])
    (site / "convo-bench.pth").write_text("".join(f"{path}\n" for path in paths))
    return home / "bin" / "python"


def source_of(revision: str | None, work: Path) -> Path:
    """The project's files at `revision` (None: the working tree as it is, uncommitted edits too)."""
    folder = work / f"source-{revision or 'worktree'}"
    if folder.exists():
        return folder
    if revision is None:
        shutil.copytree(ROOT, folder, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
        return folder
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=True)
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def install(revision: str | None, work: Path) -> Path:
    """The project at `revision` installed (non-editable) into a folder of its own."""
    target = work / f"site-{revision or 'worktree'}"
    if not target.exists():
        source = source_of(revision, work)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(source)],
            check=True,
            timeout=600,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
    return target


def python_with(revision: str | None, work: Path, *, project: bool = True) -> Path:
    """A python that imports the dependencies and, with `project`, the project at `revision`."""
    paths = [dependencies(work)]
    if project:
        paths.insert(0, install(revision, work))
    name = f"venv-{revision or 'worktree'}" if project else "venv-without"
    python = work / name / "bin" / "python"
    return python if python.exists() else venv(work, name, paths)
