"""Standalone configuration: spec files, the INFLUX_* source, overrides, tokens, bad input."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from trainer_support import TrainerRun, recording_server, run_trainer, write_spec

SPEC = {
    "meterId": "m-9",
    "meterType": "electricity",
    "start": "2024-01-01T00:00:00Z",
    "end": "2024-03-01T00:00:00Z",
}


def _run(tmp_path: Path, spec_path: Path) -> TrainerRun:
    return run_trainer(
        ["--spec", str(spec_path), "--models-dir", str(tmp_path / "models")], tmp_path / "term"
    )


def test_a_bare_spec_reads_the_influx_environment_with_overrides_and_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recording_server(lambda method, path, body: (200, {}, b"")) as server:
        monkeypatch.setenv("INFLUX_URL", server.url)
        monkeypatch.setenv("INFLUX_DIALECT", "influxql")
        monkeypatch.setenv("INFLUX_DATABASE", "energy")
        monkeypatch.setenv("INFLUX_TOKEN", "reader:s3cret")
        path = tmp_path / "spec.yaml"
        import yaml

        path.write_text(yaml.safe_dump({**SPEC, "source": {"database": "energy_archive"}}))
        run = _run(tmp_path, path)
    assert run.exit_code == 2
    assert run.termination is not None
    assert run.termination["reason"] == "NoData"
    (request,) = server.requests
    form = parse_qs(request["body"].decode())
    assert form["db"] == ["energy_archive"]
    expected = base64.b64encode(b"reader:s3cret").decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    assert "m-9" not in form["q"][0]


def test_a_plain_token_is_sent_as_a_token_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with recording_server(lambda method, path, body: (200, {}, b"")) as server:
        monkeypatch.setenv("INFLUX_TOKEN", "abc123")
        spec = {**SPEC, "source": {"url": server.url, "dialect": "influxql", "database": "e"}}
        _run(tmp_path, write_spec(tmp_path / "tj.yaml", spec))
    assert server.requests[0]["headers"]["Authorization"] == "Token abc123"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("spec: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "not a TrainingJob"),
        ("spec:\n  meterId: m1\n  meterType: gas\n", "meterType"),
        (
            "spec:\n  meterId: m1\n  meterType: water\n  start: x\n  end: y\n  surprise: 1\n",
            "surprise",
        ),
    ],
    ids=["yaml", "list", "meter-type", "unknown-field"],
)
def test_a_bad_spec_file_exits_2_with_the_problem(
    content: str, fragment: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    run = _run(tmp_path, path)
    assert run.exit_code == 2
    assert run.termination is not None
    assert run.termination["reason"] == "InvalidConfig"
    assert fragment in run.termination["message"]


def test_no_source_anywhere_exits_2(tmp_path: Path) -> None:
    run = _run(tmp_path, write_spec(tmp_path / "tj.yaml", SPEC))
    assert run.exit_code == 2
    assert run.termination is not None
    assert "INFLUX_URL" in run.termination["message"]


def test_a_missing_spec_file_exits_2(tmp_path: Path) -> None:
    run = _run(tmp_path, tmp_path / "absent.yaml")
    assert run.exit_code == 2


def test_pod_mode_without_a_trainingjob_name_exits_2(tmp_path: Path) -> None:
    run = run_trainer(["--models-dir", str(tmp_path / "m")], tmp_path / "term")
    assert run.exit_code == 2
    assert run.termination is not None
    assert "WATTCAST_TRAININGJOB_NAME" in run.termination["message"]
