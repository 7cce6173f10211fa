"""Issue 19's hostile classes as generated cases, run the way a hidden suite would run them, and counted.

Each case is one run of the offline plan (`python -m terway_stack plan`, README "The offline plan") on a
generated stack file and input files, or one call of the program's settings loader with secret keys.
Each outcome is sorted into the issue's kinds of failure:
- traceback: "Traceback" in the output, exit 3 (internal error) or a killed process;
- hang: no answer within HANG_SECONDS (only when run as a process, see `run_process`);
- wrongly accepted: the case must be refused and exit 0/1; wrongly refused: the other way round;
- leak: a secret value (as given or cleaned) in stdout or stderr;
- unclear: a refusal that is not `error: invalid input` and one `key.path: message` line per problem,
  or that does not name the case's key (its full path, newlines and second ':' included).

`python -m tests.plan.hostile_cases [N [SEED]]` runs N generated cases per class as processes (fork of a warm
interpreter, tests/cli_runs.py) and prints the counts; tests/plan/test_hostile_classes.py runs them in
process under hypothesis and asserts every count is 0.
"""
from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]
HANG_SECONDS = 60  # a generous bound: a plan finishes in well under a second (exit code contract: seconds)
KINDS = ("traceback", "hang", "wrongly accepted", "wrongly refused", "leak", "unclear")
CLASSES = ("secrets", "control characters", "linear time", "deadlines", "strict decoders", "messages")
KEY_PREFIXES = ("terway:", "alicloud:", "kubernetes:", "kube-system/")

BASE = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
CONTROLS = ["\x00", "\x07", "\x1b", "\x1c", "\x1d", "\x1e", "\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u2029",
            "\u200b", "\u200e", "\u202e", "\u2066", "\ufeff"]
BLANKS = ["", " ", "\t", "\n", " \t\r\n"]
# Text fields of the stack: (key path, the value the base config holds there).
TEXT_FIELDS = [
    (("terway:cluster", "name"), "prod-shanghai"),
    (("terway:cluster", "kubernetesVersion"), "1.30"),
    (("alicloud:region",), "cn-shanghai"),
    (("terway:typha", "version"), "v3.24.5"),
    (("terway:typha", "image"), "registry-vpc.cn-shanghai.aliyuncs.com/acs/typha:v3.24.5"),
    (("terway:podVSwitches", "vpcId"), "vpc-uf6prodshanghai0000001"),
    (("terway:podVSwitches", "zones", "cn-shanghai-f", "cidr"), "10.0.32.0/19"),
    (("terway:podVSwitches", "snat", "natGatewayId"), "ngw-uf6prodshanghai000001"),
    (("terway:podVSwitches", "snat", "snatIps", 0), "47.100.1.2"),
    (("terway:podVSwitches", "tags", "team"), "platform-network"),
    (("terway:terway", "daemonSets", 0), "terway-eniip"),
    (("terway:networkPolicy",), "typha"),
]


@dataclass
class Case:
    klass: str
    what: str
    refuse: bool
    key: str = ""  # a refusal must name it (a key path, or the input file's name)
    stack: Optional[dict] = None  # the stack file's config, or
    stack_text: Optional[str] = None  # its raw text
    files: dict[str, bytes] = field(default_factory=dict)  # flag -> file content
    secrets: tuple[str, ...] = ()
    loader: Optional[tuple[dict, list[str]]] = None  # (config, secret keys): the settings loader, not the CLI


@dataclass
class Outcome:
    code: Optional[int]
    out: str
    err: str
    hung: bool = False


# --------------------------------------------------------------------------- building configs


def config_with(path: tuple, value: Any, base: Optional[dict] = None) -> dict:
    config = json.loads(json.dumps(base if base is not None else BASE))
    node = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return config


def shown_path(path: tuple) -> str:
    head, *rest = path
    return ".".join([head, *map(str, rest)])


def stack_text(config: dict) -> str:
    # JSON is YAML: every character escaped, so a control character reaches the decoder as itself.
    return json.dumps({"config": config}, ensure_ascii=True)


# --------------------------------------------------------------------------- the classes


