"""wattcast-forecast: forecasts from the model store's current models, printed or written back.

    wattcast-forecast --models-dir DIR (--meter-type T --meter-id M | --all)
                      [--origin T] [--hours H] [--write-back] [-o json]

The source comes from the seed's INFLUX_* variables, as for the standalone trainer. With
--write-back the points go to InfluxDB measurement `<meterType>_forecast` (writing.py).
Exit codes: 0 every forecast made (and written); 2 a bad request or configuration (unknown
meter, origin without data, hours beyond the horizon, a model of another meter); 1 InfluxDB
unreachable or, with --all, any meter failed (each failure is named on stderr).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wattcast.crd import MeterType
from wattcast.crd.times import rfc3339
from wattcast.forecasting.datasource import DataSource
from wattcast.forecasting.errors import PermanentError, TrainerError
from wattcast.forecasting.influx.dialects import make_source
from wattcast.forecasting.loading import list_current, open_current
from wattcast.forecasting.serving import Forecast, forecast
from wattcast.forecasting.settings import get_forecast_settings, get_influx_env
from wattcast.forecasting.writing import ForecastWriter, make_writer

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0] if __doc__ else None)


class Output(StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass
class RunReport:
    """What one run did, for the console and for the demo and benchmarks."""

    forecasts: list[Forecast] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # "<type>/<id>" -> message
    permanent: bool = False
    points_written: int = 0
    seconds: float = 0.0


def run_forecasts(
    models_dir: Path,
    meters: list[tuple[MeterType, str]],
    source: DataSource,
    *,
    origin: datetime | None = None,
    hours: float | None = None,
    writer: ForecastWriter | None = None,
    batch: int = 50,
    now: datetime | None = None,
) -> RunReport:
    """Forecast each meter with its current model; write back in batches when `writer`."""
    report = RunReport()
    started = time.perf_counter()
    pending: list[Forecast] = []
    for meter_type, meter_id in meters:
        try:
            version = open_current(models_dir, meter_type, meter_id)
            made = forecast(version, source, origin=origin, hours=hours, now=now)
        except TrainerError as error:
            report.failures[f"{meter_type.value}/{meter_id}"] = error.message
            report.permanent = report.permanent or isinstance(error, PermanentError)
            continue
        report.forecasts.append(made)
        pending.append(made)
        if writer is not None and len(pending) >= batch:
            report.points_written += writer.write(pending)
            pending = []
    if writer is not None and pending:
        report.points_written += writer.write(pending)
    report.seconds = time.perf_counter() - started
    return report


def day_ahead_report(
    models_dir: Path, source: DataSource, *, hours: float | None = None, now: datetime | None = None
) -> str:
    """A day-ahead forecast of every meter with a current model in the store, as text (what
    `make demo` prints): from the end of each meter's data, for its model's horizon."""
    report = run_forecasts(models_dir, list_current(models_dir), source, hours=hours, now=now)
    parts = [format_text(item) for item in report.forecasts]
    parts += [f"{meter}: no forecast: {message}" for meter, message in report.failures.items()]
    return "\n\n".join(parts) if parts else f"no current models in {models_dir}"


def format_text(item: Forecast) -> str:
    lines = [
        f"{item.meter_type.value}/{item.meter_id}  model {item.model_version}  origin "
        f"{rfc3339(item.origin.to_pydatetime())}  ({item.resolution.value})",
        f"{'time':<22}{'forecast':>12}{'lower':>12}{'upper':>12}",
    ]
    for point in item.points():
        lines.append(
            f"{point['time']:<22}{point['forecast']:>12.4g}{point['lower']:>12.4g}"
            f"{point['upper']:>12.4g}"
        )
    return "\n".join(lines)


def _parse_origin(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise typer.BadParameter("the origin must carry a time zone, such as Z or +01:00")
    return parsed


@app.command()
def main(
    models_dir: Annotated[
        Path | None, typer.Option("--models-dir", help="The model store (WATTCAST_MODELS_DIR).")
    ] = None,
    meter_type: Annotated[
        MeterType | None, typer.Option("--meter-type", help="electricity or water.")
    ] = None,
    meter_id: Annotated[str | None, typer.Option("--meter-id", help="The meter.")] = None,
    all_meters: Annotated[
        bool, typer.Option("--all", help="Every meter with a current model in the store.")
    ] = False,
    origin: Annotated[
        str | None,
        typer.Option(help="RFC 3339; default: the end of the last complete interval."),
    ] = None,
    hours: Annotated[
        float | None, typer.Option(help="Hours ahead (default and most: the model's horizon).")
    ] = None,
    write_back: Annotated[
        bool, typer.Option("--write-back", help="Write to InfluxDB <meterType>_forecast.")
    ] = False,
    output: Annotated[Output, typer.Option("-o", "--output", help="text or json.")] = Output.TEXT,
) -> None:
    """Forecast from the current models; see the module doc."""
    settings = get_forecast_settings()
    store = models_dir or settings.models_dir
    if store is None:
        raise typer.BadParameter("give --models-dir or set WATTCAST_MODELS_DIR")
    if all_meters == (meter_id is not None):
        raise typer.BadParameter("give either --meter-type and --meter-id, or --all")
    if meter_id is not None and meter_type is None:
        raise typer.BadParameter("--meter-id needs --meter-type")
    when = _parse_origin(origin)
    env = get_influx_env()
    try:
        influx = env.source()
        source = make_source(influx, env.token, timeout=settings.influx_timeout_seconds)
        writer = (
            make_writer(influx, env.token, timeout=settings.influx_timeout_seconds)
            if write_back
            else None
        )
    except TrainerError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2) from None
    if all_meters:
        meters = list_current(store)
    else:
        assert meter_type is not None and meter_id is not None
        meters = [(meter_type, meter_id)]
    try:
        report = run_forecasts(
            store,
            meters,
            source,
            origin=when,
            hours=hours,
            writer=writer,
            batch=settings.forecast_write_batch,
        )
    except TrainerError as error:  # the write itself failed
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(2 if isinstance(error, PermanentError) else 1) from None
    finally:
        if writer is not None:
            writer.close()
    if output == Output.JSON:
        documents = [item.to_json_dict() for item in report.forecasts]
        body = documents if all_meters else (documents[0] if documents else None)
        if body is not None:
            sys.stdout.write(json.dumps(body, indent=1) + "\n")
    else:
        for item in report.forecasts:
            typer.echo(format_text(item))
        if write_back:
            typer.echo(f"wrote {report.points_written} points in {report.seconds:.2f} s")
    for meter, message in report.failures.items():
        typer.echo(f"error: {meter}: {message}", err=True)
    if report.failures:
        raise typer.Exit(2 if report.permanent and not all_meters else 1)
