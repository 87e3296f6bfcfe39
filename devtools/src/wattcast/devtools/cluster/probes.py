"""Readiness probes of a running container: httpGet and tcpSocket on 127.0.0.1.

Pods share the machine's network, so a probe's port is the process's own port on loopback
(a named port is looked up in the container's `ports`). A container with a readiness probe is
unready until the probe first succeeds, then flips after `failureThreshold` failures or
`successThreshold` successes in a row, as the kubelet's prober does. exec probes, liveness and
startup probes are not run (an exec probe counts as passing).
"""

from __future__ import annotations

import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


def _port(value: Any, container: Mapping[str, Any]) -> int:
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port["containerPort"])
    raise ValueError(f"no container port named {value!r}")


def probe_once(probe: Mapping[str, Any], container: Mapping[str, Any]) -> bool:
    """Run the probe once: True when it passes."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "httpGet" in probe:
            get = probe["httpGet"]
            scheme = str(get.get("scheme") or "HTTP").lower()
            host = str(get.get("host") or "127.0.0.1")
            url = f"{scheme}://{host}:{_port(get.get('port'), container)}{get.get('path') or '/'}"
            headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
            # The kubelet does not verify a probe's certificate either.
            context = ssl._create_unverified_context() if scheme == "https" else None  # noqa: S323
            with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310
                return bool(200 <= answer.status < 400)
        if "tcpSocket" in probe:
            port = _port(probe["tcpSocket"].get("port"), container)
            with socket.create_connection(("127.0.0.1", port), timeout=timeout):
                return True
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return True  # exec and grpc probes are not run


class Readiness:
    """A container's readiness, driven by its readiness probe (always ready without one)."""

    def __init__(self, container: Mapping[str, Any], *, started: float | None = None) -> None:
        self.container = container
        self.probe: Mapping[str, Any] | None = container.get("readinessProbe")
        self.ready = self.probe is None
        start = time.monotonic() if started is None else started
        self.next_at = start + float((self.probe or {}).get("initialDelaySeconds") or 0)
        self._streak = 0  # successes (> 0) or failures (< 0) in a row

    def tick(self, now: float | None = None) -> bool:
        """Probe when due; True when readiness changed."""
        if self.probe is None:
            return False
        now = time.monotonic() if now is None else now
        if now < self.next_at:
            return False
        self.next_at = now + float(self.probe.get("periodSeconds") or 10)
        passed = probe_once(self.probe, self.container)
        if passed:
            self._streak = max(self._streak, 0) + 1
        else:
            self._streak = min(self._streak, 0) - 1
        before = self.ready
        if passed and self._streak >= int(self.probe.get("successThreshold") or 1):
            self.ready = True
        elif not passed and -self._streak >= int(self.probe.get("failureThreshold") or 3):
            self.ready = False
        return self.ready != before
