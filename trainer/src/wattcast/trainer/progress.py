"""The progress protocol (docs/design.md §4): stage bands, status patches, termination log,
terminal.

Stages and bands: ProcessingData 0-30, Training 30-90 (per epoch), Saving 90-99, 100 with the
result. Progress never decreases. Every update goes to each sink:

- :class:`StatusPatcher` merge-patches the TrainingJob's `status` subresource from a background
  thread, at most once per interval; the newest state replaces older unsent ones and the last
  one is always sent (`close`). API errors are logged, never raised: a training never fails
  because the Kubernetes API is unreachable (the termination log carries the result). A fleet's
  shard sends its live progress the same way (:class:`ShardProgress`, on the fleet's Lease).
- :class:`ConsoleDisplay` draws stage, bar, epoch and ETA with rich (standalone runs).
- :class:`LogDisplay` writes one log line per stage and per epoch (pods).

:func:`write_termination_log` writes the final :class:`TerminationMessage`.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wattcast.crd import Phase, TerminationMessage, TrainingProgress, TrainingResult, constants
from wattcast.crd.fleettrainingjob import shard_progress_key

log = logging.getLogger(__name__)

BANDS: dict[Phase, tuple[int, int]] = {
    Phase.PROCESSING_DATA: (0, 30),
    Phase.TRAINING: (30, 90),
    Phase.SAVING: (90, 99),
}


@dataclass
class ProgressState:
    """What the trainer reports, as the status fields it owns."""

    phase: Phase = Phase.PROCESSING_DATA
    progress: int = 0
    message: str = ""
    training: TrainingProgress | None = None
    result: TrainingResult | None = None

    def status_patch(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "phase": self.phase.value,
            "progress": self.progress,
            "message": self.message[:4096],
        }
        if self.training is not None:
            status["training"] = self.training.to_json_dict()
        if self.result is not None:
            status["result"] = self.result.to_json_dict()
        return {"status": status}


class ProgressSink(Protocol):
    def update(self, state: ProgressState) -> None: ...

    def close(self) -> None: ...


class ProgressReporter:
    """Turns stage and epoch events into monotonic progress and hands it to the sinks."""

    def __init__(self, sinks: list[ProgressSink]) -> None:
        self.sinks = sinks
        self.state = ProgressState()

    def _publish(self) -> None:
        snapshot = copy.deepcopy(self.state)
        for sink in self.sinks:
            try:
                sink.update(snapshot)
            except Exception:  # a display must never break a training
                log.exception("progress sink %s failed", type(sink).__name__)

    def _set_progress(self, value: float) -> None:
        self.state.progress = max(self.state.progress, min(100, int(value)))

    def stage(self, phase: Phase, message: str, fraction: float = 0.0) -> None:
        """Enter (or advance within) `phase`: `fraction` 0..1 of its band."""
        low, high = BANDS[phase]
        self.state.phase = phase
        self.state.message = message
        self._set_progress(low + (high - low) * min(1.0, max(0.0, fraction)))
        self._publish()

    def epoch(
        self,
        epoch: int,
        epochs: int,
        loss: float | None,
        val_loss: float | None,
        eta_seconds: int | None,
    ) -> None:
        low, high = BANDS[Phase.TRAINING]
        self.state.phase = Phase.TRAINING
        self.state.training = TrainingProgress(
            epoch=epoch,
            epochs=epochs,
            loss=loss,
            val_loss=val_loss,
            eta_seconds=eta_seconds,
        )
        shown = f"loss {loss:.4f}" if loss is not None else "loss n/a"
        if val_loss is not None:
            shown += f", val_loss {val_loss:.4f}"
        self.state.message = f"Epoch {epoch}/{epochs} ({shown})"
        self._set_progress(low + (high - low) * epoch / max(1, epochs))
        self._publish()

    def training_done(self, epochs_run: int, message: str) -> None:
        """Early stopping ends training before the planned epochs: show the band as full."""
        self.state.message = message
        self._set_progress(BANDS[Phase.TRAINING][1])
        if self.state.training is not None:
            self.state.training = self.state.training.model_copy(update={"eta_seconds": 0})
        self._publish()

    def succeed(self, result: TrainingResult, message: str) -> None:
        self.state.result = result
        self.state.message = message
        self.state.progress = 100
        self._publish()

    def fail(self, message: str) -> None:
        """Report a failure message; phase and progress stay (the operator sets Failed)."""
        self.state.message = message
        self._publish()

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                log.exception("closing progress sink %s failed", type(sink).__name__)


def kubernetes_api_client() -> Any:
    """An ApiClient: the pod's ServiceAccount, else $KUBECONFIG / ~/.kube/config (the
    contract's one order, wattcast.crd.kubeapi)."""
    from kubernetes import client

    from wattcast.crd.kubeapi import load_configuration

    configuration = load_configuration()
    # One try per call: the patcher retries by sending the next state anyway.
    configuration.retries = False
    return client.ApiClient(configuration)


class StatusApi(Protocol):
    def patch_status(self, patch: dict[str, Any]) -> None: ...


