"""Suite-wide set-up."""
import gc

# Import hypothesis before any Pulumi mock runtime starts: its pytest plugin otherwise imports it at
# session end, while the runtime's worker threads may still be alive, and CPython 3.11's AST state is
# not thread-safe ("AST constructor recursion depth mismatch").
import hypothesis  # noqa: F401


def pytest_collection_finish(session):
    """Move everything imported so far (pulumi, the providers' SDKs, hypothesis, the test modules) out
    of the garbage collector's reach. A full collection then only walks what the tests made since:
    the mock runtime's error path calls gc.collect() (plan/mocks.py) and took about 70 ms a call
    walking the imports; cli_runs.py's zygote does the same for its children."""
    gc.collect()
    gc.freeze()
