"""The kubeconfig that points clients (kubectl, Kopf, the kubernetes client) at the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONTEXT = "wattcast-emulator"
TOKEN = "wattcast-emulator-dummy-token"  # noqa: S105 - the emulator checks no credentials


def kubeconfig_dict(url: str, *, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": url}}],
        "users": [{"name": CONTEXT, "user": {"token": TOKEN}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, url: str, *, namespace: str = "default") -> Path:
    """Write a kubeconfig for ``url`` to ``path`` (parents created, mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig_dict(url, namespace=namespace), sort_keys=False))
    path.chmod(0o600)
    return path
