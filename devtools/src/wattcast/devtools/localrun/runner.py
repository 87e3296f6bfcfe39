"""The local job runner: the Job controller and a one-node kubelet, against an API server.

`LocalRunner` polls batch/v1 Jobs and their pods on the (emulated) API server and, for each
unfinished Job, does what a cluster would:

- creates the Job's pod (labels `job-name` / `batch.kubernetes.io/job-name`, a controller
  ownerReference) and counts it in `status.active`; the pod stays `Pending` (Unschedulable)
  while the node is full: `capacity` pods run at a time, the rest wait their turn in order;
- starts the pod's container command as a local process (:mod:`.pods` builds its
  environment and folders; :mod:`.process` runs it) and marks the pod `Running`;
- when the process ends, writes the pod's terminated state with its exit code and
  termination message, and the Job's status as the Job controller does (:mod:`.jobstatus`):
  success, a counted failure retried after an exponential backoff, `backoffLimit` exceeded,
  a `podFailurePolicy` rule (`FailJob`, `Ignore` for `DisruptionTarget`), or
  `activeDeadlineSeconds` exceeded;
- stops the process and removes the pods of a suspended Job, and stops the process of a Job
  or pod that was deleted; deletes finished Jobs after `ttlSecondsAfterFinished`.

Everything the runner knows is on the API server (pods, Job status) except the processes, so
the operator, the API and kubectl see the same objects a cluster would show. The differences
from a real cluster are listed in docs/local-stack.md.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wattcast.devtools.jobcontroller import JobControllerError, KubeHttp
from wattcast.devtools.localrun import jobstatus
from wattcast.devtools.localrun.jobstatus import FailureAction, PodFailure
from wattcast.devtools.localrun.pods import ContainerConfigError, plan_launch, pod_for_job
from wattcast.devtools.localrun.process import PodProcess

logger = logging.getLogger("wattcast.devtools.localrun")

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
NODE_NAME = "localrun"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
TERMINAL_POD_PHASES = frozenset({"Succeeded", "Failed"})


class RunnerSettings(BaseModel):
    """How the local runner behaves; every default is a cluster's, except where noted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capacity: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Pods running at once (the node's size); the rest wait as Pending. "
        "2 by default: a TensorFlow trainer takes about 1 GiB and this machine has 24.",
    )
    backoff_base_seconds: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="Delay before the first retry of a failed pod, doubled for each further "
        "failure (Kubernetes: 10 s). Lower it so failure drills stay short.",
    )
    backoff_max_seconds: float = Field(
        default=360.0, ge=0, le=3600, description="Cap of the retry delay (Kubernetes: 6 min)."
    )
    poll_interval_seconds: float = Field(
        default=0.25, gt=0, le=10, description="How often Jobs and pods are read."
    )
    max_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Upper bound of a pod's terminationGracePeriodSeconds (30 s by default "
        "in Kubernetes): SIGTERM, then SIGKILL after this long.",
    )
    namespaces: tuple[str, ...] = Field(
        default=(), description="Namespaces whose Jobs to run; empty: every namespace."
    )
    extra_env: dict[str, str] = Field(
        default_factory=dict,
        description="Added to every pod's environment, as a node-level setting would be "
        "(the tests lower WATTCAST_MIN_TRAINING_DAYS this way).",
    )
    claim_dirs: dict[str, Path] = Field(
        default_factory=dict,
        description="Local folder of a PersistentVolumeClaim, by claim name; others get a "
        "folder under the work directory.",
    )


