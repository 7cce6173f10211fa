"""Issue 11 §4 through `python -m terway_stack plan`: every bad input exits 2 with `key: message` lines
on stderr within seconds, never a traceback; a bug exits 3 with one line."""
from __future__ import annotations

import io
import json
import subprocess
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from terway_stack.plan import cli
from tests.cli_runs import run_module

ROOT = Path(__file__).resolve().parents[2]
PROD = (ROOT / "Pulumi.prod.yaml").read_text()


def plan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = run_module("terway_stack", "plan", "--project-dir", str(ROOT), *args, env=env, timeout=60, text=False)
    result.seconds = time.monotonic() - started
    return result


def plan_file(tmp_path: Path, content: str | bytes, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    return plan("--stack-config", str(path), *args)


def prod_with(old: str, new: str) -> str:
    assert old in PROD
    return PROD.replace(old, new, 1)


def assert_refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr and result.stdout == b""
    for line in expected:
        assert line in stderr, stderr
    assert result.seconds < 20
    return stderr


SNAT_IPS = "        - 47.100.1.2\n        - 47.100.1.3\n"

# (stack file content, lines that must be on stderr)
REFUSED = {
    "list-in-list": (
        prod_with(SNAT_IPS, '        - ["47.100.1.2"]\n'),
        ["terway:podVSwitches.snat.snatIps.0: expected an IPv4 address as a string"],
    ),
    "number-as-eip": (prod_with(SNAT_IPS, "        - 1\n"), ["terway:podVSwitches.snat.snatIps.0: expected an IPv4 address as a string"]),
    "yaml-date": (
        prod_with('kubernetesVersion: "1.30"', "kubernetesVersion: 2024-01-01"),
        ["terway:cluster.kubernetesVersion: '2024-01-01' is not a Kubernetes version"],
    ),
    "integer-top-level-key": ("config:\n  1: x\n", ["Pulumi.bad.yaml: config: keys must be strings such as terway:cluster, not 1"]),
    "binary-top-level-key": ("config:\n  !!binary aGVsbG8=: x\n", ["Pulumi.bad.yaml: config: keys must be strings"]),
    "binary-value": (
        prod_with("name: prod-shanghai", "name: !!binary aGVsbG8="),
        ["terway:cluster.name: a binary (!!binary) value is not supported"],
    ),
    "lone-surrogate": (prod_with("name: prod-shanghai", 'name: "\\ud800"'), ["terway:cluster.name: is not valid Unicode text"]),
    "deep-nesting": ("config:\n  terway:typha: " + "[" * 100_000 + "]" * 100_000 + "\n", ["terway:typha.0.0.0", "is nested more than 32 levels deep"]),
    "alias-of-itself": ("config:\n  terway:typha: &a [*a]\n", ["terway:typha.0.0.0", "is nested more than 32 levels deep"]),
    "alias-bomb": (
        "config:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(f"  {n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi")),
        ["Pulumi.bad.yaml: expands to more than 100000 values (through YAML aliases?)"],
    ),
    "1e308": (prod_with("nodeCount: 1200", "nodeCount: 1e308"), ["terway:cluster.nodeCount: expected an integer, got 1e+308"]),
    "duplicate-key": (
        prod_with("nodeCount: 1200", "nodeCount: 1200\n    nodeCount: 12"),
        ["terway:cluster.nodeCount: duplicate key (lines 8 and 9); the Pulumi CLI refuses it"],
    ),
    "duplicate-top-level-key": (
        prod_with("  terway:networkPolicy: typha", "  terway:networkPolicy: typha\n  terway:networkPolicy: direct"),
        ["terway:networkPolicy: duplicate key"],
    ),
    "snake-case": (
        prod_with("nodeCount: 1200", "node_count: 1200"),
        ["terway:cluster.node_count: unknown key: keys are camelCase, did you mean nodeCount?"],
    ),
    "unicode-digits": (prod_with("version: v3.24.5", "version: v٣.٢٤.٥"), ["terway:typha.version: 'v٣.٢٤.٥' is not a Calico release tag"]),
    "private-eip": (prod_with("- 47.100.1.3", "- 10.0.0.8"), ["terway:podVSwitches.snat.snatIps.1: 10.0.0.8 is a private address"]),
    "zone-without-dash": (
        prod_with("cn-shanghai-g:", "cn-shanghaig:"),
        ["terway:podVSwitches.zones.cn-shanghaig: zone 'cn-shanghaig' is not in region cn-shanghai"],
    ),
    "cidr-leading-zero": (
        prod_with("cidr: 10.0.32.0/19", "cidr: 10.0.32.0/019"),
        ["terway:podVSwitches.zones.cn-shanghai-f.cidr: '10.0.32.0/019': write the prefix length without leading zeros"],
    ),
    "acs-tag": (prod_with("team: platform-network", "acs:team: platform-network"), ["terway:podVSwitches.tags: 'acs:team': a tag key may not start"]),
    "secret-where-the-plan-must-read": (
        prod_with("cidr: 10.0.32.0/19", "cidr:\n          secure: v1:AAAA"),
        ["terway:podVSwitches.zones.cn-shanghai-f.cidr: is encrypted, and the offline plan cannot read it"],
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_bad_stack_files_exit_2_naming_the_key(tmp_path, name):
    content, expected = REFUSED[name]
    assert_refused(plan_file(tmp_path, content), *expected)


def test_non_utf8_stack_file_exits_2(tmp_path):
    assert_refused(plan_file(tmp_path, PROD.encode().replace(b"prod-shanghai", b"prod-\xff", 1)), "is not UTF-8 text (byte 0xff")


def test_a_secret_inside_a_list_is_planned_and_shown_as_secret(tmp_path):
    # What `pulumi config set --secret --path 'terway:podVSwitches.snat.snatIps[1]' 47.100.1.3` writes.
    result = plan_file(tmp_path, prod_with("        - 47.100.1.3\n", "        - secure: v1:c2VjcmV0LWNpcGhlcnRleHQ=\n"), "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    document = json.loads(result.stdout)
    snat = [r["inputs"]["snatIp"] for r in document["resources"] if r["type"] == "alicloud:vpc/snatEntry:SnatEntry"]
    assert snat == ["47.100.1.2,[secret]", "47.100.1.2,[secret]"]
    assert "c2VjcmV0" not in result.stdout.decode()


def test_eni_conf_as_a_yaml_mapping_fails_within_seconds(tmp_path):
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "eni-config"},
                 "data": {"eni_conf": {"vswitches": {"cn-shanghai-f": ["vsw-a"]}}}}
    path = tmp_path / "eni-config.yaml"
    path.write_text(yaml.safe_dump(configmap))
    result = plan("--stack", "prod", "--eni-config", str(path))
    assert_refused(result, "kube-system/eni-config:eni_conf: must be a string (a ConfigMap's data values are strings), got a dict")
    assert result.seconds < 10


def run_main(argv: list[str], monkeypatch=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_an_internal_error_exits_3_with_one_line(monkeypatch):
    def broken(args, out=None):
        raise KeyError("something the code did not expect\nsecond line")

    monkeypatch.setattr(cli, "plan", broken)
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    code, out, err = run_main(["plan", "--stack", "prod"])
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: internal error (KeyError: ")
    assert "Traceback" not in err
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    code, _, err = run_main(["plan", "--stack", "prod"])
    assert code == 3 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("error: internal error")


# A stalled plan: tests/plan/test_deadline.py (in a subprocess, since the deadline ends the process).


# --- property: generated stack files through the real entry point (in process, so it stays fast) ---

# YAML text as a user might type it: scalars YAML reads as something else, then lists and mappings of them.
YAML_ATOMS = st.sampled_from([
    "47.100.1.2", "1", "2024-01-01", "!!binary aGk=", '"\\ud800"', "{secure: v1:x}", ".nan", "1e308", "~", "yes", "0x1F",
    "10.0.32.0/019", "v٣.٢٠.٢", "cn-shanghaif", "0.0.0.0", "&a [*a]", "[" * 300 + "]" * 300, "{1: x}", "{a: 1, a: 2}",
])
YAML_SNIPPETS = st.recursive(
    YAML_ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(["a", "cidr", "1", "node_count"]), inner), max_size=2).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
    ),
    max_leaves=4,
)
HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(), st.text(max_size=20),
    YAML_SNIPPETS.map(lambda text: f"<<{text}>>"),
)
PATHS = [
    ("terway:cluster", "nodeCount"), ("terway:cluster", "kubernetesVersion"), ("terway:cluster", "name"), ("terway:networkPolicy",),
    ("terway:typha", "version"), ("terway:typha", "replicas"), ("terway:podVSwitches", "snat", "snatIps"),
    ("terway:podVSwitches", "snat", "snatIps"), ("terway:podVSwitches", "zones"),
    ("terway:podVSwitches", "zones", "cn-shanghai-f", "cidr"), ("terway:podVSwitches", "tags"), ("alicloud:region",),
    ("terway:terway", "daemonSets"), ("terway:terway", "restartTimeoutSeconds"),
]


def _stack_text(path: tuple, value) -> str:
    """The prod stack file with one value replaced; sampled YAML snippets go in as raw text."""
    placeholder = "__HOSTILE__"
    config = yaml.safe_load(PROD)["config"]
    node = config
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
    node[path[-1]] = placeholder
    text = yaml.safe_dump({"config": config}, allow_unicode=False)
    raw = value[2:-2] if isinstance(value, str) and value.startswith("<<") and value.endswith(">>") else None
    return text.replace(placeholder, raw if raw is not None else json.dumps(value, ensure_ascii=True))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=HOSTILE)
# The issue's repro and what this property found in the fix itself are always among the inputs.
@example(path=("terway:podVSwitches", "snat", "snatIps"), value="<<[[47.100.1.2]]>>")
@example(path=("terway:cluster", "nodeCount"), value="<<&0 [*0]>>")
def test_generated_stack_files_exit_0_1_or_2_and_every_refusal_names_a_key(path, value):
    with tempfile.TemporaryDirectory() as folder:
        stack = Path(folder) / "Pulumi.gen.yaml"
        stack.write_text(_stack_text(path, value), encoding="utf-8", errors="surrogatepass")
        code, out, err = run_main(["plan", "--project-dir", str(ROOT), "--stack-config", str(stack), "--format", "json"])
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
    if code == 2:
        header, *problems = err.rstrip("\n").split("\n")
        assert header == "error: invalid input" and problems, err
        for line in problems:
            key, sep, message = line.partition(": ")
            assert sep and message and (key.startswith(("terway:", "alicloud:", "kubernetes:")) or str(stack) in key), line
    else:
        json.loads(out)
