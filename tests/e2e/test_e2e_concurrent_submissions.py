"""20 submissions at once all end in SUCCESS, the kubelet never running more than 2 pods."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from e2e_support import E2E, unique

SUBMISSIONS = 20


@pytest.mark.timeout(900)
def test_twenty_concurrent_submissions_all_succeed(e2e: E2E) -> None:
    meters = [unique(f"burst{i:02d}") for i in range(SUBMISSIONS)]
    for meter in meters:
        e2e.load_meter(meter)
    most = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal most
        while not stop.is_set():
            most = max(most, len(e2e.running_pods()))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    with ThreadPoolExecutor(SUBMISSIONS) as pool:
        names = list(pool.map(e2e.create, meters))
    submitted = time.monotonic() - started
    try:
        finals = [e2e.wait_final(name, timeout=800) for name in names]
    finally:
        stop.set()
        sampler.join(5)
    drained = time.monotonic() - started
    failures = {f["name"]: f.get("message") for f in finals if f["taskStatus"] != "SUCCESS"}
    assert not failures, f"{failures}\n{e2e.stack.logs()}"
    assert most == 2
    assert all(len(e2e.jobs_of(name)) == 1 for name in names)
    print(f"\n{SUBMISSIONS} submissions in {submitted:.2f}s; all SUCCESS after {drained:.1f}s")