class LocalRunner:
    """See the module docstring. `start()` runs it in a daemon thread; `stop()` ends it and
    every process it started."""

    def __init__(
        self,
        kubeconfig: Path | str,
        models_dir: Path | str,
        workdir: Path | str,
        settings: RunnerSettings | None = None,
    ) -> None:
        self.kubeconfig = Path(kubeconfig).resolve()
        self.models_dir = Path(models_dir).resolve()
        self.workdir = Path(workdir).resolve()
        self.settings = settings or RunnerSettings()
        self.http = KubeHttp(self.kubeconfig)
        self._procs: dict[str, PodProcess] = {}  # pod uid -> its process
        self._last_failure: dict[str, float] = {}  # job uid -> monotonic time of a failure
        self._config_errors: dict[str, float] = {}  # pod uid -> when its start was refused
        # pod uid -> order of creation: creationTimestamp has whole seconds, too coarse to
        # keep a burst of pods first come, first served.
        self._created: dict[str, int] = {}
        self._sequence = itertools.count()
        # job uid -> the order the runner first saw it in (the same reason, for Jobs).
        self._first_seen: dict[str, int] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []
        self.ticks = 0

    # --- life --------------------------------------------------------------------------------

    def start(self) -> LocalRunner:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="wattcast-localrun", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and every process (pods keep their last state, like a lost node)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        with self._lock:
            for proc in list(self._procs.values()):
                proc.stop("the local runner stopped")
            self._procs.clear()
        self.http.close()

    def __enter__(self) -> LocalRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """Run in the calling thread until `stop()` is called from another one."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._loop()

    # --- what tests and the demo may ask -------------------------------------------------------

    def processes(self) -> list[PodProcess]:
        """The processes running now."""
        with self._lock:
            return [p for p in self._procs.values() if p.poll() is None]

    def process_of(self, namespace: str, job_name: str) -> PodProcess | None:
        """The running process of a Job's pod, if any."""
        return next(
            (p for p in self.processes() if p.namespace == namespace and p.job_name == job_name),
            None,
        )

    def pod_dir(self, namespace: str, pod_name: str) -> Path:
        return self.workdir / "pods" / namespace / pod_name

    def pod_log(self, namespace: str, pod_name: str) -> str:
        """The output of a pod's process (what `kubectl logs` would show on a cluster)."""
        path = self.pod_dir(namespace, pod_name) / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with self._lock:
                    self.tick()
            except Exception as error:  # keep running: a restarted API server comes back
                if self._stop.is_set():
                    return
                logger.warning("local runner: %s", error)
                self.errors.append(error)
            self._stop.wait(
                max(0.0, self.settings.poll_interval_seconds - (time.monotonic() - started))
            )

    def tick(self) -> None:
        """One pass: processes first (exits, deletions), then each Job, then free slots."""
        self.ticks += 1
        now = datetime.now(UTC)
        jobs = self._list_jobs()
        pods = self._list_pods()
        if self._check_processes(jobs, pods, now):
            jobs = self._list_jobs()
            pods = self._list_pods()
        by_owner: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            owner = _controller_uid(pod)
            if owner:
                by_owner.setdefault(owner, []).append(pod)
        for uid in jobs:
            if uid not in self._first_seen:
                self._first_seen[uid] = next(self._sequence)
        for uid in [u for u in self._first_seen if u not in jobs]:
            del self._first_seen[uid]
        # Oldest first, so pods are created (and later started) first come, first served.
        ordered = sorted(
            jobs.values(),
            key=lambda j: (
                j["metadata"].get("creationTimestamp", ""),
                self._first_seen[j["metadata"]["uid"]],
            ),
        )
        for job in ordered:
            try:
                self._reconcile(job, by_owner.get(job["metadata"]["uid"], []), now)
            except JobControllerError as error:
                if " 404 " not in str(error) and " 409 " not in str(error):
                    raise
        self._start_pending(jobs)

    # --- reading ---------------------------------------------------------------------------

    def _namespaced(self, group_path: str, resource: str) -> list[str]:
        if not self.settings.namespaces:
            return [f"{group_path}/{resource}"]
        return [f"{group_path}/namespaces/{ns}/{resource}" for ns in self.settings.namespaces]

    def _list_jobs(self) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = {}
        for path in self._namespaced("/apis/batch/v1", "jobs"):
            for job in (self.http.request("GET", path) or {}).get("items") or []:
                jobs[job["metadata"]["uid"]] = job
        return jobs

    def _list_pods(self) -> list[dict[str, Any]]:
        pods: list[dict[str, Any]] = []
        for path in self._namespaced("/api/v1", "pods"):
            listing = self.http.request("GET", path, params={"labelSelector": JOB_NAME_LABEL})
            pods.extend((listing or {}).get("items") or [])
        return pods

    def _lookup(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.http.request(
            "GET", f"/api/v1/namespaces/{namespace}/{kind}/{name}", allow=(404,)
        )

    @staticmethod
    def _base_env() -> dict[str, str]:
        """The node's environment, with this Python environment's scripts first on PATH:
        the trainer image has `wattcast-trainer` on its PATH, so the runner does likewise."""
        env = dict(os.environ)
        scripts = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([scripts, env.get("PATH", "")]).rstrip(os.pathsep)
        return env

    def _claim_dir(self, claim: str, mount_path: str) -> Path:
        if claim in self.settings.claim_dirs:
            return self.settings.claim_dirs[claim]
        if mount_path == "/models":
            return self.models_dir
        return self.workdir / "claims" / claim

    # --- processes --------------------------------------------------------------------------

    def _check_processes(
        self, jobs: dict[str, dict[str, Any]], pods: list[dict[str, Any]], now: datetime
    ) -> bool:
        """Handle processes that ended or whose pod or Job went; True if anything changed."""
        pods_by_uid = {p["metadata"]["uid"]: p for p in pods}
        changed = False
        for uid, proc in list(self._procs.items()):
            pod = pods_by_uid.get(uid)
            job = jobs.get(proc.job_uid)
            if job is None or jobstatus.is_finished(job):
                # The Job went (its pods follow through garbage collection) or finished.
                proc.stop("its Job was deleted" if job is None else "its Job finished")
                self._forget(uid, proc)
                changed = True
                continue
            if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
                # Deleted under us: the kubelet stops the container; the Job controller
                # counts the failure (no DisruptionTarget: a plain delete is not an eviction).
                proc.stop("its pod was deleted")
                code = proc.exit_code() if proc.poll() is not None else 137
                self._account_failure(
                    job, proc.pod_name, proc.plan.container, code, now, conditions=_conditions(pod)
                )
                self._forget(uid, proc)
                changed = True
                continue
            disruption = _true_condition(pod, jobstatus.DISRUPTION_TARGET)
            if disruption and proc.poll() is None:
                proc.stop(f"disrupted: {disruption.get('reason', '')}")
            if proc.poll() is None:
                continue
            self._finish(job, pod, proc, now)
            self._forget(uid, proc)
            changed = True
        return changed

    def _forget(self, uid: str, proc: PodProcess) -> None:
        self._procs.pop(uid, None)
        self._created.pop(uid, None)
        for path in proc.plan.scratch:  # emptyDir lives as long as the pod runs here
            shutil.rmtree(path, ignore_errors=True)

    def _finish(
        self, job: dict[str, Any], pod: dict[str, Any], proc: PodProcess, now: datetime
    ) -> None:
        code = proc.exit_code()
        message = proc.termination_message()
        self._set_pod_terminated(pod, proc, code, message, now)
        if code == 0:
            logger.info("pod %s/%s succeeded", proc.namespace, proc.pod_name)
            self._patch_job_status(
                job, jobstatus.succeeded_status(job.get("status") or {}, now=now)
            )
            return
        self._account_failure(
            job, proc.pod_name, proc.plan.container, code, now, conditions=_conditions(pod)
        )

    def _account_failure(
        self,
        job: dict[str, Any],
        pod_name: str,
        container: str,
        code: int,
        now: datetime,
        *,
        conditions: list[dict[str, Any]],
    ) -> None:
        """The Job controller's handling of one failed pod (podFailurePolicy, backoff)."""
        status = job.get("status") or {}
        failed = int(status.get("failed") or 0)
        namespace = job["metadata"]["namespace"]
        decision = jobstatus.decide_failure(
            job.get("spec") or {},
            PodFailure(
                pod_name=pod_name,
                namespace=namespace,
                exit_codes={container: code},
                conditions=conditions,
            ),
        )
        logger.info("pod %s/%s failed (exit %s): %s", namespace, pod_name, code, decision.action)
        if decision.action is FailureAction.FAIL_JOB:
            patch = jobstatus.failed_status(
                status,
                reason=jobstatus.REASON_POD_FAILURE_POLICY,
                message=decision.message,
                failed=failed + 1,
                now=now,
            )
        elif decision.action is FailureAction.IGNORE:
            patch = {"active": 0, "ready": 0}
        elif jobstatus.backoff_exceeded(job.get("spec") or {}, failed + 1):
            patch = jobstatus.failed_status(
                status,
                reason=jobstatus.REASON_BACKOFF_LIMIT,
                message=jobstatus.MESSAGE_BACKOFF_LIMIT,
                failed=failed + 1,
                now=now,
            )
        else:
            patch = {"active": 0, "ready": 0, "failed": failed + 1}
            self._last_failure[job["metadata"]["uid"]] = time.monotonic()
        self._patch_job_status(job, patch)

    def _fail_lost_pod(self, job: dict[str, Any], pod: dict[str, Any], now: datetime) -> None:
        """A pod marked Running whose process is not ours (the runner restarted): the
        container is gone, as on a node that was lost. It fails and counts as a failure."""
        container = _container_name(pod)
        stamp = jobstatus.timestamp(now)
        terminated = {
            "exitCode": 137,
            "reason": "Error",
            "message": "the local runner that ran this pod's process stopped",
            "startedAt": (pod.get("status") or {}).get("startTime") or stamp,
            "finishedAt": stamp,
        }
        self._patch_pod_status(
            pod,
            {
                "phase": "Failed",
                "containerStatuses": [_container_status(container, {"terminated": terminated})],
            },
        )
        self._account_failure(
            job, pod["metadata"]["name"], container, 137, now, conditions=_conditions(pod)
        )

    # --- Jobs --------------------------------------------------------------------------------

    def _reconcile(self, job: dict[str, Any], pods: list[dict[str, Any]], now: datetime) -> None:
        spec = job.get("spec") or {}
        status = job.get("status") or {}
        live = [p for p in pods if _is_live(p)]
        if jobstatus.is_finished(job):
            for pod in live:  # a pending pod of a finished Job never starts
                self._delete_pod(pod)
            self._expire(job, now)
            return
        lost = [
            p
            for p in live
            if (p.get("status") or {}).get("phase") == "Running"
            and p["metadata"]["uid"] not in self._procs
        ]
        if lost:
            for pod in lost:
                self._fail_lost_pod(job, pod, now)
            return  # the next pass sees the Job as it now is
        if spec.get("suspend"):
            for pod in live:
                self._stop_pod(pod, "its Job was suspended")
                self._delete_pod(pod)
            suspended = _true_condition(job, "Suspended") is not None
            if not suspended or int(status.get("active") or 0) or status.get("startTime"):
                self._patch_job_status(job, jobstatus.suspended_status(status, now=now))
            return
        if jobstatus.deadline_exceeded(job, now):
            counted = 0
            for pod in live:
                if self._stop_pod(pod, "its Job's deadline passed", reason="DeadlineExceeded"):
                    counted += 1
                else:
                    self._delete_pod(pod)
            self._patch_job_status(
                job,
                jobstatus.failed_status(
                    status,
                    reason=jobstatus.REASON_DEADLINE,
                    message=jobstatus.MESSAGE_DEADLINE,
                    failed=int(status.get("failed") or 0) + counted,
                    now=now,
                ),
            )
            return
        patch: dict[str, Any] = {}
        resumed = jobstatus.resumed_conditions(status, now=now)
        if resumed is not None:
            patch["conditions"] = resumed
        if not live:
            if not self._backoff_elapsed(job):
                if patch:
                    self._patch_job_status(job, patch)
                return
            self._create_pod(job)
            patch["active"] = 1
            patch["ready"] = 0
        elif int(status.get("active") or 0) != len(live):
            patch["active"] = len(live)
        if not status.get("startTime"):
            patch["startTime"] = jobstatus.timestamp(now)
        if patch:
            self._patch_job_status(job, patch)

    def _backoff_elapsed(self, job: Mapping[str, Any]) -> bool:
        failed = int((job.get("status") or {}).get("failed") or 0)
        last = self._last_failure.get(job["metadata"]["uid"])
        if failed == 0 or last is None:
            return True
        delay = jobstatus.retry_delay(
            failed,
            base_seconds=self.settings.backoff_base_seconds,
            max_seconds=self.settings.backoff_max_seconds,
        )
        return time.monotonic() - last >= delay

    def _expire(self, job: Mapping[str, Any], now: datetime) -> None:
        """The TTL-after-finished controller: delete a finished Job after its TTL."""
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        finished = jobstatus.finished_at(job)
        if ttl is None or finished is None:
            return
        at = datetime.fromisoformat(finished.replace("Z", "+00:00"))
        if (now - at).total_seconds() >= float(ttl):
            meta = job["metadata"]
            self.http.request(
                "DELETE",
                f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}",
                body={"propagationPolicy": "Background"},
                allow=(404,),
            )

    # --- pods ---------------------------------------------------------------------------------

    def _create_pod(self, job: dict[str, Any]) -> dict[str, Any]:
        pod = pod_for_job(job)
        namespace = job["metadata"]["namespace"]
        created = self.http.request("POST", f"/api/v1/namespaces/{namespace}/pods", body=pod)
        assert created is not None
        self._created[created["metadata"]["uid"]] = next(self._sequence)
        logger.info("created pod %s/%s", namespace, created["metadata"]["name"])
        self._patch_pod_status(
            created,
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": f"waiting for one of the local runner's "
                        f"{self.settings.capacity} slots",
                        "lastTransitionTime": jobstatus.timestamp(datetime.now(UTC)),
                    }
                ],
            },
        )
        return created

    def _start_pending(self, jobs: dict[str, dict[str, Any]]) -> None:
        """Start waiting pods, oldest first, while the node has free slots."""
        free = self.settings.capacity - len([p for p in self._procs.values() if p.poll() is None])
        if free <= 0:
            return
        candidates = [
            p
            for p in self._list_pods()
            if _is_live(p)
            and (p.get("status") or {}).get("phase", "Pending") == "Pending"
            and p["metadata"]["uid"] not in self._procs
            and _controller_uid(p) in jobs
            and not jobstatus.is_finished(jobs[_controller_uid(p)])
            and not (jobs[_controller_uid(p)].get("spec") or {}).get("suspend")
        ]
        candidates.sort(
            key=lambda p: (
                p["metadata"].get("creationTimestamp", ""),
                self._created.get(p["metadata"]["uid"], -1),
                p["metadata"]["name"],
            )
        )
        for pod in candidates:
            if free <= 0:
                return
            refused = self._config_errors.get(pod["metadata"]["uid"])
            if refused is not None and time.monotonic() - refused < 1.0:
                continue  # the kubelet retries a refused container, but not in a hot loop
            if self._launch(pod, jobs[_controller_uid(pod)]):
                free -= 1

    def _launch(self, pod: dict[str, Any], job: dict[str, Any]) -> bool:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        pod_dir = self.pod_dir(namespace, name)
        try:
            plan = plan_launch(
                {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": NODE_NAME}},
                pod_dir=pod_dir,
                lookup=self._lookup,
                claim_dir=self._claim_dir,
                kubeconfig=self.kubeconfig,
                extra_env=self.settings.extra_env,
                max_grace_seconds=self.settings.max_grace_seconds,
                base_env=self._base_env(),
            )
        except ContainerConfigError as error:
            self._config_errors[meta["uid"]] = time.monotonic()
            logger.warning("pod %s/%s cannot start: %s", namespace, name, error)
            self._patch_pod_status(
                pod,
                {
                    "phase": "Pending",
                    "containerStatuses": [
                        _container_status(
                            _container_name(pod),
                            {
                                "waiting": {
                                    "reason": "CreateContainerConfigError",
                                    "message": str(error),
                                }
                            },
                        )
                    ],
                },
            )
            return False
        self._config_errors.pop(meta["uid"], None)
        proc = PodProcess(
            namespace=namespace,
            pod_name=name,
            pod_uid=meta["uid"],
            job_name=job["metadata"]["name"],
            job_uid=job["metadata"]["uid"],
            plan=plan,
        )
        try:
            proc.start()
        except OSError as error:
            # The image has no such command: the container cannot be created.
            logger.warning("pod %s/%s: %s", namespace, name, error)
            now = datetime.now(UTC)
            self._patch_pod_status(
                pod,
                {
                    "phase": "Failed",
                    "containerStatuses": [
                        _container_status(
                            plan.container,
                            {
                                "terminated": {
                                    "exitCode": 128,
                                    "reason": "StartError",
                                    "message": str(error),
                                    "startedAt": jobstatus.timestamp(now),
                                    "finishedAt": jobstatus.timestamp(now),
                                }
                            },
                        )
                    ],
                },
            )
            status = job.get("status") or {}
            failed = int(status.get("failed") or 0) + 1
            if jobstatus.backoff_exceeded(job.get("spec") or {}, failed):
                patch = jobstatus.failed_status(
                    status,
                    reason=jobstatus.REASON_BACKOFF_LIMIT,
                    message=jobstatus.MESSAGE_BACKOFF_LIMIT,
                    failed=failed,
                    now=now,
                )
            else:
                patch = {"active": 0, "ready": 0, "failed": failed}
                self._last_failure[job["metadata"]["uid"]] = time.monotonic()
            self._patch_job_status(job, patch)
            return False
        self._procs[meta["uid"]] = proc
        logger.info("started pod %s/%s: pid %s %s", namespace, name, proc.pid, plan.argv)
        stamp = jobstatus.timestamp(proc.started_at)
        ready = [
            {"type": t, "status": "True", "lastTransitionTime": stamp}
            for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ]
        self._patch_pod_status(
            pod,
            {
                "phase": "Running",
                "hostIP": "127.0.0.1",
                "podIP": "127.0.0.1",
                "startTime": stamp,
                "conditions": ready,
                "containerStatuses": [
                    _container_status(plan.container, {"running": {"startedAt": stamp}}, ready=True)
                ],
            },
        )
        self._patch_job_status(job, {"ready": 1})
        return True

    def _stop_pod(self, pod: Mapping[str, Any], why: str, *, reason: str = "Error") -> bool:
        """Stop a pod's process and mark the pod Failed; False if it had no process."""
        uid = pod["metadata"]["uid"]
        proc = self._procs.get(uid)
        if proc is None:
            return False
        proc.stop(why)
        now = datetime.now(UTC)
        with contextlib.suppress(JobControllerError):
            self._set_pod_terminated(
                pod, proc, proc.exit_code(), proc.termination_message(), now, pod_reason=reason
            )
        self._forget(uid, proc)
        return True

    def _set_pod_terminated(
        self,
        pod: Mapping[str, Any],
        proc: PodProcess,
        code: int,
        message: str | None,
        now: datetime,
        *,
        pod_reason: str | None = None,
    ) -> None:
        terminated: dict[str, Any] = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": jobstatus.timestamp(proc.started_at),
            "finishedAt": jobstatus.timestamp(now),
        }
        if message:
            terminated["message"] = message
        status: dict[str, Any] = {
            "phase": "Succeeded" if code == 0 else "Failed",
            "conditions": [
                *[c for c in _conditions(pod) if c.get("type") not in ("Ready", "ContainersReady")],
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "PodCompleted",
                    "lastTransitionTime": jobstatus.timestamp(now),
                },
                {
                    "type": "ContainersReady",
                    "status": "False",
                    "reason": "PodCompleted",
                    "lastTransitionTime": jobstatus.timestamp(now),
                },
            ],
            "containerStatuses": [
                _container_status(proc.plan.container, {"terminated": terminated})
            ],
        }
        if pod_reason is not None and code != 0:
            status["reason"] = pod_reason
        self._patch_pod_status(pod, status)

    def _delete_pod(self, pod: Mapping[str, Any]) -> None:
        meta = pod["metadata"]
        self.http.request(
            "DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}", allow=(404,)
        )

    # --- writing --------------------------------------------------------------------------------

    def _patch_job_status(self, job: dict[str, Any], status: dict[str, Any]) -> None:
        meta = job["metadata"]
        updated = self.http.request(
            "PATCH",
            f"/apis/batch/v1/namespaces/{meta['namespace']}/jobs/{meta['name']}/status",
            body={"status": status},
            headers=MERGE_PATCH,
            allow=(404,),
        )
        if updated is not None:
            job.clear()
            job.update(updated)

    def _patch_pod_status(self, pod: Mapping[str, Any], status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        self.http.request(
            "PATCH",
            f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
            body={"status": status},
            headers=MERGE_PATCH,
            allow=(404,),
        )


def _controller_uid(obj: Mapping[str, Any]) -> str:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == "Job":
            return str(ref.get("uid") or "")
    return ""


def _is_live(pod: Mapping[str, Any]) -> bool:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (pod.get("status") or {}).get("phase", "Pending") not in TERMINAL_POD_PHASES


def _conditions(obj: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return list(((obj or {}).get("status") or {}).get("conditions") or [])


def _true_condition(obj: Mapping[str, Any] | None, type_: str) -> dict[str, Any] | None:
    return next(
        (c for c in _conditions(obj) if c.get("type") == type_ and c.get("status") == "True"),
        None,
    )


def _container_name(pod: Mapping[str, Any]) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return str(containers[0].get("name") or "main")


def _container_status(name: str, state: dict[str, Any], *, ready: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "ready": ready,
        "started": "running" in state,
        "restartCount": 0,
        "image": "",
        "imageID": "",
        "state": state,
    }
