"""Loading TensorFlow and Keras quietly, with a bounded number of threads.

TensorFlow reads its logging and oneDNN switches at import time, so they are set here, before
the first import, and only if the user did not set them. Thread pools are sized to the CPUs this
process may use (a pod's CPU limit shows in its affinity mask or cgroup quota, not in
`os.cpu_count()`), which keeps small trainings from paying for dozens of idle threads.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import ModuleType

_QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # no INFO/WARNING lines from the C++ runtime
    "KERAS_BACKEND": "tensorflow",
    "TF_ENABLE_ONEDNN_OPTS": "0",  # reproducible numbers, and no oneDNN banner
    "ABSL_MIN_LOG_LEVEL": "2",
}


def usable_cpus() -> int:
    """CPUs this process may use: the affinity mask, bounded by a cgroup v2 CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota_file = Path("/sys/fs/cgroup/cpu.max")
    try:
        quota, period = quota_file.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period) + 0.5)))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


@lru_cache(maxsize=1)
def load_keras() -> tuple[ModuleType, float]:
    """Import Keras on TensorFlow once; returns the module and the import time in seconds."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    started = time.perf_counter()
    import keras
    import tensorflow as tf

    threads = usable_cpus()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    tf.get_logger().setLevel("ERROR")
    return keras, time.perf_counter() - started


@contextmanager
def third_party_warnings_silenced() -> Iterator[None]:
    """Keras and TensorFlow raise DeprecationWarnings about their own internals (numpy 2's
    `copy` keyword, for one); they are not ours to fix and must not fail a training when
    warnings are errors (as in our tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield
