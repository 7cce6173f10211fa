"""Issue 19, time: every check is linear in its input, or refuses an input past a stated length.

No wall-clock assertion: the overlap check is measured by the number of calls it makes (a
deterministic operation count, through sys.setprofile) at n and 2n zones; long values are refused by
their length before any pattern runs. `make bench` prints the timing ratios.
"""
from __future__ import annotations

import copy
import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terway_stack.decide import settings as settings_module
from terway_stack.decide.problems import MAX_PROBLEMS_SHOWN, InputError
from terway_stack.decide.settings import parse_settings

from .settings_examples import TEXT_PATHS, config_with, valid_config


def calls_made(function, *args) -> int:
    """Python and C function calls made while `function(*args)` runs: an operation count."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return count


def created_zones(n: int, overlapping: bool) -> dict[str, str]:
    # /19 blocks 10.x.y.0: with `overlapping`, every fourth zone repeats its neighbour's block.
    zones = {}
    for i in range(n):
        block = i - 1 if overlapping and i % 4 == 3 else i
        zones[f"zone-{i:05d}"] = f"10.{block // 8}.{(block % 8) * 32}.0/19"
    return zones


@pytest.mark.parametrize("overlapping", [False, True])
def test_the_zone_overlap_check_grows_as_n_log_n_not_n_squared(overlapping):
    small = calls_made(settings_module._overlap_problems, created_zones(400, overlapping))
    large = calls_made(settings_module._overlap_problems, created_zones(800, overlapping))
    # Linear or n log n doubles (a little over 2); n^2 would quadruple.
    assert large / small < 2.6, (small, large)


def test_overlaps_are_still_found_pairwise():
    problems = settings_module._overlap_problems(
        {"a": "10.0.0.0/16", "b": "10.0.32.0/19", "c": "10.1.0.0/19", "d": "10.1.0.0/19", "e": "10.2.0.0/19"}
    )
    assert [str(p) for p in problems] == [
        "terway:podVSwitches.zones.b.cidr: 10.0.32.0/19 overlaps 10.0.0.0/16 of zone a",
        "terway:podVSwitches.zones.d.cidr: 10.1.0.0/19 overlaps 10.1.0.0/19 of zone c",
    ]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(TEXT_PATHS, key=str)), st.integers(min_value=5_000, max_value=120_000), st.sampled_from("a:-.9"))
def test_a_huge_text_value_is_refused_by_its_length(path, length, filler):
    with pytest.raises(InputError) as caught:
        parse_settings(config_with(path, filler * length))
    [line] = str(caught.value).splitlines()
    assert line.startswith(TEXT_PATHS[path] + ": ")


IMAGE = re.compile(r"[!-~]+[:@][!-~]+")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab:@/ .\x7f"), min_size=1, max_size=40))
def test_the_image_check_accepts_exactly_what_the_old_pattern_meant(image):
    config = config_with(("typha", "image"), image)
    cleaned = image.strip(" ")
    if cleaned and "\x7f" not in cleaned and IMAGE.fullmatch(cleaned):
        assert parse_settings(config).typha.image == cleaned
    else:
        with pytest.raises(InputError):
            parse_settings(config)


def test_a_long_image_without_separator_is_refused_with_its_length():
    with pytest.raises(InputError, match=r"terway:typha.image: is 100000 characters long"):
        parse_settings(config_with(("typha", "image"), "a" * 100_000))


def test_thousands_of_bad_zones_give_a_bounded_answer():
    config = copy.deepcopy(valid_config())
    config["podVSwitches"]["zones"] = {f"zone-{i:05d}": {"cidr": "10.0.32.0/19"} for i in range(2000)}
    with pytest.raises(InputError) as caught:
        parse_settings(config)
    lines = str(caught.value).splitlines()
    assert len(lines) == MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == "terway:podVSwitches.zones: and 3949 more problems like these, not shown"  # 2000 zones not in the region, 1999 overlaps
