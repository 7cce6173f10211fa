"""terway-stack: load settings, build, export. Everything else lives in the terway_stack package."""
import pulumi

from terway_stack.act.quick_exit import skip_final_collections
from terway_stack.program import exit_quietly_when_cancelled, run

exit_quietly_when_cancelled()
skip_final_collections()
for name, value in run().items():
    pulumi.export(name, value)
