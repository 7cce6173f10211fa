"""`make plan ... > plan.md` writes the plan and nothing else (a new user's report)."""
import json
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_make_plan_stdout_is_only_the_plan():
    # -o: treat the (shared) venv as up to date; the recipe below is what a clean clone runs.
    # As a user runs it: a top-level make. Under `make test` the inherited MAKELEVEL/MAKEFLAGS would make
    # this a sub-make, which prints "Entering directory" lines no user sees.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    result = subprocess.run(["make", "-o", "venv/.installed", "plan", "STACK=dev", "FORMAT=json"],
                            cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "dev"


def recipe(target: str) -> list[str]:
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M)
    assert match, target
    return [line[1:] for line in match.group(1).splitlines()]


def test_the_recipes_plan_runs_on_a_clean_clone_echo_nothing_to_stdout():
    for target in ("$(VENV)/.installed", "plan"):
        for line in recipe(target):
            assert line.startswith("@"), f"{target}: make would echo {line!r} into the redirected plan"
            assert ">&2" in line or "terway_stack plan" in line or "venv" in line or "touch" in line
