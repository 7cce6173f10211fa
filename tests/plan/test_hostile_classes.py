"""Issue 19's hostile classes, generated (tests/plan/hostile_cases.py) and run through the real offline
plan entry point and the program's settings loader, in process: for every class, no traceback, no
wrong acceptance or refusal, no leaked secret, and every refusal one `key.path: message` line per
problem naming the key. (Hangs are counted when the cases run as processes:
`python -m tests.plan.hostile_cases N`; here a hang would stall the test run itself.)
"""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.plan import hostile_cases as hostile

EXAMPLES = {"linear time": 8, "deadlines": 12}


@pytest.mark.parametrize("klass", hostile.CLASSES)
def test_every_generated_case_of_a_class_is_handled(klass):
    @settings(max_examples=EXAMPLES.get(klass, 25), deadline=None, suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2**32 - 1))
    def run(seed):
        case = hostile.GENERATORS[klass](random.Random(seed))
        outcome = hostile.run_inline(case)
        assert hostile.judge(case, outcome) == [], (case.what[:200], outcome.code, outcome.err[-800:])

    run()


def test_the_judge_sees_each_kind_of_failure():
    # The harness itself: each kind of failure is recognised, so a 0 in the counts means something.
    refuse = hostile.Case("messages", "x", True, key="terway:podVSwitches.zones.cn-shanghai-f:1", secrets=("vsw-s3cr3t",))
    judge = hostile.judge
    assert judge(refuse, hostile.Outcome(0, "{}", "")) == ["wrongly accepted"]
    assert judge(refuse, hostile.Outcome(None, "", "", hung=True)) == ["hang"]
    assert "traceback" in judge(refuse, hostile.Outcome(3, "", "error: internal error (KeyError: x)\n"))
    assert "leak" in judge(refuse, hostile.Outcome(2, "", "error: invalid input\nterway:x: vsw-s3cr3t is bad\n"))
    # A fake problem line from a key holding a newline, and a key path cut at its second ':'.
    assert "unclear" in judge(refuse, hostile.Outcome(2, "", "error: invalid input\nterway:podVSwitches.zones.cn-shanghai-f\n: bad\n"))
    assert "unclear" in judge(refuse, hostile.Outcome(2, "", "error: invalid input\nterway:podVSwitches.zones.cn-shanghai-f: bad\n"))
    accept = hostile.Case("linear time", "x", False)
    assert judge(accept, hostile.Outcome(2, "", "error: invalid input\nterway:x: no\n")) == ["wrongly refused"]
    assert judge(refuse, hostile.Outcome(2, "", "error: invalid input\nterway:podVSwitches.zones.cn-shanghai-f:1: bad\n")) == []
