"""terway-stack: load settings, build, export. Everything else lives in the terway_stack package."""
import pulumi

from terway_stack.program import run

for name, value in run().items():
    pulumi.export(name, value)
