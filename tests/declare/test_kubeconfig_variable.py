"""KUBECONFIG naming several files is merged as kubectl merges them (a new user's report: only the
first file was read). The merge rules are tested as data in tests/decide/test_kubeconfig_merge.py."""
from __future__ import annotations

import os

import pytest
import yaml

from terway_stack.declare.cluster import _kubeconfig_text, _pin_context
from terway_stack.decide.problems import InputError

TOKEN = "tOkEn-5e1d0c9b77aa"


def kubeconfig(current, cluster, server, context):
    document = {"apiVersion": "v1", "kind": "Config",
                "clusters": [{"name": cluster, "cluster": {"server": server}}],
                "users": [{"name": f"{cluster}-admin", "user": {"token": TOKEN}}],
                "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{cluster}-admin"}}]}
    if current:
        document["current-context"] = current
    return yaml.safe_dump(document)


@pytest.fixture
def three_files(tmp_path):
    dev = tmp_path / "dev.yaml"
    dev.write_text(kubeconfig(None, "ack-dev", "https://dev", "dev"))
    prod = tmp_path / "prod.yaml"
    prod.write_text(kubeconfig("prod", "ack-prod", "https://prod", "prod"))
    shadow = tmp_path / "shadow.yaml"
    shadow.write_text(kubeconfig("dev", "ack-prod", "https://not-prod", "prod"))
    return dev, prod, shadow


def test_every_listed_file_is_read_and_the_first_current_context_wins(three_files, tmp_path):
    dev, prod, shadow = three_files
    value = os.pathsep.join([str(dev), str(tmp_path / "missing.yaml"), str(prod), "", str(shadow)])
    text, source = _kubeconfig_text({}, {"KUBECONFIG": value})
    merged = yaml.safe_load(text)
    assert source == "KUBECONFIG (3 files merged)"
    assert merged["current-context"] == "prod"  # dev.yaml sets none; prod.yaml is the first that does
    assert {c["name"]: c["cluster"]["server"] for c in merged["clusters"]} == {"ack-dev": "https://dev", "ack-prod": "https://prod"}
    assert sorted(c["name"] for c in merged["contexts"]) == ["dev", "prod"]
    # kubernetes:context may name a context from any of the files
    assert yaml.safe_load(_pin_context(text, "dev", source))["current-context"] == "dev"


def test_one_file_is_used_as_it_is(three_files):
    dev, _, _ = three_files
    assert _kubeconfig_text({}, {"KUBECONFIG": str(dev)}) == (dev.read_text(), "KUBECONFIG")


def test_a_broken_file_in_the_list_is_named_without_its_text(three_files, tmp_path):
    dev, prod, _ = three_files
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"users:\n  - name: x\n    token: {TOKEN}\n   bad: [\n")
    with pytest.raises(InputError) as caught:
        _kubeconfig_text({}, {"KUBECONFIG": os.pathsep.join([str(dev), str(broken), str(prod)])})
    message = str(caught.value)
    assert message.startswith(f"KUBECONFIG (file 2 of 3: {broken}): is not valid YAML at line")
    assert TOKEN not in message
