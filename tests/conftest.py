"""Suite-wide set-up."""
# Import hypothesis before any Pulumi mock runtime starts: its pytest plugin otherwise imports it at
# session end, while the runtime's worker threads may still be alive, and CPython 3.11's AST state is
# not thread-safe ("AST constructor recursion depth mismatch").
import hypothesis  # noqa: F401
