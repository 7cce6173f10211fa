"""The PR check's two decisions (`.github/workflows/pr.yml`), runnable and testable outside GitHub.

`python -m terway_stack.plan.pr_check plan-all [--project-dir DIR] [--policy-config PATH]`
    Offline plan of every `Pulumi.<env>.yaml` in DIR, each in its own process (one per core at a time),
    as Markdown appended to `$GITHUB_STEP_SUMMARY` (stdout without it). Exit 0 when every plan exits 0;
    otherwise 3 if any plan ended with an unexpected code (a crash), else 2 if any config is invalid,
    else 1 (a mandatory violation). One line per stack goes to stderr for the job log.

`python -m terway_stack.plan.pr_check changed-stacks CHANGED_FILES [--project-dir DIR]`
    Reads `git diff --name-only` output and prints `stacks=<JSON list>` for `$GITHUB_OUTPUT`: the stacks
    that need a cloud preview. A changed `Pulumi.<env>.yaml` means that stack; a change to the program
    (`PROGRAM_WIDE`) means every stack; anything else (docs, tests, e2e) means none.

`python -m terway_stack.plan.pr_check diff --base DIR --head DIR --stacks JSON [--eni-config-dir DIR] [--out PATH]`
    For each stack: the offline plan at the base checkout and at the head checkout, each by its own
    code, diffed per resource (create/update/replace/delete/no-op, changed keys). Writes the sticky PR
    comment's Markdown to --out (and the job summary). `--eni-config-dir` holds `<stack>.yaml` saved
    ConfigMaps; a stack without one is planned against the built-in sample, and the comment says so.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Optional, Sequence

from ..decide.facts import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_VIOLATION
from . import markdown as md

STACK_FILE_PREFIX, STACK_FILE_SUFFIX = "Pulumi.", ".yaml"
PROJECT_FILE = "Pulumi.yaml"

# Paths whose change can alter what any stack declares: the program, its project file, its pinned
# dependencies and the policy pack the preview runs.
PROGRAM_WIDE = (
    "terway_stack/",
    "policy/",
    "__main__.py",
    PROJECT_FILE,
    "requirements.txt",
    "requirements-dev.txt",
    "constraints.txt",
)


def stack_name(path: str) -> Optional[str]:
    """`Pulumi.prod.yaml` (at the project root) -> `prod`; anything else -> None."""
    pure = PurePosixPath(path)
    if len(pure.parts) != 1 or pure.name == PROJECT_FILE:
        return None
    name = pure.name
    if not (name.startswith(STACK_FILE_PREFIX) and name.endswith(STACK_FILE_SUFFIX)):
        return None
    stack = name[len(STACK_FILE_PREFIX) : -len(STACK_FILE_SUFFIX)]
    return stack or None


def stack_files(project_dir: Path) -> dict[str, Path]:
    found = {stack_name(p.name): p for p in project_dir.iterdir() if p.is_file()}
    return {name: found[name] for name in sorted(n for n in found if n)}


def is_program_wide(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PROGRAM_WIDE)


def stacks_to_preview(changed: Iterable[str], existing: Iterable[str]) -> list[str]:
    """Stacks whose cloud preview a PR needs: see the module docstring. Deleted stack files drop out."""
    existing = sorted(set(existing))
    changed = [line.strip() for line in changed if line.strip()]
    if any(is_program_wide(path) for path in changed):
        return existing
    touched = {stack_name(path) for path in changed}
    return [stack for stack in existing if stack in touched]


@dataclass(frozen=True)
class StackPlan:
    stack: str
    returncode: int
    markdown: str
    stderr: str

    @property
    def verdict(self) -> str:
        return {
            EXIT_OK: "ok",
            EXIT_VIOLATION: "mandatory policy violation (exit 1)",
            EXIT_INVALID: "invalid configuration or input (exit 2)",
        }.get(self.returncode, f"plan failed (exit {self.returncode})")


def plan_stack(stack: str, stack_file: Path, project_dir: Path, policy_config: Optional[Path] = None) -> StackPlan:
    # One process per stack: the mock runtime is process-wide and the CLI ends its process when done.
    command = [sys.executable, "-m", "terway_stack", "plan", "--stack-config", str(stack_file)]
    command += ["--project-dir", str(project_dir), "--format", "markdown"]
    if policy_config is not None:
        command += ["--policy-config", str(policy_config)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return StackPlan(stack, result.returncode, result.stdout, result.stderr)


def summary(plans: Sequence[StackPlan]) -> str:
    rows = [(md.code(p.stack, cell=True), md.text(p.verdict)) for p in plans]
    parts = ["# terway-stack: offline plan of every stack", md.table(("stack", "result"), rows)]
    for p in plans:
        if p.markdown.strip():
            parts.append(p.markdown.rstrip("\n"))
        if p.returncode != EXIT_OK and p.stderr.strip():
            parts.append(f"## Stack {md.code(p.stack)}: {md.text(p.verdict)}\n\n{md.fenced(p.stderr.rstrip())}")
    return "\n\n".join(parts) + "\n"


def exit_code(plans: Sequence[StackPlan]) -> int:
    codes = {p.returncode for p in plans}
    if codes - {EXIT_OK, EXIT_VIOLATION, EXIT_INVALID}:
        return EXIT_INTERNAL
    return max(codes, default=EXIT_OK)


def plan_all(project_dir: Path, out, policy_config: Optional[Path] = None) -> int:
    files = stack_files(project_dir)
    if not files:
        print(f"error: no {STACK_FILE_PREFIX}<env>{STACK_FILE_SUFFIX} in {project_dir}", file=sys.stderr)
        return EXIT_INVALID
    # The plans are independent processes: run as many at once as there are cores, report in order.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        plans = list(pool.map(lambda item: plan_stack(*item, project_dir, policy_config), files.items()))
    out.write(summary(plans))
    for p in plans:
        print(f"{p.stack}: {p.verdict}", file=sys.stderr)
        if p.returncode != EXIT_OK:
            print(p.stderr.rstrip(), file=sys.stderr)
    return exit_code(plans)


def plan_json(stack_file: Path, project_dir: Path, eni_config: Optional[Path]) -> tuple[Optional[dict], str]:
    """(plan JSON or None, error). The plan runs in `project_dir` with that checkout's own code."""
    command = [sys.executable, "-m", "terway_stack", "plan", "--stack-config", str(stack_file),
               "--project-dir", str(project_dir), "--format", "json"]
    if eni_config is not None:
        command += ["--eni-config", str(eni_config)]
    result = subprocess.run(command, cwd=project_dir, capture_output=True, text=True, timeout=600)
    if result.returncode not in (EXIT_OK, EXIT_VIOLATION):  # a violation still plans everything
        return None, result.stderr.strip() or f"plan exited {result.returncode}"
    return json.loads(result.stdout), ""


