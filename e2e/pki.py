"""The suite's own admin identity on a kwokctl cluster, and kubeconfigs for it.

kwokctl runs the controller manager and the scheduler with its own admin certificate (kwok-admin), so
the stack and the tests get a user of their own (``ADMIN_USER``, in ``system:masters``), signed by
kwokctl's CA with openssl; otherwise the audit log could not tell our writes from the controllers'.
"""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from e2e.engine_binaries import ControlPlaneError

ADMIN_USER = "terway-e2e-admin"


def _openssl(*args: str) -> None:
    exe = shutil.which("openssl")
    if not exe:
        raise ControlPlaneError("openssl not found on PATH (needed for the test user's client certificate)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ControlPlaneError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def issue_admin_certificate(ca_dir: Path, out_dir: Path) -> tuple[Path, Path]:
    """A client key and certificate for ADMIN_USER, signed by ``ca_dir``/ca.{crt,key}: (crt, key)."""
    out_dir.mkdir(exist_ok=True)
    key, csr, crt = out_dir / "admin.key", out_dir / "admin.csr", out_dir / "admin.crt"
    ext = out_dir / "client.ext"
    ext.write_text("extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    _openssl("req", "-new", "-key", str(key), "-subj", f"/O=system:masters/CN={ADMIN_USER}", "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_dir / "ca.crt"), "-CAkey", str(ca_dir / "ca.key"),
             "-CAcreateserial", "-CAserial", str(out_dir / "ca.srl"), "-days", "2", "-sha256",
             "-extfile", str(ext), "-out", str(crt))
    return crt, key


def write_admin_kubeconfig(kwok_kubeconfig: Path, crt: Path, key: Path, target: Path) -> None:
    """kwokctl's kubeconfig with every user replaced by ADMIN_USER's certificate, readable by us only."""
    cfg = yaml.safe_load(kwok_kubeconfig.read_text())
    for user in cfg.get("users", []):
        user["user"] = {"client-certificate": str(crt), "client-key": str(key)}
    target.write_text(yaml.safe_dump(cfg))
    os.chmod(target, 0o600)


def inline_kubeconfig(kubeconfig: Path, base: Path) -> str:
    """The kubeconfig with its certificate files embedded (``*-data``), relative paths read from ``base``:
    self-contained text, as a Pulumi provider's ``kubeconfig`` input needs."""
    cfg = yaml.safe_load(kubeconfig.read_text())

    def embed(section: dict, key: str) -> None:
        if key in section:
            path = Path(section.pop(key))
            section[f"{key}-data"] = base64.b64encode((base / path).read_bytes()).decode()

    for cluster in cfg.get("clusters", []):
        embed(cluster["cluster"], "certificate-authority")
    for user in cfg.get("users", []):
        embed(user["user"], "client-certificate")
        embed(user["user"], "client-key")
    return yaml.safe_dump(cfg)
