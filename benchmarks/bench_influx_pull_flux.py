"""Data pull on Flux: one meter-year of minute data from a real InfluxDB 2 (issue 19).

Writes 525,600 minute points of a synthetic household meter to a throw-away InfluxDB 2 (the
test bed's, built by `make setup`), then times the trainer's query, raw and aggregated to 1 h
on the server, three ways:

- ours: the trainer's FluxSource (influxdb-client's `query_raw`, parameters in `extern`,
  annotated CSV -> pandas);
- curl: the very same request body with curl, the answer to /dev/null (the floor: the server's
  work and the transfer, no parsing);
- query_data_frame: influxdb-client's own DataFrame path with the same query and parameters.

Prints the median of three runs per method. Goal: ours within 1.3x of curl.

    .venv/bin/python benchmarks/bench_influx_pull_flux.py [--days 365]
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
from typing import Any

from influxdb_client.client.influxdb_client import InfluxDBClient
from pydantic import SecretStr

from wattcast.crd import MeterType, Resolution
from wattcast.devtools.testbed.instance import start_influx
from wattcast.devtools.testbed.synthetic import generate_meter
from wattcast.forecasting.datasource import MeterQuery
from wattcast.forecasting.influx.flux import FluxSource, build_query

START = datetime(2023, 1, 1, tzinfo=UTC)
METER = "bench-meter"


def median_time(fn: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def request_body(client: InfluxDBClient, text: str, params: dict[str, Any]) -> str:
    """The JSON body influxdb-client posts for this query (the `extern` with the parameters)."""
    api = client.query_api()
    query = api._create_query(text, api.default_dialect, params)
    return json.dumps(client.api_client.sanitize_for_serialization(query))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    end = START + timedelta(days=args.days)
    frame = generate_meter("household", start=START, end=end, freq="1min", seed=1, gaps=False)
    with start_influx(2) as influx:
        connection = influx.connection
        assert connection.org is not None and connection.bucket is not None
        started = time.perf_counter()
        points = influx.write_meter("electricity", METER, frame, batch_size=20000)
        print(f"wrote {points} minute points in {time.perf_counter() - started:.1f} s")
        token = connection.read_token
        source = FluxSource(
            url=connection.url,
            org=connection.org,
            bucket=connection.bucket,
            token=SecretStr(token),
            timeout=600,
        )
        client = InfluxDBClient(
            url=connection.url, token=token, org=connection.org, timeout=600_000
        )
        for label, resolution in (("raw minutes", None), ("hourly means", Resolution.HOUR_1)):
            query = MeterQuery(
                meter_id=METER,
                meter_type=MeterType.ELECTRICITY,
                start=START,
                end=end,
                resolution=resolution,
            )
            text, params = build_query(query, connection.bucket)
            source.fetch(query)  # warm-up
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
                f"Authorization: Token {token}",
                "-H",
                "Content-Type: application/json",
                "-H",
                "Accept: application/csv",
                "--data-binary",
                request_body(client, text, params),
                f"{connection.url}/api/v2/query?org={connection.org}",
            ]
            results["curl"], _ = median_time(lambda c=curl: subprocess.run(c, check=True))

            def client_frame(t: str = text, p: dict[str, Any] = params) -> Any:
                return client.query_api().query_data_frame(t, params=p)

            results["query_data_frame"], theirs = median_time(client_frame)
            rows = len(ours)  # type: ignore[arg-type]
            assert len(theirs) == rows, (len(theirs), rows)
            ratio = results["ours"] / results["curl"]
            print(
                f"{label:>13}: {rows:>7} rows | ours {results['ours']:.3f} s | curl "
                f"{results['curl']:.3f} s | query_data_frame {results['query_data_frame']:.3f} s"
                f" | ours/curl {ratio:.2f}x"
            )
        client.close()  # type: ignore[no-untyped-call]
        source.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
