"""The same flow started with `kubectl apply` (no REST API involved), watched with kubectl."""

from __future__ import annotations

import yaml
from e2e_support import E2E, TINY_MODEL, tiny_range, unique
from testkit import tj_body, wait_for


def test_kubectl_apply_trains_a_model(e2e: E2E) -> None:
    meter = unique("kubectl")
    e2e.load_meter(meter)
    name = unique("tj-kubectl")
    start, end = tiny_range()
    manifest = yaml.safe_dump(
        tj_body(name, namespace="default", meterId=meter, start=start, end=end, model=TINY_MODEL)
    )
    applied = e2e.kubectl("apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr
    assert f"trainingjob.wattcast.dev/{name} created" in applied.stdout

    final = e2e.wait_success(name)
    assert final["status"]["result"]["modelPath"].startswith(f"electricity/{meter}/versions/")

    phase = e2e.kubectl("get", "tj", name, "-o", "jsonpath={.status.phase}")
    assert phase.stdout == "Succeeded", phase.stderr
    table = e2e.kubectl("get", "tj", name)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:5] == ["NAME", "METER", "TYPE", "PHASE", "PROGRESS"]
    assert row.split()[:5] == [name, meter, "electricity", "Succeeded", "100"]
    jobs = e2e.kubectl("get", "jobs", "-l", f"wattcast.dev/trainingjob={name}", "-o", "name")
    assert jobs.stdout.split() == [f"job.batch/{name}"]
    # The operator labels what kubectl created, so selectors work as for REST submissions.
    obj = e2e.trainingjob(name)
    assert obj is not None
    assert obj["metadata"]["labels"]["wattcast.dev/meter-id"] == meter
    wait_for("no process", lambda: e2e.running_pid(name) is None, 10, logs=e2e.stack.logs)
