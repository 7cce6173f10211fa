"""(c) Validation time as inputs grow (issue 19): each check should grow linearly (or as n log n).

Prints times and the ratio between sizes 10x apart; a linear check gives about 10, a quadratic one 100.
No engine needed: `python bench/validation.py`, or part of `make bench`.
"""
from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from terway_stack.decide import settings as settings_module  # noqa: E402
from terway_stack.decide.config_types import _image_reference  # noqa: E402
from terway_stack.decide.problems import InputError  # noqa: E402
from terway_stack.decide.strict_json import JsonTextError, read_document  # noqa: E402

BASE = {
    "alicloud:region": "cn-shanghai",
    "cluster": {"name": "bench", "kubernetesVersion": "1.30", "nodeCount": 1200},
    "podVSwitches": {"vpcId": "vpc-a1", "zones": {}},
}


def median_seconds(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def zones(n: int) -> dict[str, str]:
    return {f"zone-{i:05d}": f"10.{(i // 8) % 256}.{(i % 8) * 32}.0/19" for i in range(n)}


def whole_config(n: int) -> None:
    config = copy.deepcopy(BASE)
    config["podVSwitches"]["zones"] = {zone: {"cidr": cidr} for zone, cidr in zones(n).items()}
    try:
        settings_module.parse_settings(config)
    except InputError:
        pass


def image(n: int) -> None:
    try:
        _image_reference("a" * n)
    except ValueError:
        pass


def deep_json(n: int) -> None:
    try:
        read_document("[" * n + "]" * n)
    except JsonTextError:
        pass


CASES = [
    ("zone overlap check", lambda n: settings_module._overlap_problems(zones(n)), 200, 2000),
    ("whole config, n zones", whole_config, 200, 2000),
    ("typha.image check, n characters", image, 10_000, 100_000),
    ("strict JSON, n nested arrays", deep_json, 10_000, 100_000),
]


def validation_ratios() -> None:
    for name, fn, small, large in CASES:
        a, b = median_seconds(lambda: fn(small)), median_seconds(lambda: fn(large))
        print(f"(c) {name}: n={small} {a * 1000:.1f} ms, n={large} {b * 1000:.1f} ms, ratio x{b / max(a, 1e-9):.1f} for x{large // small} input")


if __name__ == "__main__":
    validation_ratios()
