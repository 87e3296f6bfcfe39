"""``wattcast-emulator``: serve the emulated Kubernetes API on 127.0.0.1 until SIGINT/SIGTERM.

    wattcast-emulator --port 8001 --kubeconfig /tmp/emulator.kubeconfig \
        --crd crds/trainingjob.yaml --namespace wattcast

Writes a kubeconfig (context ``wattcast-emulator``, a dummy token) for the served URL, creates
the ``default`` namespace and any ``--namespace``, installs every CustomResourceDefinition in
each ``--crd`` file, prints ``serving <url>`` on stdout once ready, and runs until signalled.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from wattcast.devtools.emulator.errors import ApiError
from wattcast.devtools.emulator.kubeconfig import write_kubeconfig
from wattcast.devtools.emulator.server import EmulatorServer, ensure_namespace
from wattcast.devtools.emulator.store import Store

logger = logging.getLogger("wattcast.devtools.emulator")


def load_crds(path: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in a YAML file."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    crds = [d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    if not crds:
        raise ValueError(f"{path}: no CustomResourceDefinition in this file")
    return crds


def prepare_store(
    store: Store, *, crd_files: Sequence[Path] = (), namespaces: Sequence[str] = ()
) -> None:
    """Create ``default`` and the given namespaces, and install the CRDs from the files."""
    for ns in ("default", *namespaces):
        ensure_namespace(store, ns)
    for path in crd_files:
        for crd in load_crds(path):
            store.install_crd(crd)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattcast-emulator",
        description="Serve an emulated Kubernetes API server on 127.0.0.1 over plain HTTP.",
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port (0: a free one)")
    parser.add_argument(
        "--kubeconfig", type=Path, required=True, help="where to write the kubeconfig"
    )
    parser.add_argument(
        "--crd", type=Path, action="append", default=[], help="CRD YAML to preload (repeatable)"
    )
    parser.add_argument(
        "--namespace",
        action="append",
        default=[],
        help="namespace to create besides 'default' (repeatable)",
    )
    parser.add_argument(
        "--watch-history",
        type=int,
        default=10_000,
        help="changes kept for watches that resume from a resourceVersion (older ones get 410)",
    )
    parser.add_argument("--log-level", default="INFO", help="Python logging level")
    return parser


async def _serve(args: argparse.Namespace) -> int:
    store = Store(history_size=args.watch_history)
    try:
        prepare_store(store, crd_files=args.crd, namespaces=args.namespace)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        logger.error("cannot preload: %s", exc)
        return 2
    except ApiError as exc:
        logger.error("the API server refuses a preloaded object: %s", exc.message)
        return 2
    server = EmulatorServer(port=args.port, store=store)
    try:
        url = await server.start()
    except OSError as exc:
        logger.error("cannot listen on 127.0.0.1:%s: %s", args.port, exc)
        return 2
    write_kubeconfig(args.kubeconfig, url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(f"serving {url} (kubeconfig {args.kubeconfig})\n")
    sys.stdout.flush()
    await stop.wait()
    logger.info("stopping")
    await server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(_serve(args))


if __name__ == "__main__":
    sys.exit(main())