def diff_stacks(base: Path, head: Path, stacks: Sequence[str], eni_config_dir: Optional[Path]) -> tuple[list, dict[str, str]]:
    from ..fleet.plan_diff import diff_plans

    diffs, sources = [], {}
    for stack in stacks:
        saved = eni_config_dir / f"{stack}.yaml" if eni_config_dir else None
        live = saved if saved and saved.is_file() else None
        sources[stack] = f"saved ConfigMap {saved.name}" if live else "sample"
        sides, errors = [], []
        for root in (base, head):
            path = root / f"{STACK_FILE_PREFIX}{stack}{STACK_FILE_SUFFIX}"
            plan, error = plan_json(path, root, live) if path.is_file() else (None, "")
            sides.append(plan)
            if error:
                errors.append(f"{'base' if root == base else 'head'}: {error}")
        diff = diff_plans(stack, *sides)
        diff.error = "\n".join(errors)
        diffs.append(diff)
    return diffs, sources


def pr_diff(args: argparse.Namespace) -> int:
    from ..fleet import pr_comment

    stacks = json.loads(args.stacks)
    diffs, sources = diff_stacks(args.base, args.head, stacks, args.eni_config_dir)
    text = pr_comment.render(diffs, sources, args.base_ref, args.head_ref)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    with open(summary_path, "a", encoding="utf-8") if summary_path else open(os.devnull, "w") as summary:
        summary.write(text)
    if not args.out and not summary_path:
        sys.stdout.write(text)
    for d in diffs:
        print(f"{d.stack}: " + ("plan failed" if d.error else ", ".join(f"{n} {op}" for op, n in d.counts().items())), file=sys.stderr)
    return EXIT_INTERNAL if any(d.error for d in diffs) else EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m terway_stack.plan.pr_check", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    every = commands.add_parser("plan-all", help="offline plan of every stack file, as Markdown")
    every.add_argument("--project-dir", type=Path, default=Path.cwd())
    every.add_argument("--policy-config", type=Path, help="passed to every plan (JSON, as the plan takes it)")
    changed = commands.add_parser("changed-stacks", help="stacks whose cloud preview this PR needs")
    changed.add_argument("changed_files", type=Path, help="output of `git diff --name-only`")
    changed.add_argument("--project-dir", type=Path, default=Path.cwd())
    diff = commands.add_parser("diff", help="plan each stack at base and head, diff the plans (sticky PR comment)")
    diff.add_argument("--base", type=Path, required=True, help="checkout of the PR's base")
    diff.add_argument("--head", type=Path, required=True, help="checkout of the PR's head")
    diff.add_argument("--stacks", required=True, help="JSON list of stacks (the changes job's output)")
    diff.add_argument("--eni-config-dir", type=Path, help="saved ConfigMaps, one <stack>.yaml each")
    diff.add_argument("--out", type=Path, help="write the comment's Markdown here")
    diff.add_argument("--base-ref", default="base", help="shown in the comment")
    diff.add_argument("--head-ref", default="head", help="shown in the comment")
    args = parser.parse_args(argv)
    if args.command == "diff":
        return pr_diff(args)
    if args.command == "changed-stacks":
        stacks = stacks_to_preview(args.changed_files.read_text(encoding="utf-8").splitlines(), stack_files(args.project_dir))
        print(f"stacks={json.dumps(stacks)}")
        return EXIT_OK
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as out:
            return plan_all(args.project_dir, out, args.policy_config)
    return plan_all(args.project_dir, sys.stdout, args.policy_config)


if __name__ == "__main__":
    sys.exit(main())
