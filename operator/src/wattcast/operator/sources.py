"""The InfluxDB sources the administrator configured, and how a TrainingJob picks one.

A TrainingJob names a configured source (or none, for the default) and may narrow it with a
bucket (Flux) or database (InfluxQL) override; it can never name a URL or a Secret
(docs/design.md §2). Anything else is refused with a reason before any Job exists.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from wattcast.crd import InfluxDialect, InfluxSource, Reason, SourceRef
from wattcast.crd.constants import DEFAULT_SOURCE_NAME
from wattcast.crd.influx_sources import SourcesConfigError, check_queryable, load_sources_file
from wattcast.operator.settings import OperatorSettings


class SourceRefused(Exception):
    """A TrainingJob's `spec.source` cannot be honoured; `reason` is a condition reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def default_source(settings: OperatorSettings) -> InfluxSource | None:
    """The source described by WATTCAST_INFLUX_*, or None when no URL is set."""
    if settings.influx_url is None:
        return None
    token_secret = None
    if settings.influx_token_secret:
        name, _, key = settings.influx_token_secret.partition("/")
        token_secret = {"name": name, "key": key}
    try:
        return InfluxSource.model_validate(
            {
                "name": DEFAULT_SOURCE_NAME,
                "url": settings.influx_url,
                "dialect": settings.influx_dialect,
                "org": settings.influx_org,
                "bucket": settings.influx_bucket,
                "database": settings.influx_database,
                "tokenSecret": token_secret,
            }
        )
    except ValidationError as error:
        raise SourcesConfigError(f"WATTCAST_INFLUX_* describe no valid source: {error}") from error


def configured_sources(settings: OperatorSettings) -> dict[str, InfluxSource]:
    """All configured sources by name: the default one and those of the sources file."""
    sources: dict[str, InfluxSource] = {}
    default = default_source(settings)
    if default is not None:
        check_queryable(default)
        sources[default.name] = default
    if settings.influx_sources_file is not None:
        for source in load_sources_file(settings.influx_sources_file):
            if source.name in sources:
                raise SourcesConfigError(f"source {source.name!r} is configured twice")
            sources[source.name] = source
    return sources


def resolve_source(ref: SourceRef | None, sources: Mapping[str, InfluxSource]) -> InfluxSource:
    """The source a TrainingJob reads, its overrides applied, or SourceRefused."""
    name = (ref.name if ref else None) or DEFAULT_SOURCE_NAME
    source = sources.get(name)
    if source is None:
        known = ", ".join(sorted(sources)) or "none"
        raise SourceRefused(
            Reason.UNKNOWN_SOURCE,
            f"spec.source.name {name!r} is not a configured InfluxDB source (configured: {known})",
        )
    if ref is None:
        return source
    if ref.bucket is not None and source.dialect is not InfluxDialect.FLUX:
        raise SourceRefused(
            Reason.SOURCE_OVERRIDE_NOT_ALLOWED,
            f"source {name!r} speaks {source.dialect.value}: override spec.source.database, "
            "not bucket",
        )
    if ref.database is not None and source.dialect is not InfluxDialect.INFLUXQL:
        raise SourceRefused(
            Reason.SOURCE_OVERRIDE_NOT_ALLOWED,
            f"source {name!r} speaks {source.dialect.value}: override spec.source.bucket, "
            "not database",
        )
    update: dict[str, object] = {}
    if ref.bucket is not None:
        update["bucket"] = ref.bucket
    if ref.database is not None:
        update["database"] = ref.database
    return source.model_copy(update=update) if update else source


__all__ = [
    "SourceRefused",
    "configured_sources",
    "default_source",
    "resolve_source",
]
