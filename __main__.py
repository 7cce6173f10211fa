"""terway-stack: load settings, build, export. Everything else lives in the terway_stack package."""
import pulumi

from terway_stack.act.process_gc import freeze_loaded_modules, skip_final_collections
from terway_stack.program import exit_quietly_when_cancelled, run

exit_quietly_when_cancelled()
freeze_loaded_modules()  # the program's modules are imported: act/process_gc.py
skip_final_collections()
for name, value in run().items():
    pulumi.export(name, value)
