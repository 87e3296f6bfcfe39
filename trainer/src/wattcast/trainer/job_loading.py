"""Where the TrainingJob and its InfluxDB source come from: the API in a pod, a file standalone.

In a pod (docs/design.md §3.1) the trainer reads its TrainingJob by name and namespace from the
Kubernetes API and the resolved source from the `INFLUX_*` variables. Standalone, it reads the
YAML a user would `kubectl apply`; there `spec.source` may be a complete
:class:`wattcast.crd.InfluxSource` (with a URL), since the user runs the trainer on their own
machine with their own token (`INFLUX_TOKEN`).

The meter id is checked against the contract's pattern *before* the spec is validated as a
whole, so a hostile id is reported as `InvalidMeterId` and never reaches a query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from wattcast.crd import InfluxSource, SourceRef, TrainingJob, TrainingJobSpec, constants
from wattcast.forecasting.datasource import check_meter_id
from wattcast.forecasting.errors import InvalidConfigError, TrainerError
from wattcast.forecasting.settings import InfluxEnvSettings
from wattcast.trainer.specfile import load_spec_document


class StandaloneSpec(TrainingJobSpec):
    """The contract's spec, where `source` may also be a complete source (standalone only)."""

    source: SourceRef | InfluxSource | None = Field(  # type: ignore[assignment]
        default=None,
        description="A configured source's name and overrides, or (standalone) a complete "
        "source with url, dialect, org, bucket or database.",
    )


class StandaloneTrainingJob(TrainingJob):
    spec: StandaloneSpec


def validate_trainingjob(
    document: Any, where: str, *, allow_full_source: bool
) -> StandaloneTrainingJob:
    """A TrainingJob (or bare spec) document, the meter id checked first.

    `allow_full_source` is for files a user runs standalone; from the cluster it is False.
    """
    if not isinstance(document, dict):
        raise InvalidConfigError(f"{where} is not a TrainingJob object")
    if "spec" not in document:
        # A bare spec is accepted too.
        document = {"spec": document}
    spec = document.get("spec")
    if not isinstance(spec, dict):
        raise InvalidConfigError(f"{where} has no spec mapping")
    check_meter_id(spec.get("meterId", spec.get("meter_id")))
    try:
        if not allow_full_source:
            # From the cluster: the contract's own model, whose source can never name a URL
            # or a Secret (the schema already says so; this is the second line).
            TrainingJob.model_validate(document)
        return StandaloneTrainingJob.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]
        )
        raise InvalidConfigError(f"{where} is not a valid TrainingJob: {problems}") from None


def load_spec_file(path: Path) -> StandaloneTrainingJob:
    """A TrainingJob (or a bare spec) from a YAML file, read as wattcast.trainer.specfile says."""
    document = load_spec_document(path)
    return validate_trainingjob(document, str(path), allow_full_source=True)


def read_trainingjob(api_client: Any, *, name: str, namespace: str, timeout: float) -> Any:
    """The TrainingJob from the API; an API failure is retriable."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = client.CustomObjectsApi(api_client)
    try:
        document = api.get_namespaced_custom_object(
            constants.GROUP,
            constants.VERSION,
            namespace,
            constants.PLURAL,
            name,
            _request_timeout=timeout,
        )
    except ApiException as error:
        if error.status == 404:
            raise InvalidConfigError(f"TrainingJob {namespace}/{name} does not exist") from None
        raise TrainerError(
            f"could not read TrainingJob {namespace}/{name}: HTTP {error.status} {error.reason}"
        ) from None
    except (HTTPError, OSError) as error:
        raise TrainerError(
            f"could not reach the Kubernetes API to read TrainingJob {namespace}/{name}: "
            f"{type(error).__name__}"
        ) from None
    where = f"TrainingJob {namespace}/{name}"
    return validate_trainingjob(document, where, allow_full_source=False)


def resolve_source(spec: StandaloneSpec, env: InfluxEnvSettings) -> InfluxSource:
    """The complete source: from the spec (standalone) or `INFLUX_*`, with narrow overrides."""
    if isinstance(spec.source, InfluxSource):
        return spec.source
    if not env.url:
        raise InvalidConfigError(
            "no InfluxDB source: set INFLUX_URL (and INFLUX_DIALECT, INFLUX_ORG, INFLUX_BUCKET "
            "or INFLUX_DATABASE), or give spec.source a url in a standalone spec file"
        )
    # The name the administrator gave the source: what failures call it (never its URL).
    name = spec.source.name if isinstance(spec.source, SourceRef) and spec.source.name else None
    try:
        source = InfluxSource(
            name=name or "default",
            url=env.url,
            dialect=env.dialect,
            org=env.org or None,
            bucket=env.bucket or None,
            database=env.database or None,
        )
    except ValidationError as error:
        raise InvalidConfigError(f"invalid INFLUX_* settings: {error.errors()[0]['msg']}") from None
    if isinstance(spec.source, SourceRef):
        overrides = {
            key: value
            for key, value in (("bucket", spec.source.bucket), ("database", spec.source.database))
            if value
        }
        source = source.model_copy(update=overrides)
    return source
