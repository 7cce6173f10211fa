import pytest

from terway_stack.fleet.selection import SelectionError, filter_by_wave, plan_waves, select_stacks


def test_globs_select_by_name_and_no_glob_selects_all():
    names = ["prod-shanghai", "prod-beijing", "staging", "dev"]
    assert select_stacks(names, ["prod-*"]) == ["prod-beijing", "prod-shanghai"]
    assert select_stacks(names, ["dev", "stag*"]) == ["dev", "staging"]
    assert select_stacks(names) == sorted(names)
    assert select_stacks(names, ["nothing-*"]) == []


def test_wave_values_order_canary_first_then_numbers_then_untagged_batches():
    waves = plan_waves({"prod-a": "2", "prod-b": "1", "dev": "canary", "staging": "1", "lab": None, "qa": None}, batch_size=1)
    assert [(w.label, w.stacks) for w in waves] == [
        ("canary", ("dev",)),
        ("wave 1", ("prod-b", "staging")),
        ("wave 2", ("prod-a",)),
        ("batch 1", ("lab",)),
        ("batch 2", ("qa",)),
    ]
    assert [w.index for w in waves] == [0, 1, 2, 3, 4]


def test_without_wave_values_the_first_stacks_are_the_canary_and_the_rest_are_batches():
    waves = plan_waves({name: None for name in ["e", "d", "c", "b", "a"]}, canary=1, batch_size=2)
    assert [(w.label, w.stacks) for w in waves] == [("canary", ("a",)), ("batch 1", ("b", "c")), ("batch 2", ("d", "e"))]
    one_batch = plan_waves({name: None for name in "abc"}, canary=0)
    assert [(w.label, w.stacks) for w in one_batch] == [("batch 1", ("a", "b", "c"))]


def test_a_bad_wave_value_names_the_stack_and_the_key():
    with pytest.raises(SelectionError, match=r"stack prod: fleet:wave is 'first': use 'canary' or a whole number"):
        plan_waves({"prod": "first"})
    with pytest.raises(SelectionError, match="stack x: team:wave is '٣'"):
        plan_waves({"x": "٣"}, key="team:wave")  # an Arabic-Indic digit is not a wave number


def test_filter_by_wave_value():
    assert filter_by_wave({"a": "canary", "b": "1", "c": None, "d": " 1 "}, ["1"]) == ["b", "d"]
