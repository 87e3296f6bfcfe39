"""`wattcast-devcluster`: a real one-node Kubernetes cluster on this machine, in the foreground.

    wattcast-devcluster --workdir DIR [--kubeconfig FILE] [--capacity N] [--no-kubelet]

Runs etcd (data in DIR), kube-apiserver, kube-controller-manager and, unless --no-kubelet, the
process kubelet; writes an admin kubeconfig (default DIR/kubeconfig), prints one line when
ready, and stops every child on SIGTERM or SIGINT. Exit 2 when the control plane binary has
not been built (`make setup`) or the arguments are unusable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from wattcast.devtools.cluster.controlplane import BinaryMissing, find_binary
from wattcast.devtools.cluster.devcluster import DevCluster
from wattcast.devtools.processes import StartError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wattcast-devcluster", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        required=True,
        help="etcd data, certificates, logs and pod folders live here",
    )
    parser.add_argument("--kubeconfig", type=Path, help="where to write the admin kubeconfig")
    parser.add_argument(
        "--capacity", type=int, default=2, help="pods the kubelet runs at once (default 2)"
    )
    parser.add_argument(
        "--no-kubelet", action="store_true", help="control plane only: pods stay Pending"
    )
    return parser


def _say(stream: TextIO, line: str) -> None:
    stream.write(f"wattcast-devcluster: {line}\n")
    stream.flush()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.capacity < 1:
        _say(sys.stderr, "--capacity must be at least 1")
        return 2
    try:
        find_binary()
    except BinaryMissing as missing:
        _say(sys.stderr, str(missing))
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    cluster = DevCluster(
        args.workdir,
        kubeconfig=args.kubeconfig,
        capacity=args.capacity,
        kubelet=not args.no_kubelet,
    )
    try:
        cluster.start()
    except StartError as failed:
        _say(sys.stderr, str(failed))
        return 1
    try:
        kubelet = "no kubelet" if args.no_kubelet else f"kubelet capacity {args.capacity}"
        _say(sys.stdout, f"ready at {cluster.server}, kubeconfig {cluster.kubeconfig} ({kubelet})")
        stop.wait()
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