class KubernetesStatusApi:
    """Merge patches on `trainingjobs/<name>/status` with the kubernetes client."""

    def __init__(self, api_client: Any, *, name: str, namespace: str, timeout: float) -> None:
        from kubernetes import client

        self._api = client.CustomObjectsApi(api_client)
        self.name = name
        self.namespace = namespace
        self.timeout = timeout

    def patch_status(self, patch: dict[str, Any]) -> None:
        self._api.patch_namespaced_custom_object_status(
            constants.GROUP,
            constants.VERSION,
            self.namespace,
            constants.PLURAL,
            self.name,
            patch,
            _content_type="application/merge-patch+json",
            _request_timeout=self.timeout,
        )


class StatusPatcher:
    """Throttled, non-blocking status patches (see the module doc)."""

    def __init__(self, api: StatusApi, *, interval: float, close_timeout: float = 10.0) -> None:
        self.api = api
        self.interval = interval
        self.close_timeout = close_timeout
        self.sent = 0
        self.failures = 0
        self._pending: dict[str, Any] | None = None
        self._last_sent = float("-inf")
        self._closing = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="status-patcher", daemon=True)
        self._thread.start()

    def update(self, state: ProgressState) -> None:
        self.submit(state.status_patch())

    def submit(self, patch: dict[str, Any]) -> None:
        """Send `patch` soon; it replaces any patch not sent yet."""
        with self._condition:
            self._pending = patch
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while True:
                    if self._pending is not None:
                        wait = self._last_sent + self.interval - time.monotonic()
                        if wait <= 0 or self._closing:
                            break
                        self._condition.wait(wait)
                    elif self._closing:
                        return
                    else:
                        self._condition.wait()
                patch, self._pending = self._pending, None
                self._last_sent = time.monotonic()
            self._send(patch)

    def _send(self, patch: dict[str, Any]) -> None:
        try:
            self.api.patch_status(patch)
            self.sent += 1
        except Exception as error:  # an unreachable API never fails training
            self.failures += 1
            if self.failures == 1 or self.failures % 20 == 0:
                log.warning(
                    "could not send the progress (%d failures so far): %s",
                    self.failures,
                    _short(error),
                )

    def close(self) -> None:
        """Send what is pending (the last state always goes out) and stop the thread."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join(self.close_timeout)
        if self._thread.is_alive():
            log.warning("the last status patch did not finish within %.0f s", self.close_timeout)


class KubernetesLeaseApi:
    """Merge patches of a fleet's progress Lease, the one object a shard's token may write."""

    def __init__(self, api_client: Any, *, name: str, namespace: str, timeout: float) -> None:
        from kubernetes import client

        self._api = client.CoordinationV1Api(api_client)
        self.name = name
        self.namespace = namespace
        self.timeout = timeout

    def patch_status(self, patch: dict[str, Any]) -> None:
        self._api.patch_namespaced_lease(
            self.name,
            self.namespace,
            patch,
            _content_type="application/merge-patch+json",
            _request_timeout=self.timeout,
        )


class ShardProgress:
    """A running shard's meters finished so far, as its annotation on the fleet's Lease
    (wattcast.crd.fleettrainingjob.shard_progress); throttled like the status."""

    def __init__(self, patcher: StatusPatcher, index: int) -> None:
        self.patcher = patcher
        self.key = shard_progress_key(index)

    def __call__(self, finished: int) -> None:
        self.patcher.submit({"metadata": {"annotations": {self.key: str(finished)}}})

    def close(self) -> None:
        self.patcher.close()


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


class LogDisplay:
    """One log line per stage change and per epoch (pod logs)."""

    def __init__(self) -> None:
        self._last: tuple[str, str] | None = None

    def update(self, state: ProgressState) -> None:
        key = (state.phase.value, state.message)
        if key != self._last:
            self._last = key
            log.info("[%3d%%] %s: %s", state.progress, state.phase.value, state.message)

    def close(self) -> None:
        return None


class ConsoleDisplay:
    """A rich progress bar: stage, percent, epoch, losses and ETA (standalone runs)."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.fields[phase]:<15}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[epoch]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            transient=False,
        )
        self._task = self._progress.add_task("", total=100, phase="", epoch="", eta="-")
        self._progress.start()

    def update(self, state: ProgressState) -> None:
        epoch = eta = ""
        if state.training is not None:
            epoch = f"epoch {state.training.epoch}/{state.training.epochs}"
            if state.training.eta_seconds is not None:
                eta = f"{state.training.eta_seconds}s"
        self._progress.update(
            self._task,
            completed=state.progress,
            description=state.message,
            phase=state.phase.value,
            epoch=epoch,
            eta=eta or "-",
        )

    def close(self) -> None:
        self._progress.stop()


def write_termination_log(path: Path | None, message: TerminationMessage) -> None:
    """Write the final result where Kubernetes (or the local runner) reads it."""
    if path is None:
        return
    try:
        path.write_bytes(message.to_bytes())
    except OSError as error:
        log.warning("could not write the termination log %s: %s", path, error)
