"""Settings of the forecasting path: the InfluxDB source as the seed's `INFLUX_*` variables
(the same ones the standalone trainer reads) and `WATTCAST_*` tuning."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattcast.crd import InfluxDialect, InfluxSource
from wattcast.forecasting.errors import InvalidConfigError


class InfluxEnvSettings(BaseSettings):
    """The source, as the seed's `INFLUX_*` variables."""

    model_config = SettingsConfigDict(env_prefix="INFLUX_", extra="ignore")

    url: str | None = Field(default=None, description="Base URL of the InfluxDB HTTP API.")
    dialect: InfluxDialect = Field(default=InfluxDialect.FLUX, description="flux or influxql.")
    org: str | None = Field(default=None, description="Organisation (Flux).")
    bucket: str | None = Field(default=None, description="Bucket (Flux).")
    database: str | None = Field(default=None, description="Database (InfluxQL).")
    token: SecretStr | None = Field(
        default=None, description="Token; InfluxDB 1.x: `user:password`; unset: no auth."
    )

    def source(self) -> InfluxSource:
        """The complete source; InvalidConfigError naming what is missing."""
        if not self.url:
            raise InvalidConfigError("no InfluxDB source: set INFLUX_URL (and INFLUX_DIALECT, ...)")
        try:
            return InfluxSource(
                name="env",
                url=self.url,
                dialect=self.dialect,
                org=self.org or None,
                bucket=self.bucket or None,
                database=self.database or None,
            )
        except ValidationError as error:
            raise InvalidConfigError(
                f"invalid INFLUX_* settings: {error.errors()[0]['msg']}"
            ) from None


class ForecastSettings(BaseSettings):
    """`wattcast-forecast`'s tuning (the API has its own settings)."""

    model_config = SettingsConfigDict(env_prefix="WATTCAST_", extra="ignore")

    models_dir: Path | None = Field(default=None, description="The model store (read-only).")
    influx_timeout_seconds: float = Field(default=120, gt=0, description="Per InfluxDB request.")
    forecast_write_batch: int = Field(
        default=50, ge=1, le=10_000, description="Meters whose points go in one write request."
    )


@lru_cache(maxsize=1)
def get_influx_env() -> InfluxEnvSettings:
    return InfluxEnvSettings()


@lru_cache(maxsize=1)
def get_forecast_settings() -> ForecastSettings:
    return ForecastSettings()
