"""`python -m terway_stack fleet preview|up|drift`: many stacks in waves (see terway_stack/fleet).

Exit codes: 0 ok (and, for drift, no drift); 1 a stack failed a gate or an operation, or drift was
found; 2 bad input (selection, waves); 130 interrupted (Ctrl-C: in-flight operations were cancelled
gracefully, no stack is left locked).
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Optional, Sequence

from .report import RESULT_DRIFT, RESULT_FAILED, RESULT_INTERRUPTED, FleetReport
from .selection import DEFAULT_WAVE_KEY, SelectionError, filter_by_wave, plan_waves, select_stacks

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m terway_stack fleet", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=("preview", "up", "drift"))
    p.add_argument("--project-dir", type=Path, default=Path.cwd(), help="folder holding Pulumi.yaml (default: .)")
    p.add_argument("--stacks", action="append", default=[], metavar="GLOB",
                   help="stack name glob (repeatable; default: every stack of the project in the backend)")
    p.add_argument("--wave", action="append", default=[], metavar="VALUE",
                   help="only stacks whose wave value is VALUE (repeatable), e.g. --wave canary")
    p.add_argument("--wave-key", default=DEFAULT_WAVE_KEY,
                   help=f"config key or stack tag holding a stack's wave: canary or 0, 1, 2 ... (default {DEFAULT_WAVE_KEY})")
    p.add_argument("--canary", type=int, default=1, help="stacks in the canary wave when no stack sets a wave (default 1)")
    p.add_argument("--batch-size", type=int, help="stacks per wave after the canary (default: all the rest)")
    p.add_argument("--parallel", type=int, default=2, help="stacks at a time inside a wave (default 2)")
    p.add_argument("--report-json", type=Path, help="write the JSON report here")
    p.add_argument("--report-markdown", type=Path, help="write the Markdown report here (e.g. $GITHUB_STEP_SUMMARY)")
    return p


def exit_code(report: FleetReport) -> int:
    return {RESULT_INTERRUPTED: EXIT_INTERRUPTED, RESULT_FAILED: EXIT_FAILED, RESULT_DRIFT: EXIT_FAILED}.get(report.result, EXIT_OK)


def write_reports(report: FleetReport, json_path: Optional[Path], markdown_path: Optional[Path]) -> None:
    if json_path:
        json_path.write_text(report.render_json(), encoding="utf-8")
    if markdown_path:
        markdown_path.write_text(report.render_markdown(), encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # before any stack operation started (listing, selection): nothing to cancel
        print("fleet: interrupted before any stack operation started", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    say = lambda line: print(line, flush=True)  # noqa: E731
    from .automation import FleetOps
    from .runner import FleetRunner, Interrupt

    try:
        ops = FleetOps(args.project_dir.resolve())
        names = select_stacks(ops.stack_names(), args.stacks)
        values = {name: ops.wave_value(name, args.wave_key) for name in names}
        if args.wave:
            values = {name: values[name] for name in filter_by_wave(values, args.wave)}
        if not values:
            print(f"error: no stack selected (stacks: {', '.join(args.stacks) or 'all'}; waves: {', '.join(args.wave) or 'all'})",
                  file=sys.stderr)
            return EXIT_INVALID
        waves = plan_waves(values, canary=args.canary, batch_size=args.batch_size, key=args.wave_key)
        interrupt = Interrupt(ops)
        runner = FleetRunner(ops, args.command, parallel=args.parallel, emit=say, interrupt=interrupt)
    except (SelectionError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    for wave in waves:
        say(f"fleet {args.command}: {wave.label}: {', '.join(wave.stacks)}")
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        report = runner.run(waves)
    finally:
        signal.signal(signal.SIGINT, previous)
    write_reports(report, args.report_json, args.report_markdown)
    print(report.render_markdown(), end="", flush=True)
    print(report.headline(), file=sys.stderr, flush=True)
    return exit_code(report)


if __name__ == "__main__":
    sys.exit(main())
