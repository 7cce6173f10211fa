"""Entry point: `python -m terway_stack plan ...` and `python -m terway_stack fleet preview|up|drift ...`."""
import os
import sys

if sys.argv[1:2] == ["fleet"]:
    from .fleet.cli import main as fleet_main

    sys.exit(fleet_main(sys.argv[2:]))

from .plan.cli import main  # noqa: E402

exit_code = main()
sys.stdout.flush()
sys.stderr.flush()
# Pulumi's mock runtime leaves an unclosed event loop in each worker thread; collecting them during
# interpreter teardown can print a spurious asyncio traceback after our clean message. Everything is
# written and flushed, so end here.
os._exit(exit_code)
