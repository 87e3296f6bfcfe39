"""One trained model per module: a real trainer run against the real InfluxDB 1.6 test bed."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "trainer"))

from forecast_support import TrainedMeter, train_meter

from wattcast.devtools.testbed.influx import InfluxServer


@pytest.fixture(scope="module")
def trained(
    influxdb: InfluxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrainedMeter]:
    """A household meter (six weeks, hourly) written to a fresh database and trained once."""
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith(("INFLUX_", "WATTCAST_"))]:
            patch.delenv(key)
        meter = train_meter(influxdb, tmp_path_factory.mktemp("forecasts"))
    yield meter
    influxdb.drop_database(meter.database)
