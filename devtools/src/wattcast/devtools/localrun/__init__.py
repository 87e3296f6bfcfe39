"""The local job runner: stands in for the Job controller and the kubelet (dev-only).

Against the emulated API server (or any API server with no nodes of its own), it runs each
batch/v1 Job's pod as a local process and writes pods and Job status as a cluster would. It
powers the end-to-end tests and `make demo`. Start it with
``python -m wattcast.devtools.localrun --kubeconfig FILE --models-dir DIR``, or in-process:

    with LocalRunner(kubeconfig, models_dir, workdir, RunnerSettings(capacity=2)):
        ...

Modules: :mod:`.jobstatus` (the Job controller's decisions, pure), :mod:`.pods` (pod objects
and launch plans), :mod:`.process` (one container process), :mod:`.runner` (the loop).
Its differences from a real cluster: docs/local-stack.md.
"""

from wattcast.devtools.localrun.runner import LocalRunner, RunnerSettings

__all__ = ["LocalRunner", "RunnerSettings"]
