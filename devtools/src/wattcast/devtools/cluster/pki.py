"""The control plane's keys and certificates, made with the openssl command line.

One CA signs the API server's serving certificate and the client certificates of the admin and
the controller manager; a separate RSA key pair signs and verifies ServiceAccount tokens.
Everything is made once per work directory and reused when the control plane restarts.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

# The names the API server's certificate answers to: loopback, and the in-cluster names a
# client may use for the `kubernetes` Service (first address of the service range).
SERVER_SANS = (
    "IP:127.0.0.1",
    "IP:10.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)
_DAYS = "3650"


@dataclass(frozen=True)
class ClientCert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Paths of everything the control plane's processes are given."""

    dir: Path
    ca_cert: Path
    ca_key: Path
    server: ClientCert
    admin: ClientCert
    controller_manager: ClientCert
    sa_key: Path
    sa_pub: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _new_key(path: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", str(path)
    )


def _signed(
    pki_dir: Path, name: str, subject: str, ca: Path, ca_key: Path, extensions: list[str]
) -> ClientCert:
    cert, key, csr = (pki_dir / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
    _new_key(key)
    request = ["req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr)]
    for extension in extensions:
        request += ["-addext", extension]
    _openssl(*request)
    _openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        _DAYS,
        "-copy_extensions",
        "copyall",
        "-out",
        str(cert),
    )
    csr.unlink()
    return ClientCert(cert, key)


def ensure_pki(pki_dir: Path) -> Pki:
    """Make the CA, the certificates and the ServiceAccount keys unless they exist."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = pki_dir / "ca.crt", pki_dir / "ca.key"
    sa_key, sa_pub = pki_dir / "sa.key", pki_dir / "sa.pub"
    names = {
        "server": (
            "/CN=kube-apiserver",
            ["subjectAltName=" + ",".join(SERVER_SANS), "extendedKeyUsage=serverAuth"],
        ),
        # system:masters is bound to cluster-admin by the API server's bootstrap policy.
        "admin": ("/O=system:masters/CN=wattcast-admin", ["extendedKeyUsage=clientAuth"]),
        # The bootstrap ClusterRole system:kube-controller-manager is bound to this user.
        "controller-manager": (
            "/CN=system:kube-controller-manager",
            ["extendedKeyUsage=clientAuth"],
        ),
    }
    if not ca_cert.exists():
        _new_key(ca_key)
        _openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            str(ca_key),
            "-subj",
            "/CN=wattcast-devcluster-ca",
            "-days",
            _DAYS,
            "-out",
            str(ca_cert),
        )
    certs = {}
    for name, (subject, extensions) in names.items():
        existing = ClientCert(pki_dir / f"{name}.crt", pki_dir / f"{name}.key")
        certs[name] = (
            existing
            if existing.cert.exists()
            else _signed(pki_dir, name, subject, ca_cert, ca_key, extensions)
        )
    if not sa_key.exists():
        _openssl(
            "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(sa_key)
        )
        _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(sa_pub))
    return Pki(
        pki_dir,
        ca_cert,
        ca_key,
        certs["server"],
        certs["admin"],
        certs["controller-manager"],
        sa_key,
        sa_pub,
    )
