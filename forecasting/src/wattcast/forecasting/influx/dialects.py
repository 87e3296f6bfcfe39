"""The DataSource of a complete source description, by its dialect."""

from __future__ import annotations

from pydantic import SecretStr

from wattcast.crd import InfluxDialect, InfluxSource
from wattcast.forecasting.datasource import DataSource, check_influx_name
from wattcast.forecasting.errors import InvalidConfigError
from wattcast.forecasting.influx.flux import FluxSource
from wattcast.forecasting.influx.influxql import InfluxQLSource


def make_source(source: InfluxSource, token: SecretStr | None, *, timeout: float) -> DataSource:
    """The DataSource for a complete source description."""
    if source.dialect == InfluxDialect.INFLUXQL:
        return InfluxQLSource(
            url=source.url,
            database=check_influx_name("database", source.database),
            token=token,
            timeout=timeout,
            name=source.name,
        )
    if not source.org:
        raise InvalidConfigError("a flux source needs an org (INFLUX_ORG)")
    return FluxSource(
        url=source.url,
        org=source.org,
        bucket=check_influx_name("bucket", source.bucket),
        token=token,
        timeout=timeout,
        name=source.name,
    )
