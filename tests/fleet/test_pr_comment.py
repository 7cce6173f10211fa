import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from terway_stack.fleet import pr_comment
from terway_stack.fleet.plan_diff import ResourceDiff, StackDiff

REPO = Path(__file__).resolve().parents[2]
PARSER = MarkdownIt("commonmark").enable("table")


def test_the_comment_starts_with_its_marker_and_says_when_the_live_side_is_the_sample():
    diffs = [
        StackDiff("prod", [ResourceDiff("kubernetes:apps/v1:Deployment", "calico-typha-deployment", "update", ("spec.replicas",)),
                           ResourceDiff("alicloud:vpc/switch:Switch", "pods-f", "no-op")]),
        StackDiff("dev", [ResourceDiff("alicloud:vpc/switch:Switch", "pods-g", "replace", ("cidrBlock",))]),
    ]
    text = pr_comment.render(diffs, {"prod": "sample", "dev": "saved ConfigMap dev.yaml"}, "main", "abc123")
    assert text.splitlines()[0] == pr_comment.MARKER
    prod, dev = text.split("### Stack")[1:]
    assert "built-in sample eni-config" in prod and "not this cluster's ConfigMap" in prod
    assert "sample" not in dev and "saved ConfigMap dev.yaml" in dev
    assert "**0 create, 1 update, 0 replace, 0 delete, 1 no-op**" in prod
    tables = [t for t in PARSER.parse(text) if t.type == "table_open"]
    assert len(tables) == 3  # summary + one per stack with changes


def test_a_stack_value_cannot_inject_markup():
    diffs = [StackDiff("x", [ResourceDiff("t", "<img src=x>|", "update", ("a|b",))])]
    text = pr_comment.render(diffs, {}, "b", "h")
    html = PARSER.render(text)
    assert "<img" not in html


def test_no_changed_stack_says_so():
    assert "This PR changes no stack" in pr_comment.render([], {}, "b", "h")


def checkout(target: Path, node_count: int) -> Path:
    shutil.copytree(REPO / "terway_stack", target / "terway_stack", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "Pulumi.yaml", target / "Pulumi.yaml")
    config = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    config["config"]["terway:cluster"]["nodeCount"] = node_count
    (target / "Pulumi.prod.yaml").write_text(yaml.safe_dump(config))
    return target


def test_pr_check_diff_plans_base_and_head_each_with_its_own_checkout(tmp_path):
    base = checkout(tmp_path / "base", 1200)
    head = checkout(tmp_path / "head", 4000)
    saved = tmp_path / "live"
    saved.mkdir()
    out = tmp_path / "comment.md"
    result = subprocess.run(
        [sys.executable, "-m", "terway_stack.plan.pr_check", "diff", "--base", str(base), "--head", str(head),
         "--stacks", '["prod"]', "--out", str(out), "--base-ref", "main", "--head-ref", "pr-7"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert text.startswith(pr_comment.MARKER)
    assert "calico-typha-deployment.spec.replicas" in text
    assert "built-in sample eni-config" in text
    assert "prod: 0 create, 1 update, 0 replace, 0 delete" in result.stderr  # Typha's Deployment only


def test_a_huge_diff_is_cut_at_a_stack_boundary_under_githubs_limit():
    many = [StackDiff(f"s{i}", [ResourceDiff("t", f"r{j}", "update", ("k" * 50,)) for j in range(40)]) for i in range(30)]
    text = pr_comment.render(many, {}, "b", "h")
    assert len(text) < 65536 and text.startswith(pr_comment.MARKER)
    assert text.rstrip().endswith("_Truncated: the whole diff is in the job summary._")
