"""`make demo`'s program runs to the end: three meters trained through the seed endpoint,
every task SUCCESS, `kubectl get tj` shown, everything stopped, exit code 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wattcast.devtools.stack import models_dir_of
from wattcast.devtools.testbed.influx import find_influxd


@pytest.mark.timeout(420)
def test_demo_trains_three_meters_and_stops_everything(tmp_path: Path) -> None:
    if find_influxd() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed: run `make setup`")
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "wattcast.devtools.demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "all trainings ended: SUCCESS" in output
    assert output.count('"status": "SUCCESS"') == 3
    assert "day-ahead forecasts" in output
    assert "no forecast" not in output  # every answer was a forecast or "not promoted"
    assert "kubectl get tj" in output
    assert output.count("Succeeded") >= 3  # the kubectl table
    assert "stopped everything the demo started" in output
    store = models_dir_of(workdir)
    meters = ("electricity/meter1", "electricity/meter2", "water/water1")
    # Every meter has a saved version; `current` only where the promotion gate let it in, and
    # exactly those meters get a forecast table from the REST API.
    assert all(list((store / meter / "versions").iterdir()) for meter in meters)
    promoted = [meter for meter in meters if (store / meter / "current").exists()]
    assert promoted, output
    for meter in meters:
        shown = f"{meter}  model " in output
        assert shown == (meter in promoted), output
        assert shown or f"{meter}: no current model (not promoted)" in output
