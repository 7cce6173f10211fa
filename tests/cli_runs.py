"""``python -m <module> <args>`` as its own process, forked from a warm interpreter.

A fresh interpreter spends about 0.8 s of CPU importing Pulumi, pulumi_kubernetes and pulumi_alicloud
before a plan does 0.1-0.3 s of work, and the plan tests run the CLI some sixty times. So one
interpreter (the zygote) is started as the real command would be (this Python, the repo as working
directory and PYTHONPATH, PATH=/usr/bin:/bin and nothing else), imports those modules once, and forks
one child per run. The zygote only imports: it never runs a program, so each child starts from the
state a fresh ``python -m`` reaches after its imports. The child has its own argv, environment, stdin
(/dev/null), stdout and stderr (files read back here), runs the module as ``__main__`` with
``runpy``, and its exit status comes back exactly as ``subprocess.run`` reports it (negative for a
signal). A child that outlives ``timeout`` is killed and ``subprocess.TimeoutExpired`` is raised.

What a forked child cannot show is anything that differs between fresh interpreters, such as hash
randomisation (the children share the zygote's seed): a test about that passes ``fresh=True`` and
gets a real ``subprocess.run``.
"""
from __future__ import annotations

import atexit
import io
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
BASE_ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
# What `python -m terway_stack plan` imports, some of it lazily (the program after validation, the
# providers' modules on first use). Never a module that is run as __main__: a fresh `python -m` has
# not imported it before it runs (the child refuses to run one that is in sys.modules).
PRELOAD = (
    "terway_stack.plan.cli",
    "terway_stack.program",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.apps.v1",
    "pulumi_kubernetes.apps.v1beta1",
    "pulumi_kubernetes.apps.v1beta2",
    "pulumi_kubernetes.meta.v1",
    "pulumi_kubernetes.policy.v1",
    "pulumi_kubernetes.policy.v1beta1",
    "pulumi_kubernetes.apiextensions",
    "pulumi_kubernetes.apiextensions.v1",
    "pulumi_kubernetes.apiextensions.v1beta1",
    "pulumi_alicloud.vpc",
    "pulumi_alicloud.ecs",
    "kubernetes.config",  # the Kubernetes client, which the preview's live reads import on first use
)

# The zygote: imports, then serves one JSON request per line on stdin, one JSON reply per line on stdout.
_ZYGOTE = r"""
import atexit, gc, importlib, importlib.util, json, os, runpy, sys, threading, traceback
for name in sys.argv[1:]:
    # A provider SDK's lazy module loads on its first attribute use. Not on dir(): pulumi's _LazyModule
    # answers __dict__ (and so dir()) without loading, and each child then loaded it again itself.
    getattr(importlib.import_module(name), "__all__", None)
# Forking a process with other threads running could copy a lock held by one of them.
assert threading.active_count() == 1, f"threads after the imports: {threading.enumerate()}"
# The imports' objects stay alive for good: keep them out of the children's garbage collections, which
# would otherwise walk (and so copy) the whole inherited heap. Only timing changes.
gc.freeze()
replies = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # whatever else prints goes to stderr, never into the replies
while True:
    line = sys.stdin.readline()
    if not line:
        break
    request = json.loads(line)
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(replies.fileno())
            os.setpgid(0, 0)
            os.chdir(request["cwd"])
            os.environ.clear(); os.environ.update(request["env"])
            for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                                    (2, request["stderr"], os.O_WRONLY)):
                opened = os.open(path, flags); os.dup2(opened, fd); os.close(opened)
            module = request["module"]
            if importlib.util.find_spec(module).submodule_search_locations is not None:
                module += ".__main__"  # a package runs its __main__
            if module in sys.modules:
                raise RuntimeError(f"{module} was imported by the zygote: python -m would run it fresh")
            sys.argv = ["-m", *request["args"]]
            sys.path[0] = request["cwd"]
            try:
                runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
                code = 0
            except SystemExit as stop:
                if stop.code is None or isinstance(stop.code, int):
                    code = stop.code or 0
                else:
                    print(stop.code, file=sys.stderr); code = 1
            except BaseException:
                traceback.print_exc(); code = 1
            atexit._run_exitfuncs()
        finally:
            try:
                sys.stdout.flush(); sys.stderr.flush()
            finally:
                os._exit(code)
    print(json.dumps({"pid": pid}), file=replies, flush=True)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), file=replies, flush=True)
"""


class _Zygote:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, *PRELOAD], cwd=ROOT, env=BASE_ENV,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
        )
        self._pending = b""  # read from the pipe, not yet returned
        atexit.register(self.close)

    def _reply(self, timeout: Optional[float]) -> dict:
        while b"\n" not in self._pending:
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"the test zygote exited ({self.process.wait()}); run with fresh=True to see why")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return json.loads(line)

    def run(self, request: dict, timeout: Optional[float]) -> int:
        data = json.dumps(request).encode() + b"\n"
        while data:
            data = data[os.write(self.process.stdin.fileno(), data):]
        pid = self._reply(30)["pid"]
        try:
            return self._reply(timeout)["returncode"]
        except TimeoutError:
            os.killpg(pid, signal.SIGKILL)
            self._reply(None)
            raise

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=30)


_zygote: Optional[_Zygote] = None


def _decoded(data: bytes, text: bool):
    # As subprocess.run(text=True) decodes: the locale's encoding, universal newlines.
    return io.TextIOWrapper(io.BytesIO(data)).read() if text else data


def run_module(
    module: str, *args: str, env: Optional[dict] = None, timeout: float = 120, text: bool = True, fresh: bool = False
) -> subprocess.CompletedProcess:
    """``python -m module args`` in the repo, with PATH, PYTHONPATH and ``env``; output captured."""
    global _zygote
    command = [sys.executable, "-m", module, *args]
    full_env = {**BASE_ENV, **(env or {})}
    if fresh:
        return subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=text, timeout=timeout)
    if _zygote is None or _zygote.process.poll() is not None:
        _zygote = _Zygote()
    with tempfile.TemporaryDirectory(prefix="cli-run-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        out.touch(), err.touch()
        request = {"module": module, "args": list(args), "cwd": str(ROOT), "env": full_env,
                   "stdout": str(out), "stderr": str(err)}
        try:
            code = _zygote.run(request, timeout)
        except TimeoutError:
            raise subprocess.TimeoutExpired(command, timeout, out.read_bytes(), err.read_bytes()) from None
        return subprocess.CompletedProcess(command, code, _decoded(out.read_bytes(), text), _decoded(err.read_bytes(), text))

