"""`GET /v1/forecasts/{meterType}/{meterId}`: a forecast from the meter's current model.

The one forecasting path (wattcast.forecasting.serving) reads the window it needs from the
InfluxDB source of the seed's `INFLUX_*` variables and the model from the model store
(WATTCAST_MODELS_DIR, read-only); Keras runs on its numpy backend, no TensorFlow. A loaded
model is kept per current version, so a forecast after the first costs one InfluxDB read and
a small prediction; a new `current` is picked up at the next request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Annotated

import anyio
import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from wattcast.api.auth import require_token
from wattcast.api.dashboard.settings import DashboardSettings, get_dashboard_settings
from wattcast.api.errors import ApiProblem, error_responses, forecast_problem
from wattcast.crd import MeterType, Resolution
from wattcast.crd.trainingjob import METER_ID_PATTERN
from wattcast.forecasting.datasource import DataSource
from wattcast.forecasting.errors import TrainerError
from wattcast.forecasting.influx.dialects import make_source
from wattcast.forecasting.loading import ModelVersion, current_version_dir, open_version
from wattcast.forecasting.serving import forecast
from wattcast.forecasting.settings import get_influx_env

router = APIRouter(tags=["forecasts"])
# Hours a request may ask for at most (a model's own horizon may be shorter: 422 then too).
MAX_HOURS = 168
# Loaded models kept in memory (a seasonal-residual model is well under 1 MB).
MODEL_CACHE_SIZE = 256
INFLUX_TIMEOUT_SECONDS = 30.0


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ForecastPointPublic(_Camel):
    time: AwareDatetime = Field(description="The forecast's time (start of its interval, UTC).")
    forecast: float = Field(description="Point forecast, in the meter's unit.")
    lower: float = Field(description="Lower bound of the prediction interval.")
    upper: float = Field(description="Upper bound of the prediction interval.")


class ActualPublic(_Camel):
    time: AwareDatetime = Field(description="Start of the interval (UTC).")
    value: float = Field(description="The meter's mean over the interval.")


class ForecastPublic(_Camel):
    """A forecast issued at `origin` by the meter's current model."""

    meter_id: str = Field(description="The meter.")
    meter_type: MeterType = Field(description="electricity or water.")
    model_version: str = Field(description="The model version (the meter's current one).")
    resolution: Resolution = Field(description="Time between points.")
    origin: AwareDatetime = Field(description="Forecasts use data before this time only.")
    interval_level: float | None = Field(
        default=None, description="Nominal coverage of [lower, upper], e.g. 0.9."
    )
    promotion_reason: str | None = Field(
        default=None, description="Why this version is current (the promotion gate)."
    )
    points: list[ForecastPointPublic] = Field(description="One per step after the origin.")
    actuals: list[ActualPublic] | None = Field(
        default=None,
        description="With actualsHours: the readings of those hours before the origin.",
    )


class _ModelCache:
    """Loaded versions by directory; a bounded LRU shared by the worker threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Path, ModelVersion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, directory: Path, meter_type: MeterType, meter_id: str) -> ModelVersion:
        with self._lock:
            found = self._items.get(directory)
            if found is not None:
                self._items.move_to_end(directory)
                return found
        version = open_version(directory, meter_type=meter_type, meter_id=meter_id)
        with self._lock:
            self._items[directory] = version
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return version


_models = _ModelCache(MODEL_CACHE_SIZE)


@lru_cache(maxsize=1)
def get_forecast_source() -> DataSource:
    """The InfluxDB source of forecasts: the seed's INFLUX_* variables (as the trainer)."""
    env = get_influx_env()
    return make_source(env.source(), env.token, timeout=INFLUX_TIMEOUT_SECONDS)


def _forecast(
    models_dir: Path,
    meter_type: MeterType,
    meter_id: str,
    origin: datetime | None,
    hours: float | None,
    actual_hours: int = 0,
) -> ForecastPublic:
    directory = current_version_dir(models_dir, meter_type, meter_id)
    version = _models.get(directory, meter_type, meter_id)
    made = forecast(version, get_forecast_source(), origin=origin, hours=hours)
    body = made.to_json_dict()
    interval = version.metadata.interval
    body["intervalLevel"] = interval.level if interval is not None else None
    body["promotionReason"] = version.metadata.promotion.reason
    if actual_hours and made.recent is not None:
        since = made.origin - pd.Timedelta(hours=actual_hours)
        recent = made.recent.loc[made.recent.index >= since]
        body["actuals"] = [
            {"time": t.to_pydatetime(), "value": float(v)} for t, v in recent.items()
        ]
    return ForecastPublic.model_validate(body)


@router.get(
    "/v1/forecasts/{meterType}/{meterId}",
    response_model=ForecastPublic,
    response_model_by_alias=True,
    summary="A forecast from the meter's current model",
    dependencies=[Depends(require_token)],
    responses=error_responses(401, 403, 404, 422, 503),
)
async def get_forecast(
    meter_type: Annotated[
        MeterType, PathParam(alias="meterType", description="electricity or water.")
    ],
    meter_id: Annotated[
        str,
        PathParam(
            alias="meterId", description="The meter.", max_length=128, pattern=METER_ID_PATTERN
        ),
    ],
    settings: Annotated[DashboardSettings, Depends(get_dashboard_settings)],
    origin: Annotated[
        AwareDatetime | None,
        Query(
            description="RFC 3339, on the model's grid. Default: the end of the last complete "
            "interval in the data."
        ),
    ] = None,
    hours: Annotated[
        float | None,
        Query(
            gt=0, le=MAX_HOURS, description="Hours ahead; default and most: the model's horizon."
        ),
    ] = None,
    actuals_hours: Annotated[
        int,
        Query(
            alias="actualsHours",
            ge=0,
            le=MAX_HOURS,
            description="Also answer the readings of this many hours before the origin.",
        ),
    ] = 0,
) -> ForecastPublic:
    """The next `hours` at the model's resolution with a prediction interval (the empirical
    holdout residual quantiles per horizon step): 404 when the meter has no current model,
    422 for parameters the model cannot answer (beyond its horizon, an origin off its grid or
    without data before it, naming the gap)."""
    if settings.models_dir is None:
        raise ApiProblem(
            404, "This API has no model store: set WATTCAST_MODELS_DIR to the model volume."
        )
    try:
        return await anyio.to_thread.run_sync(
            partial(
                _forecast, settings.models_dir, meter_type, meter_id, origin, hours, actuals_hours
            )
        )
    except TrainerError as error:
        raise forecast_problem(error.reason, error.message) from None
