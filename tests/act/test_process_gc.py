"""The two processes the engine waits on end without walking their heap again (act/process_gc.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Printed by an exit handler registered first, so it runs after every later one (atexit is LIFO).
REPORT_AT_EXIT = "import atexit, gc\natexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
AS_DYNAMIC_PROVIDER = (  # what `python -m pulumi.dynamic` makes of __main__
    "import importlib.machinery, sys\n"
    "sys.modules['__main__'].__spec__ = importlib.machinery.ModuleSpec('pulumi.dynamic.__main__', None)\n"
)


def python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout


def test_the_program_freezes_the_collector_at_exit():
    code = REPORT_AT_EXIT + "from terway_stack.act.process_gc import skip_final_collections\nskip_final_collections()\n"
    assert python(code).strip() == "frozen at exit: True"
    assert python(REPORT_AT_EXIT).strip() == "frozen at exit: False"  # the interpreter's own exit


def test_the_dynamic_provider_process_freezes_its_modules_and_its_exit():
    code = REPORT_AT_EXIT + AS_DYNAMIC_PROVIDER + (
        "import gc\nimport terway_stack.act.preflight\nprint('modules frozen:', gc.get_freeze_count() > 0)\n"
    )
    assert python(code).split("\n")[:2] == ["modules frozen: True", "frozen at exit: True"]


def test_elsewhere_importing_a_provider_changes_nothing():
    code = REPORT_AT_EXIT + "import gc\nimport terway_stack.act.preflight\nprint('modules frozen:', gc.get_freeze_count() > 0)\n"
    assert python(code).split("\n")[:2] == ["modules frozen: False", "frozen at exit: False"]
