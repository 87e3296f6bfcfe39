"""`wattcast-operator`: start the Kopf operator as a module (never a file path).

Reads the WATTCAST_ settings, checks the configured InfluxDB sources, starts the metrics
endpoint, imports `wattcast.operator.handlers` (which registers the handlers with Kopf) and
runs Kopf on the namespaces to watch (all when none are set), with the liveness endpoint and,
when WATTCAST_PEERING names a peering object, Kopf peering for more than one replica.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import kopf
from kubernetes.config.config_exception import ConfigException
from pydantic import ValidationError

from wattcast.crd.influx_sources import SourcesConfigError
from wattcast.operator import metrics
from wattcast.operator.settings import get_settings

logger = logging.getLogger("wattcast.operator")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="wattcast-operator",
        description="Turns each TrainingJob into one Kubernetes Job and writes the Job's life "
        "back to the TrainingJob. Configured by WATTCAST_* environment variables "
        "(docs/operator.md).",
    )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--verbose", action="store_true", help="log more (Kopf's verbose mode)")
    noise.add_argument("--debug", action="store_true", help="log everything, Kopf's internals too")
    noise.add_argument("--quiet", action="store_true", help="log warnings and errors only")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        sys.stderr.write(f"wattcast-operator: invalid WATTCAST_* settings:\n{error}\n")
        return 2
    # Built here, before Kopf starts, so a configuration error stops the process at once
    # with a clear message instead of a startup handler retrying forever.
    # Importing the module registers its handlers with Kopf (a module, never a file path).
    from wattcast.operator import handlers  # noqa: F401
    from wattcast.operator.runtime import Runtime

    try:
        runtime = Runtime.from_environment()
    except SourcesConfigError as error:
        sys.stderr.write(f"wattcast-operator: {error}\n")
        return 2
    except ConfigException as error:
        sys.stderr.write(f"wattcast-operator: no Kubernetes configuration: {error}\n")
        return 2
    kopf.configure(
        debug=args.debug,
        verbose=args.verbose,
        quiet=args.quiet,
        log_format=(
            kopf.LogFormat.JSON if settings.effective_log_format == "json" else kopf.LogFormat.FULL
        ),
    )
    metrics.serve(settings.metrics_port)
    namespaces = settings.namespace_list
    logger.info(
        "watching %s; metrics on :%s",
        ", ".join(namespaces) if namespaces else "all namespaces",
        settings.metrics_port or "(off)",
    )
    kopf.run(
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=not settings.peering,
        peering_name=settings.peering or None,
        liveness_endpoint=(
            f"http://0.0.0.0:{settings.health_port}/healthz" if settings.health_port else None
        ),
        memo=kopf.Memo(runtime=runtime),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
