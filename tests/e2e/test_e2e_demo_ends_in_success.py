"""`make demo`'s program runs to the end: three meters trained through the seed endpoint,
every task SUCCESS, `kubectl get tj` shown, everything stopped, exit code 0. On both stores:
InfluxDB 2 with Flux (`make demo`, the seed's) and InfluxDB 1.6 with InfluxQL
(`make demo INFLUX=1`), so each dialect goes through the whole stack once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wattcast.devtools.stack import models_dir_of
from wattcast.devtools.testbed.influx import find_influxd
from wattcast.devtools.testbed.influx2 import find_influxd2


@pytest.mark.timeout(420)
@pytest.mark.parametrize("flavor", [None, "1"], ids=["default-influxdb2-flux", "influxdb1"])
def test_demo_trains_three_meters_and_stops_everything(tmp_path: Path, flavor: str | None) -> None:
    if flavor == "1" and find_influxd() is None:
        pytest.skip("influxd (InfluxDB 1.x) is not installed: run `make setup`")
    if flavor is None and find_influxd2() is None:
        pytest.fail("InfluxDB 2 is not built: run `make setup`", pytrace=False)
    workdir = tmp_path / "demo"
    command = [sys.executable, "-m", "wattcast.devtools.demo", "--workdir", str(workdir)]
    done = subprocess.run(
        command + (["--influx", flavor] if flavor else []),
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "all trainings ended: SUCCESS" in output
    assert ("Flux" if flavor is None else "InfluxQL") in output.split("Kubernetes")[0]
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
