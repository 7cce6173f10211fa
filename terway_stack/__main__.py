"""Entry point: `python -m terway_stack plan ...`."""
import os
import sys

from .plan.cli import main

exit_code = main()
sys.stdout.flush()
sys.stderr.flush()
# Pulumi's mock runtime leaves an unclosed event loop in each worker thread; collecting them during
# interpreter teardown can print a spurious asyncio traceback after our clean message. Everything is
# written and flushed, so end here.
os._exit(exit_code)
