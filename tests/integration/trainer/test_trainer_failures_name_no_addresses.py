"""The trainer's failures are reported in words for people: the InfluxDB source by its name,
never its URL, host, port or credentials, and never a raw exception or server body, in both
the status it patches and its termination message. Sources here are real HTTP servers on
127.0.0.1 (answering as a failing InfluxDB would) and a closed port; their URLs carry the
kinds of internals that must not leak."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from testkit import free_port
from trainer_support import recording_server, run_trainer, write_spec

from wattcast.crd import InfluxSource
from wattcast.trainer.job_loading import validate_trainingjob
from wattcast.trainer.pipeline import run_job
from wattcast.trainer.progress import ProgressReporter, ProgressState
from wattcast.trainer.settings import TrainerSettings

START = datetime(2024, 3, 4, tzinfo=UTC)
SECRET = "s3cret-pa55"
INTERNAL = f"http://10.0.0.5:8086/debug/pprof?token={SECRET}"
# What must never appear in a message (the server's port is added per test).
LEAKS = ["127.0.0.1", "10.0.0.5", "8086", SECRET, "Traceback", "HTTPConnectionPool", "Errno"]


def _spec(url: str, dialect: str) -> dict[str, Any]:
    where = {"bucket": "energy_data", "org": "energy-org"} if dialect == "flux" else {}
    if dialect == "influxql":
        where = {"database": "energy"}
    return {
        "meterId": "meter1",
        "meterType": "electricity",
        "start": START.isoformat(),
        "end": (START + timedelta(days=30)).isoformat(),
        "source": {"name": "lab", "url": url, "dialect": dialect, **where},
    }


def _with_credentials(url: str) -> str:
    return url.replace("http://", f"http://admin:{SECRET}@")


class Recorder:
    def __init__(self) -> None:
        self.states: list[ProgressState] = []

    def update(self, state: ProgressState) -> None:
        self.states.append(state)

    def close(self) -> None:
        return None


def _run(url: str, dialect: str, tmp_path: Path) -> tuple[str, str, int]:
    """(the last status message, the termination message, exit code) of one run."""
    job = validate_trainingjob(
        {"metadata": {"name": "tj-leak"}, "spec": _spec(url, dialect)},
        "test",
        allow_full_source=True,
    )
    recorder = Recorder()
    assert isinstance(job.spec.source, InfluxSource)
    outcome = run_job(
        job,
        settings=TrainerSettings(),
        source=job.spec.source,
        token=None,
        models_dir=tmp_path / "models",
        reporter=ProgressReporter([recorder]),
    )
    status = recorder.states[-1].status_patch()["status"]["message"]
    return status, outcome.message.message, outcome.exit_code


def _assert_clean(*texts: str, port: int) -> None:
    for text in texts:
        for leak in [*LEAKS, str(port)]:
            assert leak not in text, (leak, text)


DIALECTS = ["flux", "influxql"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_unreachable_source_is_named_not_addressed(dialect: str, tmp_path: Path) -> None:
    port = free_port()
    status, termination, code = _run(
        _with_credentials(f"http://127.0.0.1:{port}"), dialect, tmp_path
    )
    assert code == 1
    assert termination == "InfluxDB source 'lab' is unreachable"
    assert status == f"InfluxUnavailable: {termination}"
    _assert_clean(status, termination, port=port)


def _answering(status: int, body: bytes, content_type: str = "application/json") -> Any:
    def respond(method: str, path: str, _: bytes) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": content_type}, body

    return respond


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_server_error_gives_its_status_not_its_body(dialect: str, tmp_path: Path) -> None:
    body = f"panic: runtime error at {INTERNAL} (host=influx-0.internal port=8086)".encode()
    with recording_server(_answering(500, body, "text/plain")) as server:
        status, termination, code = _run(_with_credentials(server.url), dialect, tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    assert code == 1
    assert termination == "InfluxDB source 'lab' failed with HTTP 500"
    _assert_clean(status, termination, "influx-0.internal", port=port)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_refused_token_is_named_without_the_url(dialect: str, tmp_path: Path) -> None:
    body = json.dumps({"code": "unauthorized", "message": f"bad token for {INTERNAL}"}).encode()
    with recording_server(_answering(401, body)) as server:
        status, termination, code = _run(_with_credentials(server.url), dialect, tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    assert code == 2
    assert termination.startswith("InfluxDB source 'lab' refused the")
    assert "(HTTP 401)" in termination
    _assert_clean(status, termination, port=port)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_refused_query_keeps_influxdbs_reason_without_addresses(
    dialect: str, tmp_path: Path
) -> None:
    message = f'bucket "energy_data" not found; see {INTERNAL} or 10.0.0.5:8086'
    body = json.dumps({"code": "not found", "message": message}).encode()
    with recording_server(_answering(404, body)) as server:
        status, termination, code = _run(server.url, dialect, tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    assert code == 2
    assert termination.startswith("InfluxDB source 'lab' refused the query with HTTP 404: ")
    assert 'bucket "energy_data" not found' in termination
    _assert_clean(status, termination, port=port)


def test_an_in_band_flux_error_keeps_its_reason_without_addresses(tmp_path: Path) -> None:
    table = (
        "#datatype,string,string\r\n#group,true,true\r\n#default,,\r\n,error,reference\r\n"
        f",failed to read from {INTERNAL},897\r\n\r\n"
    ).encode()
    with recording_server(_answering(200, table, "text/csv")) as server:
        status, termination, code = _run(server.url, "flux", tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    assert code == 2
    assert termination.startswith("InfluxDB source 'lab' refused the Flux query: failed to read")
    _assert_clean(status, termination, port=port)


def test_an_in_band_influxql_error_keeps_its_reason_without_addresses(tmp_path: Path) -> None:
    body = f"error\ndatabase not found at {INTERNAL}\n".encode()
    with recording_server(_answering(200, body, "application/csv")) as server:
        status, termination, code = _run(server.url, "influxql", tmp_path)
    port = int(server.url.rsplit(":", 1)[1])
    assert code == 2
    assert termination.startswith("InfluxDB source 'lab' refused the query: database not found")
    _assert_clean(status, termination, port=port)


def test_the_standalone_command_prints_and_writes_the_same_clean_words(tmp_path: Path) -> None:
    port = free_port()
    spec = write_spec(
        tmp_path / "tj.yaml", _spec(_with_credentials(f"http://127.0.0.1:{port}"), "influxql")
    )
    run = run_trainer(
        ["--spec", str(spec), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )
    assert run.exit_code == 1
    assert run.termination is not None
    assert run.termination["message"] == "InfluxDB source 'lab' is unreachable"
    _assert_clean(json.dumps(run.termination), port=port)
