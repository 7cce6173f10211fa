"""Issue 11 §3 and §4 under the real Pulumi CLI: bad input stops `pulumi preview` with the key named, no
traceback, no write; a secret never reaches the output or the engine's log.

Real here: the Pulumi CLI and engine, the Python language host, pulumi-resource-kubernetes 4.32.0, the
program, and a local control plane with an audit log. The stack adopts its pod vSwitches, so no cloud
call is made. Run with `make e2e` (it builds the engine and puts it on PATH).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from e2e.controlplane import ADMIN_USER, ControlPlane  # noqa: E402
from e2e.pulumi_project import PulumiCli, copy_project  # noqa: E402

STACK = "badinput"
TOKEN = "e2eTOKEN-5c2f9a71d3b84e06"
BASE_CONFIG = {
    "alicloud:region": "cn-shanghai",
    "terway:cluster": {"name": "bad-input", "kubernetesVersion": "1.34", "nodeCount": 2},
    "terway:networkPolicy": "direct",
    "terway:podVSwitches": {"zones": {"cn-shanghai-f": {"vswitchId": "vsw-e2ebadinput"}}},
    "terway:cloudLookups": False,  # no Alibaba Cloud here
}
# The token sits on the line PyYAML quotes in its error ("while parsing a flow mapping ... in <unicode string>").
MALFORMED_KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {{server: "https://127.0.0.1:1"}}
users:
- name: admin
  user: {{token: {TOKEN}
  bad: [unclosed
contexts:
- name: local-admin
  context: {{cluster: local, user: admin}}
current-context: local-admin
"""


@pytest.fixture(scope="module")
def cp():
    plane = ControlPlane(nodes=2, timeout=480).start()  # the machine is shared: allow a slow start
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture()
def pulumi(cp, tmp_path):
    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    cli = PulumiCli(project, tmp_path / "pulumi", on_error=pytest.fail)
    stack_file = project / f"Pulumi.{STACK}.yaml"

    def write_stack(config: dict) -> None:
        # Keeps what `pulumi stack init` / `config set` put there (encryption salt, the secret kubeconfig).
        document = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else {}
        document = document or {}
        document["config"] = {**(document.get("config") or {}), **config}
        stack_file.write_text(yaml.safe_dump(document))

    cli.write_stack = write_stack
    write_stack(BASE_CONFIG)
    cli("stack", "init", STACK)
    cli("config", "set", "--secret", "kubernetes:kubeconfig", "--", cp.kubeconfig_inline())
    return cli


def preview_with_engine_log(pulumi, tmp_path: Path) -> tuple[int, str, str]:
    """`pulumi preview` with the engine's most verbose log on stderr; glog files (if any) under a private TMPDIR."""
    logs = tmp_path / "glog"
    logs.mkdir()
    saved = pulumi.env
    pulumi.env = {**saved, "TMPDIR": str(logs)}
    try:
        result = pulumi("preview", "--logflow", "-v=9", "--logtostderr", check=False, timeout=300)
    finally:
        pulumi.env = saved
    files = "".join(p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())
    home_logs = tmp_path / "pulumi" / "pulumi-home" / "logs"
    if home_logs.is_dir():
        files += "".join(p.read_text(errors="replace") for p in home_logs.rglob("*") if p.is_file())
    return result.returncode, result.stdout + result.stderr, files


def test_a_malformed_secret_kubeconfig_never_shows_its_token(cp, pulumi, tmp_path):
    pulumi("config", "set", "--secret", "kubernetes:kubeconfig", "--", MALFORMED_KUBECONFIG)
    pulumi("config", "set", "kubernetes:context", "local-admin")
    assert TOKEN not in (pulumi.workdir / f"Pulumi.{STACK}.yaml").read_text()  # encrypted at rest
    since = cp.audit_offset()

    code, output, log_files = preview_with_engine_log(pulumi, tmp_path)

    assert code != 0
    assert '"v":9' in output, output[-2000:]  # the engine's most verbose log really is in there
    leaked = [line for line in output.splitlines() if TOKEN[:12] in line]
    assert leaked == [], leaked
    assert TOKEN not in log_files
    assert "Traceback" not in output
    assert "kubernetes:kubeconfig: is not valid YAML at line 9, column 6; its text is a secret and is not shown" in output, output[-3000:]
    assert cp.write_summary(since, user=ADMIN_USER) == {}


def test_a_kubeconfig_with_a_duplicate_key_is_refused_without_its_text(cp, pulumi, tmp_path):
    # Issue 19: the second `token:` would silently win under a lenient parser (a hidden credential).
    text = cp.kubeconfig_inline()
    first = next(iter(yaml.safe_load(text)))  # a top-level key the kubeconfig has: given a second time
    duplicated = text.rstrip("\n") + f"\n{first}: {TOKEN}\n"
    pulumi("config", "set", "--secret", "kubernetes:kubeconfig", "--", duplicated)
    since = cp.audit_offset()

    result = pulumi("preview", check=False)
    output = result.stdout + result.stderr

    assert result.returncode != 0
    assert "kubernetes:kubeconfig: has a duplicate mapping key (lines" in output, output[-3000:]
    assert "its text is a secret and is not shown" in output
    assert TOKEN not in output and "Traceback" not in output
    assert cp.write_summary(since, user=ADMIN_USER) == {}


def test_a_list_inside_snat_ips_is_refused_by_key_without_traceback(cp, pulumi):
    config = dict(BASE_CONFIG)
    config["terway:podVSwitches"] = {
        **BASE_CONFIG["terway:podVSwitches"],
        "snat": {"snatTableId": "stb-e2e", "snatIps": [["47.100.1.2"]]},
    }
    pulumi.write_stack(config)
    since = cp.audit_offset()
    result = pulumi("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'terway:podVSwitches.snat.snatIps.0: expected an IPv4 address as a string, e.g. "47.100.1.2"' in output, output[-3000:]
    assert "Traceback" not in output
    assert cp.write_summary(since, user=ADMIN_USER) == {}


def test_a_secret_inside_a_list_works_and_an_error_about_it_does_not_quote_it(cp, pulumi):
    config = dict(BASE_CONFIG)
    config["terway:podVSwitches"] = {**BASE_CONFIG["terway:podVSwitches"], "snat": {"snatTableId": "stb-e2e", "snatIps": ["47.100.1.3"]}}
    pulumi.write_stack(config)
    pulumi("config", "set", "--secret", "--path", "terway:podVSwitches.snat.snatIps[1]", "47.100.1.2")
    stack_file = (pulumi.workdir / f"Pulumi.{STACK}.yaml").read_text()
    assert "secure:" in stack_file and "47.100.1.2" not in stack_file  # an envelope inside the list
    ok = pulumi("preview", check=False)
    assert ok.returncode == 0, (ok.stdout + ok.stderr)[-3000:]

    # The same list with a private address as the secret: refused by key, and the value is not shown.
    pulumi("config", "set", "--secret", "--path", "terway:podVSwitches.snat.snatIps[1]", "10.9.8.7")
    since = cp.audit_offset()
    refused = pulumi("preview", check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "terway:podVSwitches.snat.snatIps.1: [secret] is a private address" in output, output[-3000:]
    assert "10.9.8.7" not in output and "Traceback" not in output
    assert cp.write_summary(since, user=ADMIN_USER) == {}
