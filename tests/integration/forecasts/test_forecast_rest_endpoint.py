"""`GET /v1/forecasts/{meterType}/{meterId}` served over real HTTP, against the real InfluxDB
1.6 and a real trainer's model store: the shape, the token, 404 and 422 with their reasons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from forecast_support import METER_ID, START, TrainedMeter

from wattcast.api.core.config import Settings, get_settings
from wattcast.api.dashboard.settings import DashboardSettings, get_dashboard_settings
from wattcast.api.main import create_app
from wattcast.api.routes.forecasts import get_forecast_source
from wattcast.devtools.serving import ServedApp
from wattcast.forecasting.settings import get_influx_env

# Training the shared model (the module fixture) counts against the first test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
TOKEN = "forecast-token-5d1e"


@pytest.fixture
def api(
    trained: TrainedMeter, kubeconfig: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    monkeypatch.setenv("INFLUX_URL", trained.url)
    monkeypatch.setenv("INFLUX_DIALECT", "influxql")
    monkeypatch.setenv("INFLUX_DATABASE", trained.database)
    get_influx_env.cache_clear()
    get_forecast_source.cache_clear()
    app = create_app()
    settings = Settings(api_tokens=TOKEN, api_kubeconfig=kubeconfig, api_namespace=namespace)
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_dashboard_settings] = lambda: DashboardSettings(
        models_dir=trained.models
    )
    served = ServedApp(app).start()
    try:
        with httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as client:
            yield client
    finally:
        served.stop()
        get_influx_env.cache_clear()
        get_forecast_source.cache_clear()


def _origin(meter: TrainedMeter) -> str:
    first = pd.Timestamp(meter.metadata.holdout_series.timestamps[0])
    return (first + pd.Timedelta(days=2)).isoformat().replace("+00:00", "Z")


def test_a_forecast_has_the_documented_shape(api: httpx.Client, trained: TrainedMeter) -> None:
    origin = _origin(trained)
    response = api.get(
        f"/v1/forecasts/electricity/{METER_ID}", params={"origin": origin, "hours": 6}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"meterId", "meterType", "modelVersion", "resolution", "origin", "points"}
    assert body["modelVersion"] == trained.metadata.version
    assert pd.Timestamp(body["origin"]) == pd.Timestamp(origin)
    assert [set(p) for p in body["points"]] == [{"time", "forecast", "lower", "upper"}] * 6
    assert body["promotionReason"].startswith("promoted")
    holdout = trained.metadata.holdout_series
    expected = dict(zip(pd.DatetimeIndex(holdout.timestamps), holdout.forecast, strict=True))
    for point in body["points"]:
        assert point["forecast"] == pytest.approx(expected[pd.Timestamp(point["time"])], abs=1e-6)


def test_the_default_origin_follows_the_data(api: httpx.Client, trained: TrainedMeter) -> None:
    response = api.get(f"/v1/forecasts/electricity/{METER_ID}", params={"actualsHours": 48})
    assert response.status_code == 200, response.text
    body = response.json()
    last = trained.observed["consumption"].dropna().index.max()
    assert pd.Timestamp(body["origin"]) == last + pd.Timedelta(hours=1)
    assert len(body["points"]) == 24
    # The recent actuals the dashboard plots beside the forecast: the readings themselves.
    recent = trained.observed["consumption"].dropna()
    recent = recent[recent.index >= pd.Timestamp(body["origin"]) - pd.Timedelta(hours=48)]
    assert [pd.Timestamp(a["time"]) for a in body["actuals"]] == list(recent.index)
    assert [a["value"] for a in body["actuals"]] == pytest.approx(recent.tolist(), abs=1e-9)


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/v1/forecasts/electricity/nobody", {}, 404, "has no current model"),
        ("/v1/forecasts/gas/house-3", {}, 422, "meterType"),
        ("/v1/forecasts/electricity/bad%20id", {}, 422, "meterId"),
        (f"/v1/forecasts/electricity/{METER_ID}", {"hours": 48}, 422, "at most its horizon"),
        (f"/v1/forecasts/electricity/{METER_ID}", {"hours": 500}, 422, "hours"),
        (f"/v1/forecasts/electricity/{METER_ID}", {"origin": "2024-01-05"}, 422, "origin"),
        (
            f"/v1/forecasts/electricity/{METER_ID}",
            {"origin": START.isoformat()},
            422,
            "no data in the",
        ),
    ],
    ids=[
        "unknown-meter",
        "bad-type",
        "bad-id",
        "beyond-horizon",
        "beyond-limit",
        "naive-origin",
        "no-data-before",
    ],
)
def test_bad_requests_get_their_status_and_reason(
    api: httpx.Client, path: str, params: dict[str, object], status: int, message: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status, response.text
    assert message in response.text


def test_a_forecast_needs_the_token(api: httpx.Client) -> None:
    response = httpx.get(
        str(api.base_url).rstrip("/") + f"/v1/forecasts/electricity/{METER_ID}", timeout=30
    )
    assert response.status_code == 401
