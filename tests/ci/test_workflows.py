"""The GitHub workflows pass the field's own linters: actionlint (syntax, expressions, shell) and zizmor
(security: permissions, template injection, unpinned actions, persisted credentials).

Both tools are pinned (zizmor in requirements-dev.txt, actionlint in tools/actionlint/go.mod) and
installed into the venv by `make test`. A missing tool fails here, it is never skipped.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run `make test` (it installs the pinned {name} into ./venv)")
    return found


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("actionlint"), "-no-color", *map(str, paths)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def zizmor(path: Path) -> subprocess.CompletedProcess:
    # --offline: no GitHub API calls (audits needing them are skipped); findings still fail.
    return subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--color", "never", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def workflow_files() -> list[Path]:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert files, f"no workflow in {WORKFLOWS}"
    return files


def test_actionlint_finds_nothing():
    result = actionlint(*workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    result = zizmor(WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


# The linters are live: each reports the mistake it exists for.
BAD_WORKFLOW = """\
name: bad
on:
  pull_request:
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ steps.nope.outputs.x }
"""


def test_the_linters_report_a_bad_workflow(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    bad = workflows / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    linted = actionlint(bad)
    assert linted.returncode == 1 and "bad.yml" in linted.stdout, linted.stdout + linted.stderr
    audited = zizmor(bad)
    assert audited.returncode != 0
    report = audited.stdout + audited.stderr
    assert "template-injection" in report and "unpinned-uses" in report and "artipacked" in report
