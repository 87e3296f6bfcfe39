"""A stand-in for the Kubernetes Job controller, for tests and the local stack (dev-only).

The emulated API server stores Jobs but runs nothing. `JobController` plays the part of
kube-controller-manager's Job controller, over HTTP like any other client:

- started (`start()`), it watches Jobs and does what the real controller does on its own:
  an unsuspended, unfinished Job without a live pod gets one (created from the Job's pod
  template, labelled `job-name` / `batch.kubernetes.io/job-name`, owned by the Job) and
  `status.active`, `status.ready`, `status.startTime`; a suspended Job loses its pods and gets
  the `Suspended` condition;
- the outcome of a pod is up to the test (the local job runner will run the pod's command
  instead): `succeed()`, `fail_pod()` (one pod fails; the Job retries), `fail()` (the Job
  fails with a reason such as BackoffLimitExceeded, DeadlineExceeded or PodFailurePolicy),
  each optionally with the trainer's termination message on the pod's container;
- `admit()` is what Kueue does when it admits a Job: it unsuspends it.

Each method takes effect on the server before it returns. Writes go through the status
subresource; the Job's conditions follow batch/v1 (FailureTarget/SuccessCriteriaMet first,
then Failed/Complete), so clients see what a real cluster would show.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml

logger = logging.getLogger("wattcast.devtools.jobcontroller")

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class JobControllerError(RuntimeError):
    """The API server refused a request the stand-in made."""


class KubeHttp:
    """The smallest client that can talk to an API server from a token kubeconfig."""

    def __init__(self, kubeconfig: Path | str, *, timeout: float = 10.0) -> None:
        config = yaml.safe_load(Path(kubeconfig).read_text(encoding="utf-8"))
        contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
        context = contexts[config["current-context"]]
        clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
        users = {u["name"]: u["user"] for u in config.get("users") or []}
        self.server = str(clusters[context["cluster"]]["server"]).rstrip("/")
        self.session = requests.Session()
        token = (users.get(context.get("user", "")) or {}).get("token")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        allow: Iterable[int] = (),
    ) -> dict[str, Any] | None:
        """Send a request; returns the JSON body, or None for an allowed error status."""
        response = self.session.request(
            method,
            self.server + path,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
            params=params,
            timeout=self.timeout,
        )
        if response.status_code in set(allow):
            return None
        if response.status_code >= 400:
            raise JobControllerError(
                f"{method} {path}: {response.status_code} {response.text[:500]}"
            )
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        self.session.close()


def _job_path(namespace: str, name: str = "") -> str:
    base = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    return f"{base}/{name}" if name else base


def _pod_path(namespace: str, name: str = "") -> str:
    base = f"/api/v1/namespaces/{namespace}/pods"
    return f"{base}/{name}" if name else base


def _condition(type_: str, reason: str, message: str = "") -> dict[str, Any]:
    now = _now()
    return {
        "type": type_,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


def _is_finished(job: Mapping[str, Any]) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions
    )


def _termination_text(termination: Mapping[str, Any] | str | None) -> str | None:
    if termination is None or isinstance(termination, str):
        return termination
    return json.dumps(termination)


class JobController:
    """Watches Jobs on an API server and plays the Job controller's part (see the module)."""

    def __init__(
        self,
        kubeconfig: Path | str,
        *,
        container: str = "trainer",
        namespaces: Callable[[str], bool] | None = None,
    ) -> None:
        """`namespaces`: which namespaces the watch acts in (all when None), so that tests
        sharing one API server leave each other's Jobs alone."""
        self.http = KubeHttp(kubeconfig)
        self.container = container
        self.namespaces = namespaces
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    # --- reading ---------------------------------------------------------------------------

    def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.http.request("GET", _job_path(namespace, name), allow=(404,))

    def pods(self, namespace: str, job_name: str) -> list[dict[str, Any]]:
        """The Job's pods, oldest first."""
        result = self.http.request(
            "GET", _pod_path(namespace), params={"labelSelector": f"job-name={job_name}"}
        )
        items: list[dict[str, Any]] = (result or {}).get("items") or []
        return sorted(items, key=lambda p: p["metadata"].get("creationTimestamp", ""))

    def _require(self, namespace: str, name: str) -> dict[str, Any]:
        job = self.get_job(namespace, name)
        if job is None:
            raise JobControllerError(f"no Job {namespace}/{name}")
        return job

    # --- what the real Job controller does by itself ----------------------------------------

    def reconcile(self, namespace: str, name: str) -> None:
        """Start a pod for an unsuspended Job, or stop the pods of a suspended one."""
        with self._lock:
            job = self.get_job(namespace, name)
            if job is None or _is_finished(job):
                return
            live = [
                p for p in self.pods(namespace, name) if _pod_phase(p) in ("Pending", "Running")
            ]
            if (job.get("spec") or {}).get("suspend"):
                for pod in live:
                    self.http.request(
                        "DELETE", _pod_path(namespace, pod["metadata"]["name"]), allow=(404,)
                    )
                conditions = [
                    c
                    for c in (job.get("status") or {}).get("conditions") or []
                    if c.get("type") != "Suspended"
                ]
                conditions.append(_condition("Suspended", "JobSuspended", "Job suspended"))
                self._patch_job_status(
                    namespace, name, {"active": 0, "ready": 0, "conditions": conditions}
                )
                return
            if live:
                return
            self.start_pod(namespace, name, job)

    def start_pod(
        self, namespace: str, name: str, job: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Create a running pod from the Job's template and count it active."""
        with self._lock:
            job = job or self._require(namespace, name)
            template = (job.get("spec") or {}).get("template") or {}
            meta = template.get("metadata") or {}
            job_uid = job["metadata"]["uid"]
            labels = {
                **(meta.get("labels") or {}),
                "job-name": name,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": job_uid,
                "batch.kubernetes.io/controller-uid": job_uid,
            }
            pod_name = f"{name}-{uuid.uuid4().hex[:5]}"
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": namespace,
                    "labels": labels,
                    "ownerReferences": [
                        {
                            "apiVersion": "batch/v1",
                            "kind": "Job",
                            "name": name,
                            "uid": job_uid,
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                },
                "spec": template.get("spec") or {},
            }
            created = self.http.request("POST", _pod_path(namespace), body=pod)
            assert created is not None
            now = _now()
            self._patch_pod_status(
                namespace,
                pod_name,
                {
                    "phase": "Running",
                    "startTime": now,
                    "containerStatuses": [
                        {
                            "name": self.container,
                            "ready": True,
                            "restartCount": 0,
                            "image": "",
                            "imageID": "",
                            "state": {"running": {"startedAt": now}},
                        }
                    ],
                },
            )
            status = job.get("status") or {}
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Suspended"]
            patch: dict[str, Any] = {"active": 1, "ready": 1, "conditions": conditions or None}
            if not status.get("startTime"):
                patch["startTime"] = now
            self._patch_job_status(namespace, name, patch)
            return created

    # --- outcomes, as the test decides ------------------------------------------------------

    def succeed(
        self,
        namespace: str,
        name: str,
        *,
        termination: Mapping[str, Any] | str | None = None,
    ) -> None:
        """The running pod exits 0 (with `termination` as its message); the Job completes."""
        with self._lock:
            job = self._require(namespace, name)
            self._finish_pod(namespace, name, exit_code=0, termination=termination)
            status = job.get("status") or {}
            conditions = list(status.get("conditions") or [])
            conditions.append(_condition("SuccessCriteriaMet", "CompletionsReached"))
            conditions.append(_condition("Complete", "CompletionsReached"))
            self._patch_job_status(
                namespace,
                name,
                {
                    "active": 0,
                    "ready": 0,
                    "succeeded": int(status.get("succeeded") or 0) + 1,
                    "completionTime": _now(),
                    "conditions": conditions,
                },
            )

    def fail_pod(
        self,
        namespace: str,
        name: str,
        *,
        exit_code: int = 1,
        termination: Mapping[str, Any] | str | None = None,
    ) -> None:
        """The running pod exits non-zero; the Job counts a failure (and, started, retries)."""
        with self._lock:
            job = self._require(namespace, name)
            self._finish_pod(namespace, name, exit_code=exit_code, termination=termination)
            status = job.get("status") or {}
            self._patch_job_status(
                namespace,
                name,
                {"active": 0, "ready": 0, "failed": int(status.get("failed") or 0) + 1},
            )

    def fail(
        self,
        namespace: str,
        name: str,
        *,
        reason: str = "BackoffLimitExceeded",
        message: str = "Job has reached the specified backoff limit",
        exit_code: int = 1,
        termination: Mapping[str, Any] | str | None = None,
    ) -> None:
        """The running pod (if any) fails and the Job fails for good with `reason`."""
        with self._lock:
            job = self._require(namespace, name)
            failed = int((job.get("status") or {}).get("failed") or 0)
            if self._finish_pod(namespace, name, exit_code=exit_code, termination=termination):
                failed += 1
            conditions = list((job.get("status") or {}).get("conditions") or [])
            conditions.append(_condition("FailureTarget", reason, message))
            conditions.append(_condition("Failed", reason, message))
            self._patch_job_status(
                namespace,
                name,
                {"active": 0, "ready": 0, "failed": failed, "conditions": conditions},
            )

    def admit(self, namespace: str, name: str) -> None:
        """What Kueue does on admission: unsuspend the Job (the watcher then starts a pod)."""
        self.http.request(
            "PATCH",
            _job_path(namespace, name),
            body={"spec": {"suspend": False}},
            headers=MERGE_PATCH,
        )
        self.reconcile(namespace, name)

    # --- the watch loop -----------------------------------------------------------------------

    def start(self) -> JobController:
        """Watch every Job in a daemon thread, reconciling each event."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._watch_loop, name="wattcast-jobcontroller", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.http.close()

    def __enter__(self) -> JobController:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _watch_loop(self) -> None:
        resource_version = ""
        while not self._stop.is_set():
            try:
                if not resource_version:
                    listing = self.http.request("GET", "/apis/batch/v1/jobs") or {}
                    resource_version = str(listing.get("metadata", {}).get("resourceVersion", ""))
                    for job in listing.get("items") or []:
                        self._on_event(job)
                resource_version = self._watch_once(resource_version)
            except Exception as error:  # keep watching: a test reads `errors` if it cares
                if self._stop.is_set():
                    return
                logger.warning("job controller: %s", error)
                self.errors.append(error)
                resource_version = ""
                time.sleep(0.2)

    def _watch_once(self, resource_version: str) -> str:
        # Short server-side timeouts keep stop() prompt; the watch resumes where it left.
        with self.http.session.get(
            self.http.server + "/apis/batch/v1/jobs",
            params={
                "watch": "true",
                "resourceVersion": resource_version,
                "timeoutSeconds": "1",
                "allowWatchBookmarks": "true",
            },
            stream=True,
            timeout=10,
        ) as response:
            if response.status_code == 410:
                return ""
            response.raise_for_status()
            for line in response.iter_lines():
                if self._stop.is_set():
                    break
                if not line:
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    return ""
                resource_version = str(obj.get("metadata", {}).get("resourceVersion", ""))
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self._on_event(obj)
        return resource_version

    def _on_event(self, job: Mapping[str, Any]) -> None:
        meta = job.get("metadata") or {}
        if _is_finished(job):
            return
        if self.namespaces is not None and not self.namespaces(meta.get("namespace", "")):
            return
        try:
            self.reconcile(meta.get("namespace", ""), meta.get("name", ""))
        except JobControllerError as error:
            # A Job deleted meanwhile (a namespace cleaned up) is not an error of ours.
            if "404" not in str(error):
                raise

    # --- helpers ---------------------------------------------------------------------------------

    def _finish_pod(
        self,
        namespace: str,
        name: str,
        *,
        exit_code: int,
        termination: Mapping[str, Any] | str | None,
    ) -> bool:
        """Terminate the live pod (if any) with `exit_code` and the termination message."""
        live = [p for p in self.pods(namespace, name) if _pod_phase(p) in ("Pending", "Running")]
        if not live:
            return False
        pod = live[-1]
        now = _now()
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "reason": "Completed" if exit_code == 0 else "Error",
            "startedAt": (pod.get("status") or {}).get("startTime") or now,
            "finishedAt": now,
        }
        text = _termination_text(termination)
        if text is not None:
            terminated["message"] = text
        self._patch_pod_status(
            namespace,
            pod["metadata"]["name"],
            {
                "phase": "Succeeded" if exit_code == 0 else "Failed",
                "containerStatuses": [
                    {
                        "name": self.container,
                        "ready": False,
                        "restartCount": 0,
                        "image": "",
                        "imageID": "",
                        "state": {"terminated": terminated},
                    }
                ],
            },
        )
        return True

    def _patch_job_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.http.request(
            "PATCH",
            _job_path(namespace, name) + "/status",
            body={"status": status},
            headers=MERGE_PATCH,
        )

    def _patch_pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.http.request(
            "PATCH",
            _pod_path(namespace, name) + "/status",
            body={"status": status},
            headers=MERGE_PATCH,
        )


def _pod_phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")
