"""Read terway-stack's outputs the way the README tells other stacks to, and re-export what was read.

Config (set by e2e/tests/test_consumer_stack.py):
  terway-consumer:terwayStack  the stack to read, `organization/terway/<stack>` on a file backend
  terway-consumer:outputs      JSON list of the output names to read (the test passes the contract's)
"""
import pulumi

config = pulumi.Config()
terway = pulumi.StackReference(config.require("terwayStack"))
names = config.require_object("outputs")

# require_output: a renamed or missing output fails this stack's run instead of reading as None.
read = {name: terway.require_output(name) for name in names}
for name, value in read.items():
    pulumi.export(name, value)

# The values as Python code in a consumer holds them (e.g. numbers arrive as floats), for the test.
pulumi.export("pythonRepr", pulumi.Output.all(**read).apply(lambda values: {n: repr(v) for n, v in values.items()}))
