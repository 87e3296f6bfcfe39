"""``python -m wattcast.devtools.localrun``: run Jobs of an API server as local processes.

    python -m wattcast.devtools.localrun --kubeconfig /tmp/emulator.kubeconfig \
        --models-dir ./models --capacity 2 --backoff-base 1 --env WATTCAST_MIN_TRAINING_DAYS=7

Prints ``local runner ready`` on stdout once it polls, and runs until SIGINT or SIGTERM, when
it stops every process it started.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import yaml
from pydantic import ValidationError

from wattcast.devtools.localrun.runner import LocalRunner, RunnerSettings


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wattcast.devtools.localrun",
        description="Stand in for the Kubernetes Job controller and kubelet: run each Job's "
        "pod as a local process (docs/local-stack.md).",
    )
    parser.add_argument("--kubeconfig", type=Path, required=True, help="the API server to use")
    parser.add_argument(
        "--models-dir", type=Path, required=True, help="local folder of the claim at /models"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="pod folders and logs (default: a temp dir)"
    )
    parser.add_argument("--capacity", type=int, default=2, help="pods running at once")
    parser.add_argument(
        "--backoff-base", type=float, default=10.0, help="first retry delay, seconds"
    )
    parser.add_argument("--backoff-max", type=float, default=360.0, help="retry delay cap")
    parser.add_argument(
        "--namespace", action="append", default=[], help="only these namespaces (repeatable)"
    )
    parser.add_argument(
        "--env", type=_pair, action="append", default=[], help="KEY=VALUE for every pod"
    )
    parser.add_argument(
        "--claim", type=_pair, action="append", default=[], help="CLAIM=DIR: a claim's folder"
    )
    parser.add_argument("--log-level", default="INFO", help="Python logging level")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.kubeconfig.is_file():
        sys.stderr.write(f"localrun: no kubeconfig at {args.kubeconfig}\n")
        return 2
    try:
        settings = RunnerSettings(
            capacity=args.capacity,
            backoff_base_seconds=args.backoff_base,
            backoff_max_seconds=args.backoff_max,
            namespaces=tuple(args.namespace),
            extra_env=dict(args.env),
            claim_dirs={k: Path(v) for k, v in args.claim},
        )
    except ValidationError as error:
        sys.stderr.write(f"localrun: invalid settings:\n{error}\n")
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wattcast-localrun-"))
    try:
        runner = LocalRunner(args.kubeconfig, args.models_dir, workdir, settings)
    except (KeyError, TypeError, AttributeError, yaml.YAMLError) as error:
        sys.stderr.write(
            f"localrun: {args.kubeconfig} is not a usable kubeconfig "
            f"(current-context, cluster and user needed): {error!r}\n"
        )
        return 2
    done = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    runner.start()
    sys.stdout.write(f"local runner ready (capacity {settings.capacity}, pods in {workdir})\n")
    sys.stdout.flush()
    done.wait()
    runner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
