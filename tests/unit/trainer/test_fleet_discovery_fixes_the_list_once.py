"""Meter discovery keeps valid ids the pattern matches, and fixes the list once: a second
discovery reads the stored list, whatever the source says now (wattcast.trainer.fleet_discovery)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wattcast.crd import InfluxSource
from wattcast.crd.fleettrainingjob import fleet_meters_path
from wattcast.forecasting.errors import NoDataError
from wattcast.trainer import fleet_discovery
from wattcast.trainer.fleet import Fleet, meter_list

UID = "0a1b2c3d-0000-4000-8000-000000000002"
SOURCE = InfluxSource(url="http://influx:8086", dialect="influxql", database="energy")


def fleet(pattern: str | None = "^site-") -> Fleet:
    discover = {"pattern": pattern} if pattern else {}
    return Fleet.from_document(
        {
            "name": "f",
            "namespace": "ns",
            "uid": UID,
            "spec": {
                "meters": {"discover": discover},
                "meterType": "electricity",
                "start": "2023-01-01T00:00:00Z",
                "end": "2023-03-01T00:00:00Z",
            },
        },
        "test",
    )


def test_select_keeps_valid_matching_ids_sorted_once() -> None:
    values = ["site-2", "site-1", "site-1", "other", "site-x' OR 1=1", "../site-3"]
    assert fleet_discovery.select(values, "^site-") == ["site-1", "site-2"]
    assert fleet_discovery.select(values, None) == ["other", "site-1", "site-2"]


def test_discovery_fixes_the_list_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [["site-1", "site-2"], ["site-1", "site-2", "site-3"]]
    monkeypatch.setattr(fleet_discovery, "_influxql_values", lambda *a: answers.pop(0))
    first = fleet_discovery.discover(fleet(), SOURCE, None, tmp_path, 5)
    again = fleet_discovery.discover(fleet(), SOURCE, None, tmp_path, 5)
    assert first == again == ["site-1", "site-2"]
    stored = json.loads((tmp_path / fleet_meters_path(UID)).read_text())
    assert stored == first == meter_list(fleet(), tmp_path)


def test_nothing_matching_is_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fleet_discovery, "_influxql_values", lambda *a: ["other"])
    with pytest.raises(NoDataError):
        fleet_discovery.discover(fleet(), SOURCE, None, tmp_path, 5)
    assert not (tmp_path / fleet_meters_path(UID)).exists()