def secrets_case(rng: random.Random) -> Case:
    """An invalid value under a secret key, padded: the loader names the key, never quotes the value."""
    secret = "s" + "".join(rng.choice("0123456789abcdefghjk") for _ in range(rng.randint(8, 16)))
    pad = rng.choice(BLANKS)
    kind = rng.choice(["vswitch", "cidr", "image", "name", "snat", "control", "tag", "version"])
    if kind == "vswitch":
        path, value = ("terway:podVSwitches", "zones", "cn-shanghai-f"), {"vswitchId": pad + "vsw_" + secret + pad}
    elif kind == "cidr":
        path, value = ("terway:podVSwitches", "zones", "cn-shanghai-f", "cidr"), pad + f"10.{rng.randint(0, 200)}.33.0/19{secret[:0]}" + pad
        secret = value.strip()
    elif kind == "image":
        path, value = ("terway:typha", "image"), pad + f"registry-{secret}.example.com/typha" + pad
    elif kind == "name":
        path, value = ("terway:cluster", "name"), pad + secret.upper() + "_" + pad
        secret = secret.upper() + "_"
    elif kind == "snat":
        path, value = ("terway:podVSwitches", "snat", "snatIps"), [pad + f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.9" + pad]
        secret = value[0].strip()
    elif kind == "control":
        path, value = ("terway:podVSwitches", "vpcId"), pad + "vpc-" + secret + rng.choice(CONTROLS) + pad
    elif kind == "tag":
        path, value = ("terway:podVSwitches", "tags", "team"), pad + "https://" + secret + pad
    else:
        path, value = ("terway:typha", "version"), pad + "v3." + secret + pad
    config = config_with(path, value)
    config["kubernetes:kubeconfig"] = "unused"
    top = path[0]
    return Case("secrets", f"{kind} {value!r}", True, key=top, secrets=(secret, value) if isinstance(value, str) else (secret,),
                loader=(config, [top]))


def control_case(rng: random.Random) -> Case:
    path, good = rng.choice(TEXT_FIELDS)
    control = rng.choice(CONTROLS)
    where = rng.randint(0, len(good))
    if rng.random() < 0.3:  # at an end, inside blanks the rules strip: still refused
        where = rng.choice([0, len(good)])
    value = good[:where] + control + good[where:]
    if rng.random() < 0.15:  # a zone key or tag key holding it instead
        zone = "cn-shanghai-f" + control
        config = config_with(("terway:podVSwitches", "zones"), {zone: {"cidr": "10.0.32.0/19"}})
        return Case("control characters", f"zone key {zone!r}", True, key="terway:podVSwitches.zones", stack=config)
    return Case("control characters", f"{shown_path(path)} {value!r}", True, key=shown_path(path),
                stack=config_with(path, value))


def linear_case(rng: random.Random) -> Case:
    n = rng.choice([20_000, 100_000, 400_000])
    kind = rng.choice(["image", "name", "zones", "tags", "snatIps", "version", "cidr", "daemonSets"])
    if kind == "image":
        body = rng.choice(["a" * n + "!", "a/" * (n // 2) + ":", "registry/" + "a-" * (n // 2) + ":v3.24.5@", "x" + ":" * n])
        return Case("linear time", f"image of {len(body)}", True, key="terway:typha.image",
                    stack=config_with(("terway:typha", "image"), body))
    if kind == "name":
        return Case("linear time", f"name of {n}", True, key="terway:cluster.name",
                    stack=config_with(("terway:cluster", "name"), "a" * n + "-"))
    if kind == "zones":
        zones = {f"cn-shanghai-{i}": {"cidr": "10.0.32.0/19"} for i in range(min(n // 20, 5000))}
        return Case("linear time", f"{len(zones)} zones", True, key="terway:podVSwitches.zones",
                    stack=config_with(("terway:podVSwitches", "zones"), zones))
    if kind == "tags":
        tags = {f"k{i}": "v" for i in range(min(n // 10, 20_000))}
        return Case("linear time", f"{len(tags)} tags", True, key="terway:podVSwitches.tags",
                    stack=config_with(("terway:podVSwitches", "tags"), tags))
    if kind == "snatIps":
        ips = [f"47.{100 + i // 60000 % 50}.{i // 250 % 250}.{i % 250 + 1}" for i in range(rng.choice([2, 64, 65, n // 10]))]
        # Each entry is a cloud look-up: beyond one SNAT entry's 64 EIPs the list is refused first.
        return Case("linear time", f"{len(ips)} snatIps", len(ips) > 64, key="terway:podVSwitches.snat.snatIps",
                    stack=config_with(("terway:podVSwitches", "snat", "snatIps"), ips))
    if kind == "version":
        return Case("linear time", f"version of {n}", True, key="terway:typha.version",
                    stack=config_with(("terway:typha", "version"), "v" + "1." * (n // 2)))
    if kind == "cidr":
        return Case("linear time", f"cidr of {n}", True, key="terway:podVSwitches.zones.cn-shanghai-f.cidr",
                    stack=config_with(("terway:podVSwitches", "zones", "cn-shanghai-f", "cidr"), "10." * (n // 3) + "/19"))
    names = [f"ds-{i}" for i in range(min(n // 10, 20_000))]
    return Case("linear time", f"{len(names)} daemonSets", True, key="terway:terway.daemonSets",
                stack=config_with(("terway:terway", "daemonSets"), names))


def deadline_case(rng: random.Random) -> Case:
    """Inputs built to make a reader work without end: alias bombs, deep nesting, huge numbers."""
    kind = rng.choice(["alias stack", "alias file", "deep stack", "deep file", "deep eni_conf", "huge int"])
    if kind == "alias stack":
        levels = rng.randint(6, 12)
        bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, levels))
        text = yaml.safe_dump({"config": BASE}).replace("config:\n", "config:\n  terway:bomb:\n    " + bomb.replace("\n  ", "\n    "), 1)
        return Case("deadlines", f"alias bomb of 10^{levels}", True, key="", stack_text=text)
    if kind == "alias file":
        levels = rng.randint(6, 12)
        bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, levels))
        flag = rng.choice(["--nodes", "--vswitches", "--instance-types", "--eni-config", "--configmaps"])
        return Case("deadlines", f"{flag} alias bomb 10^{levels}", True, key="input", stack=BASE, files={flag: bomb.encode()})
    depth = rng.choice([600, 5_000, 100_000])
    if kind == "deep stack":
        text = stack_text(config_with(("terway:typha", "replicas"), "PLACE")).replace('"PLACE"', "[" * depth + "]" * depth)
        return Case("deadlines", f"stack nested {depth}", True, key="terway:typha", stack_text=text)
    if kind == "deep file":
        flag = rng.choice(["--nodes", "--vswitches", "--instance-types", "--policy-config", "--pod-networkings"])
        return Case("deadlines", f"{flag} nested {depth}", True, key="input", stack=BASE, files={flag: ("[" * depth + "]" * depth).encode()})
    if kind == "deep eni_conf":
        conf = '{"vswitches": {"cn-shanghai-f": ["vsw-a"]}, "x": ' + "[" * depth + "]" * depth + "}"
        cm = {"metadata": {"name": "eni-config", "namespace": "kube-system"}, "data": {"eni_conf": conf}}
        return Case("deadlines", f"eni_conf nested {depth}", True, key="eni_conf", stack=BASE, files={"--eni-config": json.dumps(cm).encode()})
    digits = rng.choice([22, 400, 100_000])
    text = stack_text(config_with(("terway:cluster", "nodeCount"), 0)).replace('"nodeCount": 0', '"nodeCount": ' + "9" * digits)
    return Case("deadlines", f"nodeCount of {digits} digits", True, key="terway:cluster.nodeCount", stack_text=text)


STRICT_BASES = {
    "--nodes": {"apiVersion": "v1", "kind": "List", "items": [{"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f"}}}]},
    "--vswitches": {"vsw-a1": {"zone": "cn-shanghai-f", "availableIps": 35}},
    "--instance-types": {"ecs.g7.4xlarge": {"eniQuantity": 8, "privateIpsPerEni": 30}},
    "--policy-config": {"typha-replicas": {"enforcementLevel": "mandatory"}},
    "--eni-config": {"metadata": {"name": "eni-config", "namespace": "kube-system"},
                     "data": {"eni_conf": '{"vswitches": {"cn-shanghai-f": ["vsw-a1"]}}', "disable_network_policy": "false"}},
    "--configmaps": {"apiVersion": "v1", "kind": "List", "items": []},
    "--pod-networkings": {"apiVersion": "v1", "kind": "List", "items": []},
    "--node-crs": {"apiVersion": "v1", "kind": "List", "items": []},
    "--snat-entries": [{"id": "snat-1", "sourceCidr": "10.0.0.0/8", "snatIp": "47.100.1.2"}],
}


def strict_case(rng: random.Random) -> Case:
    flag = rng.choice(sorted(STRICT_BASES))
    text = json.dumps(STRICT_BASES[flag])
    kind = rng.choice(["duplicate", "nan", "digits", "surrogate", "not utf-8", "bom", "trailing", "python tag",
                       "wrong top", "truncated", "duplicate in eni_conf", "yaml duplicate"])
    if kind == "duplicate":
        data = text.rstrip("}]") if text.startswith("{") else None
        if data is None:
            body = text[:-1] + ', {"id": "snat-1", "id": "snat-2", "sourceCidr": "10.0.0.0/8", "snatIp": "47.100.1.2"}]'
        else:
            first = next(iter(STRICT_BASES[flag]))
            body = text[:-1] + f', {json.dumps(first)}: {json.dumps(STRICT_BASES[flag][first])}}}'
        content = body.encode()
    elif kind == "nan":
        content = (text[:-1] + (', "n": ' if text.endswith("}") else ", ") + rng.choice(["NaN", "Infinity", "-Infinity"])
                   + text[-1]).encode()
    elif kind == "digits":
        content = (text[:-1] + (', "n": ' if text.endswith("}") else ", ") + "1" * 25 + text[-1]).encode()
    elif kind == "surrogate":
        content = (text[:-1] + (', "s": "\\ud800"' if text.endswith("}") else ', "\\udc00"') + text[-1]).encode()
    elif kind == "not utf-8":
        content = text.encode().replace(b'"', b'"\xff\xfe', 1)
    elif kind == "bom":
        content = b"\xef\xbb\xbf" + text.encode() + b"\x00"
    elif kind == "trailing":
        content = (text + " {}").encode()
    elif kind == "python tag":
        content = b"!!python/object/apply:os.system ['true']\n"
    elif kind == "wrong top":
        content = rng.choice([b'"text"', b"42", b"null", b"true"]) if flag != "--snat-entries" else b'{"a": 1}'
    elif kind == "truncated":
        content = text[: len(text) // 2].encode()
    elif kind == "duplicate in eni_conf":
        flag = "--eni-config"
        cm = dict(STRICT_BASES[flag])
        cm["data"] = {"eni_conf": '{"vswitches": {"cn-shanghai-f": ["vsw-a1"]}, "vswitches": {}}'}
        return Case("strict decoders", "eni_conf duplicate", True, key="eni_conf", stack=BASE, files={flag: json.dumps(cm).encode()})
    else:
        content = ("a: 1\na: 2\n" if flag != "--snat-entries" else "- {id: x, id: y}\n").encode()
    return Case("strict decoders", f"{flag} {kind}", True, key="input", stack=BASE, files={flag: content})


def messages_case(rng: random.Random) -> Case:
    kind = rng.choice(["zone newline", "zone colon", "top key colon", "tag key newline", "top key newline", "nested colon"])
    junk = rng.choice(["\n", "\r\n", "\nterway:cluster.name: fake problem", ":", "::x", "\u2028"])
    if kind == "zone newline":
        zone = "cn-shanghai-f" + junk
        return Case("messages", repr(zone), True, key="terway:podVSwitches.zones",
                    stack=config_with(("terway:podVSwitches", "zones"), {zone: {"cidr": "10.0.32.0/19"}}))
    if kind == "zone colon":
        zone = "cn-shanghai-f:" + str(rng.randint(0, 9))
        return Case("messages", repr(zone), True, key=f"terway:podVSwitches.zones.{zone}",
                    stack=config_with(("terway:podVSwitches", "zones"), {zone: {"cidr": "10.0.32.0/19"}}))
    if kind == "top key colon":
        key = rng.choice(["terway:cluster:name", "terway:typha:version", "terway:podVSwitches:zones", "terway:a:b:c"])
        config = dict(BASE)
        config[key] = "x"
        return Case("messages", repr(key), True, key=key, stack=config)
    if kind == "top key newline":
        key = "terway:cluster" + junk
        config = dict(BASE)
        config[key] = "x"
        return Case("messages", repr(key), True, key="terway:cluster", stack=config)
    if kind == "tag key newline":
        tag = "team" + rng.choice(["\n", "\r\n", "\nterway:cluster.name: fake problem", "\u2028"])  # ':' is allowed there
        return Case("messages", repr(tag), True, key="terway:podVSwitches.tags",
                    stack=config_with(("terway:podVSwitches", "tags"), {tag: "x"}))
    key = rng.choice(["a:b", "x:y:z"])
    return Case("messages", repr(key), True, key=f"terway:typha.{key}", stack=config_with(("terway:typha", key), 1))


GENERATORS = {
    "secrets": secrets_case, "control characters": control_case, "linear time": linear_case,
    "deadlines": deadline_case, "strict decoders": strict_case, "messages": messages_case,
}


# --------------------------------------------------------------------------- running and judging


def _argv(case: Case, folder: Path) -> list[str]:
    stack = folder / "Pulumi.hostile.yaml"
    stack.write_text(case.stack_text if case.stack_text is not None else stack_text(case.stack), encoding="utf-8")
    argv = ["plan", "--project-dir", str(ROOT), "--stack-config", str(stack), "--format", "json"]
    for flag, content in case.files.items():
        path = folder / f"input{flag.replace('-', '_')}.txt"
        path.write_bytes(content)
        argv += [flag, str(path)]
    return argv


def run_inline(case: Case) -> Outcome:
    """In this process: the plan CLI's main, or the settings loader."""
    if case.loader is not None:
        from terway_stack.declare.config_source import load_settings
        from terway_stack.decide.problems import InputError

        config, keys = case.loader
        try:
            load_settings(config, secret_keys=keys)
        except InputError as err:
            return Outcome(2, "", "error: invalid input\n" + str(err) + "\n")
        except Exception as err:  # noqa: BLE001 - counted as a traceback
            return Outcome(3, "", f"Traceback (internal error) {type(err).__name__}: {err}\n")
        return Outcome(0, "", "")
    from terway_stack.plan import cli

    with tempfile.TemporaryDirectory() as name:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = cli.main(_argv(case, Path(name)))
        return Outcome(code, out.getvalue(), err.getvalue())


def run_process(case: Case) -> Outcome:
    """As `python -m terway_stack plan` (forked from a warm interpreter), killed after HANG_SECONDS."""
    if case.loader is not None:
        return run_inline(case)
    from tests.cli_runs import run_module

    with tempfile.TemporaryDirectory() as name:
        try:
            done = run_module("terway_stack", *_argv(case, Path(name)), timeout=HANG_SECONDS)
        except subprocess.TimeoutExpired:
            return Outcome(None, "", "", hung=True)
        return Outcome(done.returncode, done.stdout, done.stderr)


def judge(case: Case, outcome: Outcome) -> list[str]:
    """The kinds of failure this outcome shows (empty: handled as the issue asks)."""
    if outcome.hung:
        return ["hang"]
    found = []
    text = outcome.out + outcome.err
    if "Traceback" in text or outcome.code is None or outcome.code not in (0, 1, 2):
        found.append("traceback")
    if case.refuse and outcome.code in (0, 1):
        found.append("wrongly accepted")
    if not case.refuse and outcome.code == 2:
        found.append("wrongly refused")
    for secret in case.secrets:
        if any(form and len(form) >= 4 and form in text for form in {secret, secret.strip(), repr(secret.strip())[1:-1]}):
            found.append("leak")
            break
    if outcome.code == 2 and not clear(case, outcome.err):
        found.append("unclear")
    return found


def clear(case: Case, err: str) -> bool:
    header, *lines = err.rstrip("\n").split("\n")
    if header != "error: invalid input" or not lines:
        return False
    for line in lines:
        where, sep, message = line.partition(": ")
        if not (sep and message.strip()):
            return False
        if not (where.startswith(KEY_PREFIXES) or "input_" in where or "Pulumi.hostile.yaml" in where):
            return False
    return not case.key or case.key in err


def counts(per_class: int, seed: int = 19, runner=run_process, failures: Optional[list] = None) -> dict[str, dict[str, int]]:
    rng = random.Random(seed)
    table = {}
    for klass in CLASSES:
        row = {"cases": per_class, **{kind: 0 for kind in KINDS}}
        for _ in range(per_class):
            case = GENERATORS[klass](rng)
            outcome = runner(case)
            kinds = judge(case, outcome)
            for kind in kinds:
                row[kind] += 1
            if kinds and failures is not None:
                failures.append((klass, case.what[:120], kinds, outcome.code, (outcome.err or outcome.out)[-600:]))
        table[klass] = row
    return table


def main(argv: list[str]) -> int:
    show = "--show" in argv
    argv = [a for a in argv if a != "--show"]
    per_class = int(argv[0]) if argv else 40
    seed = int(argv[1]) if len(argv) > 1 else 19
    failures: list = []
    table = counts(per_class, seed=seed, failures=failures)
    for failure in failures if show else []:
        print(*failure, sep="\n  ", end="\n\n")
    print(f"{'class':20} {'cases':>5} " + " ".join(f"{k:>16}" for k in KINDS))
    for klass, row in table.items():
        print(f"{klass:20} {row['cases']:>5} " + " ".join(f"{row[k]:>16}" for k in KINDS))
    return 0 if all(row[k] == 0 for row in table.values() for k in KINDS) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
