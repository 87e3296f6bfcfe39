"""How every process of ours reaches the Kubernetes API: one configuration order, one error.

The operator, the API, the trainer and the dev tools all use the official `kubernetes`
client; this module is the one place that decides where its configuration comes from and
what a failed call means (docs/decisions/0003-one-way-to-reach-kubernetes.md).

Configuration, in this order (`load_configuration`):

1. an explicit kubeconfig file, when the caller has one (a setting such as
   WATTCAST_API_KUBECONFIG, or the dev cluster's file): that file only, nothing else is tried;
2. in a pod, the pod's ServiceAccount (in-cluster configuration);
3. otherwise $KUBECONFIG as it is when called (not when `kubernetes` was imported), else
   ~/.kube/config.

Errors: every failure of a call becomes a `KubeApiError` (`kube_error`, or `from_answer` for a
raw response): the HTTP status (0 when no answer came at all) and the API server's Status
(`message`, `reason`, `causes`). A failure without an answer says only what kind it was,
never the server's address.

Only the components import this module; the rest of the contract package never imports
`kubernetes` (the CLI installs the contract without it: the `kube` extra brings it).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

logger = logging.getLogger(__name__)


def load_configuration(kubeconfig: Path | str | None = None) -> client.Configuration:
    """The client configuration, from the first of: `kubeconfig`, the pod's ServiceAccount,
    $KUBECONFIG, ~/.kube/config. Raises ConfigException naming what was tried."""
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), client_configuration=configuration
        )
        logger.debug("Kubernetes: %s, server %s", kubeconfig, configuration.host)
        return configuration
    try:
        config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration
        )
        logger.debug("Kubernetes: in-cluster configuration")
        return configuration
    except ConfigException as not_in_a_pod:
        in_cluster = not_in_a_pod
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=os.environ.get("KUBECONFIG") or None, client_configuration=configuration
        )
    except ConfigException as error:
        raise ConfigException(
            f"no Kubernetes configuration: not in a pod ({in_cluster}), and no kubeconfig "
            f"($KUBECONFIG or ~/.kube/config: {error})"
        ) from error
    logger.debug("Kubernetes: kubeconfig, server %s", configuration.host)
    return configuration


@dataclass
class KubeApiError(Exception):
    """A Kubernetes API call that failed.

    `status` is the HTTP status (0: no answer at all); `message` the API server's words (its
    Status `message`, else the HTTP reason phrase, else what kind of failure it was);
    `reason` its Status `reason` (`AlreadyExists`, `Invalid`, ...), else the reason phrase;
    `causes` the Status' `details.causes`; `body` the raw answer (for logs, never for people).
    """

    status: int
    message: str
    reason: str = ""
    causes: list[dict[str, Any]] = field(default_factory=list)
    retry_after: int | None = None
    body: str = ""

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"

    @classmethod
    def from_answer(
        cls, status: int, phrase: str, body: str | bytes | None, headers: Any = None
    ) -> KubeApiError:
        """An error answer: its status, HTTP reason phrase, body (a Status, if JSON), headers."""
        text = body.decode(errors="replace") if isinstance(body, bytes) else (body or "")
        try:
            document = json.loads(text) if text else None
        except ValueError:
            document = None
        status_object = document if isinstance(document, dict) else {}
        details = status_object.get("details")
        causes = details.get("causes") if isinstance(details, dict) else None
        return cls(
            status=status,
            message=str(status_object.get("message") or phrase or ""),
            reason=str(status_object.get("reason") or phrase or ""),
            causes=[c for c in causes if isinstance(c, dict)] if isinstance(causes, list) else [],
            retry_after=_retry_after(headers),
            body=text,
        )


def kube_error(exc: BaseException) -> KubeApiError:
    """A failed call's exception as a KubeApiError; any other exception is raised again."""
    if isinstance(exc, KubeApiError):
        return exc
    if isinstance(exc, ApiException):
        return KubeApiError.from_answer(
            int(exc.status or 0), str(exc.reason or ""), exc.body, exc.headers
        )
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError):
        # The exception's text names the API server's host and port: logged, never shown.
        logger.warning("Kubernetes API call failed without an answer: %r", exc)
        return KubeApiError(status=0, message=_no_answer(exc))
    raise exc


def _retry_after(headers: Any) -> int | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return max(1, int(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _no_answer(exc: BaseException) -> str:
    """What kind of failure it was, in words that name no address."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    # First: urllib3's NewConnectionError (refused, no route, DNS) is a kind of TimeoutError.
    if isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        return "cannot connect"
    if isinstance(reason, TimeoutError | urllib3.exceptions.TimeoutError):
        return "no answer in time"
    if isinstance(reason, urllib3.exceptions.SSLError):
        return "TLS handshake failed"
    return "the connection failed"
