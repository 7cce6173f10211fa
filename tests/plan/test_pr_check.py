"""The PR check's decisions: which stacks it plans and previews, and when it fails."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from terway_stack.decide.facts import EXIT_INTERNAL
from terway_stack.plan.pr_check import (
    PROGRAM_WIDE,
    StackPlan,
    exit_code,
    stack_files,
    stack_name,
    stacks_to_preview,
    summary,
)
from tests.cli_runs import run_module

ROOT = Path(__file__).resolve().parents[2]
STACKS = ["dev", "prod"]


@pytest.mark.parametrize(
    "path, stack",
    [("Pulumi.prod.yaml", "prod"), ("Pulumi.eu-west.yaml", "eu-west"), ("Pulumi.yaml", None), ("Pulumi..yaml", None),
     ("e2e/consumer/Pulumi.e2e.yaml", None), ("Pulumi.prod.yml", None), ("README.md", None)],
)
def test_stack_name_is_read_from_a_root_stack_file_only(path, stack):
    assert stack_name(path) == stack


def test_the_repository_stack_files_are_found():
    assert list(stack_files(ROOT)) == STACKS


@pytest.mark.parametrize(
    "changed, expected",
    [
        (["Pulumi.prod.yaml"], ["prod"]),
        (["Pulumi.dev.yaml", "README.md"], ["dev"]),
        (["README.md", "docs/typha.md", "tests/plan/test_cli.py", "e2e/tests/test_consumer.py"], []),
        (["terway_stack/decide/sizing.py"], STACKS),
        (["Pulumi.yaml"], STACKS),
        (["requirements.txt"], STACKS),
        (["constraints.txt"], STACKS),
        (["policy/__main__.py"], STACKS),
        (["__main__.py"], STACKS),
        (["Pulumi.staging.yaml"], []),  # deleted in the PR: nothing left to preview
        ([], []),
    ],
)
def test_stacks_to_preview(changed, expected):
    assert stacks_to_preview(changed, STACKS) == expected


paths = st.lists(
    st.one_of(
        st.sampled_from(["Pulumi.prod.yaml", "Pulumi.dev.yaml", "Pulumi.gone.yaml", "README.md", "docs/x.md", "tests/a.py", *PROGRAM_WIDE]),
        st.text(min_size=1, max_size=30),
    ),
    max_size=8,
)


@given(paths)
def test_preview_set_is_every_stack_on_a_program_change_else_the_changed_stack_files(changed):
    result = stacks_to_preview(changed, STACKS)
    assert set(result) <= set(STACKS) and result == sorted(result)
    program_change = any(p.strip() in PROGRAM_WIDE or p.strip().startswith(("terway_stack/", "policy/")) for p in changed)
    if program_change:
        assert result == STACKS
    else:
        assert result == [s for s in STACKS if f"Pulumi.{s}.yaml" in {p.strip() for p in changed}]


def test_changed_stacks_prints_a_github_output_line(tmp_path):
    changed = tmp_path / "changed.txt"
    changed.write_text("Pulumi.prod.yaml\nREADME.md\n")
    result = run_module("terway_stack.plan.pr_check", "changed-stacks", str(changed), "--project-dir", str(ROOT), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'stacks=["prod"]\n'


@pytest.mark.parametrize(
    "codes, expected", [([0, 0], 0), ([0, 1], 1), ([1, 2], 2), ([0, 2], 2), ([0, 137], EXIT_INTERNAL), ([2, -9], EXIT_INTERNAL), ([], 0)]
)
def test_any_non_zero_plan_fails_the_check(codes, expected):
    assert exit_code([StackPlan(f"s{i}", code, "", "") for i, code in enumerate(codes)]) == expected


def test_summary_shows_a_failed_plans_message_in_a_block_it_cannot_close():
    text = summary([StackPlan("prod", 0, "## Offline plan: stack `prod`\n", ""), StackPlan("odd", 2, "", "error: ```\n| x |")])
    assert "| `prod` | ok |" in text and "| `odd` | invalid configuration or input (exit 2) |" in text
    assert "````\nerror: ```\n| x |\n````" in text


def plan_all(project: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, str]:
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    result = run_module(
        "terway_stack.plan.pr_check", "plan-all", "--project-dir", str(project), *extra,
        env={"GITHUB_STEP_SUMMARY": str(step_summary)}, timeout=600,
    )
    return result, step_summary.read_text()


def test_plan_all_writes_every_stack_to_the_job_summary(tmp_path):
    result, text = plan_all(ROOT, tmp_path)
    assert result.returncode == 0, result.stderr
    assert text.startswith("earlier step\n")  # appended, as GitHub expects
    assert "## Offline plan: stack `dev`" in text and "## Offline plan: stack `prod`" in text
    assert result.stderr.splitlines() == ["dev: ok", "prod: ok"]


def project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, project / name)
    return project


def test_plan_all_fails_on_invalid_config_naming_the_stack_and_key(tmp_path):
    project = project_copy(tmp_path)
    broken = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    broken["config"]["terway:networkPolicy"] = "calico"
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(broken))
    result, text = plan_all(project, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "| `dev` | invalid configuration or input (exit 2) |" in text
    assert "terway:networkPolicy" in text and "## Offline plan: stack `prod`" in text
    assert "Traceback" not in text + result.stderr


def test_plan_all_fails_on_a_mandatory_violation(tmp_path):
    project = project_copy(tmp_path)
    policy_config = tmp_path / "policy-config.json"
    policy_config.write_text(json.dumps({"network-policy-direct-at-scale": "mandatory"}))
    direct = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    direct["config"]["terway:networkPolicy"] = "direct"
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(direct))
    result, text = plan_all(project, tmp_path, "--policy-config", str(policy_config))
    assert result.returncode == 1, result.stderr
    assert "| `prod` | mandatory policy violation (exit 1) |" in text and "| `dev` | ok |" in text


def test_plan_all_without_stack_files_fails(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    result, _ = plan_all(tmp_path, tmp_path)
    assert result.returncode == 2 and "no Pulumi.<env>.yaml" in result.stderr
