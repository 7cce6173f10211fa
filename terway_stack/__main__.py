"""Entry point: `python -m terway_stack plan ...`."""
import sys

from .plan.cli import main

sys.exit(main())
