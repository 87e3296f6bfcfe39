"""Data pull: one meter-year of minute data from a real InfluxDB 1.x (issue 5, benchmark 1).

Writes 525,600 minute points of a synthetic household meter to a throw-away influxd (the test
bed's), then times the same query, raw and aggregated to 1 h on the server, four ways:

- ours: the trainer's InfluxQLSource (POST /query, bound parameters, CSV -> pandas.read_csv);
- curl: the same request with curl, body to /dev/null (the floor: transfer only, no parsing);
- json: the same query as JSON (InfluxDB's default) turned into a DataFrame the obvious way;
- DataFrameClient: the `influxdb` package's client (a dev dependency, used only here).

Prints the median of three runs per method. Goal: ours within 1.5x of curl.

    .venv/bin/python benchmarks/bench_trainer_data_pull.py [--days 365]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
import requests

from wattcast.crd import MeterType, Resolution
from wattcast.devtools.testbed.influx import InfluxServer, write_meter
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.forecasting.datasource import MeterQuery
from wattcast.forecasting.influx.influxql import InfluxQLSource

START = datetime(2023, 1, 1, tzinfo=UTC)
DATABASE = "bench"
METER = "bench-meter"


def median_time(fn: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    end = START + timedelta(days=args.days)
    frame = generate_meter("household", start=START, end=end, freq="1min", seed=1, gaps=False)
    with InfluxServer() as server:
        server.create_database(DATABASE)
        started = time.perf_counter()
        points = write_meter(server.url, DATABASE, "electricity", METER, frame, batch_size=20000)
        print(f"wrote {points} minute points in {time.perf_counter() - started:.1f} s")
        source = InfluxQLSource(url=server.url, database=DATABASE, token=None, timeout=600)
        for label, resolution in (("raw minutes", None), ("hourly means", Resolution.HOUR_1)):
            query = MeterQuery(
                meter_id=METER,
                meter_type=MeterType.ELECTRICITY,
                start=START,
                end=end,
                resolution=resolution,
            )
            params = source.request_params(query)
            results: dict[str, float] = {}
            results["ours"], ours = median_time(lambda q=query: source.fetch(q))
            curl = [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-X",
                "POST",
                "-H",
                "Accept: application/csv",
                *(
                    arg
                    for key, value in params.items()
                    for arg in ("--data-urlencode", f"{key}={value}")
                ),
                f"{server.url}/query",
            ]
            results["curl"], _ = median_time(lambda c=curl: subprocess.run(c, check=True))

            def naive_json(p: dict[str, str] = params) -> pd.DataFrame:
                body = requests.post(f"{server.url}/query", data=p, timeout=600).json()
                series = body["results"][0]["series"][0]
                out = pd.DataFrame(series["values"], columns=series["columns"])
                out.index = pd.to_datetime(out.pop("time"), unit="ms", utc=True)
                return out

            results["json"], naive = median_time(naive_json)

            from influxdb import DataFrameClient

            client = DataFrameClient(host="127.0.0.1", port=server.port, database=DATABASE)
            statement = params["q"]
            bind = json.loads(params["params"])

            def dataframe_client(
                s: str = statement, b: dict[str, str] = bind, c: DataFrameClient = client
            ) -> object:
                return c.query(s, bind_params=b, epoch="ms")

            results["DataFrameClient"], _ = median_time(dataframe_client)
            client.close()
            rows = len(ours)  # type: ignore[arg-type]
            assert len(naive) == rows, (len(naive), rows)
            ratio = results["ours"] / results["curl"]
            print(
                f"{label:>13}: {rows:>7} rows | ours {results['ours']:.3f} s | curl "
                f"{results['curl']:.3f} s | naive JSON {results['json']:.3f} s | "
                f"DataFrameClient {results['DataFrameClient']:.3f} s | ours/curl {ratio:.2f}x"
            )
        source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
