"""The administrator's InfluxDB sources file, read the same way by the operator and the API.

`WATTCAST_INFLUX_SOURCES_FILE` names a YAML list of InfluxSource objects (camelCase). The
operator resolves TrainingJobs against them; the API reads the same file to refuse an unknown
`spec.source.name` with 422 before anything is created. Both load it with `load_sources_file`,
so they can never disagree on which names exist.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from wattcast.crd.constants import DEFAULT_SOURCE_NAME
from wattcast.crd.trainingjob import InfluxDialect, InfluxSource

_SOURCE_LIST = TypeAdapter(list[InfluxSource])


class SourcesConfigError(ValueError):
    """The sources configuration is wrong; the component refuses to start."""


def check_queryable(source: InfluxSource) -> None:
    """A source the trainer could not query is an administrator's mistake: refuse it rather
    than fail every TrainingJob that uses it."""
    if source.dialect is InfluxDialect.FLUX and not source.bucket:
        raise SourcesConfigError(f"source {source.name!r}: a flux source needs a bucket")
    if source.dialect is InfluxDialect.INFLUXQL and not source.database:
        raise SourcesConfigError(f"source {source.name!r}: an influxql source needs a database")


def load_sources_file(path: Path) -> list[InfluxSource]:
    """The sources of the YAML file at `path`: each valid and queryable, names unique.

    An empty file is no sources. Raises SourcesConfigError with what is wrong.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SourcesConfigError(f"cannot read sources file {path}: {error}") from error
    except yaml.YAMLError as error:
        raise SourcesConfigError(f"sources file {path} is not valid YAML: {error}") from error
    if raw is None:
        return []
    try:
        sources = _SOURCE_LIST.validate_python(raw)
    except ValidationError as error:
        raise SourcesConfigError(f"sources file {path}: {error}") from error
    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise SourcesConfigError(f"source {source.name!r} is configured twice")
        seen.add(source.name)
        check_queryable(source)
    return sources


__all__ = [
    "DEFAULT_SOURCE_NAME",
    "SourcesConfigError",
    "check_queryable",
    "load_sources_file",
]
