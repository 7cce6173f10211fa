"""What the plan prints of a resource's inputs: secrets hidden, every other special value shown."""
from __future__ import annotations

from pulumi.runtime import rpc

from terway_stack.plan.resources import REDACTED, public_inputs

# Pulumi's own markers (pulumi/runtime/rpc.py), not ours: a map with the signature key is a special
# value, and the signature says which kind.
SIG = rpc._special_sig_key


def test_secrets_are_redacted_wherever_they_are():
    secret = {SIG: rpc._special_secret_sig, "value": "tok-123"}
    secret_output = {SIG: rpc._special_output_value_sig, "value": "tok-456", "secret": True}
    shown = public_inputs({"a": secret, "b": [{"c": secret}], "d": secret_output})
    assert shown == {"a": REDACTED, "b": [{"c": REDACTED}], "d": REDACTED}
    assert "tok-" not in repr(shown)


def test_assets_resource_references_and_plain_output_values_are_not_secrets():
    asset = {SIG: rpc._special_asset_sig, "path": "/srv/typha.yaml"}
    archive = {SIG: rpc._special_archive_sig, "assets": {}}
    reference = {SIG: rpc._special_resource_sig, "urn": "urn:pulumi:prod::terway::kubernetes:core/v1:Service::typha"}
    output = {SIG: rpc._special_output_value_sig, "value": "calico-typha"}
    inputs = {"asset": asset, "archive": archive, "reference": reference, "output": output}
    assert public_inputs(inputs) == inputs


def test_the_kubeconfig_and_the_pickled_provider_are_never_printed():
    shown = public_inputs({"kubeconfig": "apiVersion: v1\nusers: [token: x]", "__provider": "gASV..."})
    assert shown == {"kubeconfig": REDACTED, "__provider": "[serialized dynamic provider]"}
