"""``wattcast-influxdb``: a private, set-up InfluxDB in the foreground, for trying wattcast.

    wattcast-influxdb --flavor 1|2 --workdir DIR [--port P]

Starts InfluxDB 2 with Flux (``--flavor 2``, built by ``make setup``) or Debian's 1.6 with
InfluxQL (``--flavor 1``) on 127.0.0.1, sets up an org and bucket (or a database), an
all-access and a read-only token, writes ``DIR/connection.json`` and prints one line when
ready. Runs until SIGTERM or SIGINT, then stops the server and deletes its data and the
connection file. Exit codes: 0 after a clean stop, 1 when the server cannot start or dies,
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from wattcast.devtools.testbed.influx import InfluxError
from wattcast.devtools.testbed.instance import start_influx

__all__ = ["main"]

_POLL_SECONDS = 0.5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattcast-influxdb",
        description="Run a private, set-up InfluxDB on 127.0.0.1 until SIGTERM/SIGINT.",
    )
    parser.add_argument(
        "--flavor",
        type=int,
        choices=(1, 2),
        required=True,
        help="2: InfluxDB 2 with Flux (the seed's); 1: InfluxDB 1.6 with InfluxQL",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        required=True,
        help="directory for the server's data and connection.json (emptied of both on exit)",
    )
    parser.add_argument(
        "--port", type=int, default=None, help="HTTP port on 127.0.0.1 (default: a free one)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        _parser().error(f"--port must be 1..65535, got {args.port}")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        running = start_influx(args.flavor, workdir=args.workdir, port=args.port)
    except (InfluxError, OSError) as error:
        sys.stderr.write(f"wattcast-influxdb: {error}\n")
        return 1
    with running:
        connection = running.connection
        where = (
            f"org {connection.org}, bucket {connection.bucket}"
            if connection.flavor == 2
            else f"database {connection.database}"
        )
        sys.stdout.write(
            f"wattcast-influxdb: InfluxDB {connection.version} ({connection.dialect}) ready at "
            f"{connection.url}, {where}; connection: {running.file}\n"
        )
        sys.stdout.flush()
        while not stop.wait(_POLL_SECONDS):
            if not running.server.running:
                sys.stderr.write("wattcast-influxdb: influxd exited on its own\n")
                return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
