"""The FleetTrainingJob contract: its models refuse what its CRD refuses, its CRD is generated
and structural, and its status stays small at 1,000,000 meters."""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError
from refused_fleet_specs import (
    ACCEPTED_FLEET_SPECS,
    REFUSED_FLEET_SPECS,
    VALID_FLEET_SPEC,
    RefusedFleetSpec,
)
from test_crd_schema_is_structural_and_bounded import walk

from wattcast.crd import constants, generate
from wattcast.crd.fleettrainingjob import (
    MAX_FAILURE_MESSAGE,
    MAX_INDEX_RANGES_LENGTH,
    MAX_METERS_PER_POD,
    MAX_SHARD_REPORT_FAILURES,
    MAX_STATUS_FAILURES,
    RATIO_BUCKET_EDGES,
    RATIO_BUCKETS,
    STATUS_SIZE_BUDGET,
    FleetShards,
    FleetTrainingJobSpec,
    FleetTrainingJobStatus,
    MeterFailure,
    ShardReport,
    decode_index_set,
    encode_index_set,
    progress_lease_name,
    ratio_bucket,
    ratio_quantile,
    shard_of,
    shard_progress,
    shard_progress_key,
)
from wattcast.crd.status import Condition

CRD = generate.fleet_crd()
VERSION = CRD["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]
NODES = [(p, n) for p, n in walk(SCHEMA) if p not in ("<root>", ".metadata")]


@pytest.mark.parametrize("case", REFUSED_FLEET_SPECS, ids=[c.id for c in REFUSED_FLEET_SPECS])
def test_the_contract_refuses_every_spec_the_crd_refuses(case: RefusedFleetSpec) -> None:
    with pytest.raises(ValidationError) as refused:
        FleetTrainingJobSpec.model_validate(case.spec())
    fields = {".".join(str(part) for part in error["loc"]) for error in refused.value.errors()}
    assert any(f == case.field or f.startswith(case.field + ".") for f in fields), fields


@pytest.mark.parametrize("changes", ACCEPTED_FLEET_SPECS.values(), ids=list(ACCEPTED_FLEET_SPECS))
def test_both_accept_the_specs_next_to_the_refused_ones(changes: dict[str, Any]) -> None:
    FleetTrainingJobSpec.model_validate({**VALID_FLEET_SPEC, **changes})


def test_defaults_and_shards() -> None:
    spec = FleetTrainingJobSpec.model_validate({**VALID_FLEET_SPEC, "metersPerPod": 3})
    assert spec.effective_parallelism == 4
    assert spec.effective_backoff_limit_per_index == 3
    assert spec.shard_count(7) == 3
    assert spec.shard_count(0) == 1
    meters = [f"m{i}" for i in range(7)]
    shards = [shard_of(meters, i, 3) for i in range(3)]
    assert shards == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]


def test_checked_in_fleet_crd_files_match_the_models() -> None:
    for relative in (generate.FLEET_CRD_FILE, generate.FLEET_CHART_CRD_FILE):
        path = generate.REPO_ROOT / relative
        assert path.read_text() == generate.outputs()[path], f"{path}: run `make crds`"
    on_disk = yaml.safe_load((generate.REPO_ROOT / generate.FLEET_CRD_FILE).read_text())
    assert on_disk == CRD


def test_check_mode_covers_the_fleet_crd(tmp_path) -> None:
    assert generate.main(["--root", str(tmp_path)]) == 0
    fleet_file = tmp_path / generate.FLEET_CHART_CRD_FILE
    fleet_file.write_text(fleet_file.read_text().replace("maxLength: 128", "maxLength: 129"))
    assert generate.main(["--root", str(tmp_path), "--check"]) == 1


@pytest.mark.parametrize("kube_version", ["1.33.0", "1.35.0"])
def test_fleet_crd_validates_against_the_kubernetes_schema(kube_version: str) -> None:
    kubernetes_validate.validate(CRD, kube_version, strict=True)


@pytest.mark.parametrize(("path", "node"), NODES, ids=[p for p, _ in NODES])
def test_every_node_is_structural_described_and_bounded(path: str, node: dict[str, Any]) -> None:
    forbidden = {"$ref", "$defs", "title", "anyOf", "oneOf", "allOf", "patternProperties"}
    assert not forbidden & node.keys(), f"{path}: {forbidden & node.keys()}"
    assert node.get("description"), f"{path} has no description"
    if node["type"] == "string":
        assert "maxLength" in node or "enum" in node, f"{path}: string without maxLength"
    if node["type"] == "array":
        assert "maxItems" in node, f"{path}: list without maxItems"


def test_names_columns_and_immutability() -> None:
    names = CRD["spec"]["names"]
    assert (names["kind"], names["plural"]) == ("FleetTrainingJob", "fleettrainingjobs")
    assert names["shortNames"] == ["ftj"] and names["categories"] == ["wattcast"]
    assert CRD["metadata"]["name"] == constants.FLEET_CRD_NAME
    columns = [c["name"] for c in VERSION["additionalPrinterColumns"] if not c.get("priority")]
    assert columns == ["Type", "Meters", "Done", "Failed", "Progress", "Age"]
    rule = generate._immutability_rule(FleetTrainingJobSpec)["rule"]
    for name in SCHEMA["properties"]["spec"]["properties"]:
        assert (f"self.{name} ==" in rule) == (name != "suspend"), name


def _worst_case_status() -> FleetTrainingJobStatus:
    """Every bounded field at its bound, for a fleet of 1,000,000 meters in 10,000 shards."""
    million = 1_000_000
    long_message = "x" * MAX_FAILURE_MESSAGE
    failures = [
        MeterFailure(meter="m" * 120 + f"{i:08d}", reason="R" * 128, message=long_message)
        for i in range(MAX_STATUS_FAILURES)
    ]
    ranges = ("1234-5678," * 1000)[: MAX_INDEX_RANGES_LENGTH - 3] + "..."
    conditions = [
        Condition(
            type=f"Condition{i}",
            status="True",
            reason="R" * 128,
            message="m" * 4096,
            last_transition_time="2026-01-01T00:00:00Z",
        )
        for i in range(16)
    ]
    return FleetTrainingJobStatus.model_validate(
        {
            "phase": "Running",
            "message": "m" * 4096,
            "jobName": "j" * 63,
            "meterList": "c" * 253,
            "progress": {"finished": million - 1, "total": million, "percent": 99},
            "counts": {
                "total": million,
                "succeeded": million - 1,
                "failed": 1,
                "promoted": million - 1,
                "beatBaseline": million - 1,
            },
            "failures": [f.to_json_dict() for f in failures],
            "metrics": {
                "maeOverBestBaseline": {"median": 0.81234, "p90": 1.1234, "meters": million},
                "histogram": [
                    {"le": edge, "count": million // RATIO_BUCKETS} for edge in RATIO_BUCKET_EDGES
                ]
                + [{"count": 12345}],
            },
            "shards": {
                "total": 10_000,
                "succeeded": 9_000,
                "failed": 900,
                "active": 100,
                "completedIndexes": ranges,
                "failedIndexes": ranges,
            },
            "startTime": "2026-01-01T00:00:00Z",
            "observedGeneration": 1,
            "conditions": [c.to_json_dict() for c in conditions],
        }
    )


def test_status_stays_well_inside_the_object_size_limit_at_a_million_meters() -> None:
    status = _worst_case_status()
    size = len(json.dumps(status.to_json_dict()).encode())
    assert size < STATUS_SIZE_BUDGET, size
    # and a bound is a bound: one failure more is refused
    too_many = status.to_json_dict()
    too_many["failures"].append(too_many["failures"][0])
    with pytest.raises(ValidationError):
        FleetTrainingJobStatus.model_validate(too_many)


def test_a_shard_report_always_fits_the_termination_log() -> None:
    report = ShardReport(
        index=7,
        phase="Succeeded",
        reason="ShardFinished",
        message="y" * 512,
        meters=10_000,
        succeeded=9_990,
        failed=10,
        histogram=[10_000] * RATIO_BUCKETS,
        failures=[
            MeterFailure(meter="m" * 128, reason="NoData", message="z" * 512)
            for _ in range(MAX_SHARD_REPORT_FAILURES)
        ],
    )
    data = report.to_bytes()
    assert len(data) <= constants.TERMINATION_MESSAGE_MAX_BYTES
    again = ShardReport.model_validate_json(data)
    assert (again.succeeded, again.failed, again.histogram) == (9_990, 10, report.histogram)
    assert again.failures, "failures are cut before they are dropped"


def test_ratio_histogram_quantiles() -> None:
    histogram = [0] * RATIO_BUCKETS
    for ratio in [0.5] * 50 + [0.9] * 40 + [3.0] * 10:
        histogram[ratio_bucket(ratio)] += 1
    assert ratio_bucket(0.05) == 0 and ratio_bucket(2.5) == RATIO_BUCKETS - 1
    median = ratio_quantile(histogram, 0.5)
    assert median is not None and 0.45 <= median <= 0.5
    p90 = ratio_quantile(histogram, 0.9)
    assert p90 is not None and 0.85 <= p90 <= 0.9
    assert ratio_quantile([0] * RATIO_BUCKETS, 0.5) is None


def test_shard_progress_reads_only_well_formed_entries() -> None:
    annotations = {
        shard_progress_key(0): "12",
        shard_progress_key(7): "99999999",  # capped at a shard's largest size
        "wattcast.dev/shard-²": "1",  # a digit, but not 0-9
        "wattcast.dev/shard-3": "-1",
        "wattcast.dev/shard-4": "many",
        "wattcast.dev/other": "5",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    assert shard_progress(annotations) == {0: 12, 7: MAX_METERS_PER_POD}
    assert shard_progress(None) == {}
    assert progress_lease_name("fleet") == "fleet-progress"


@pytest.mark.parametrize(
    "indexes",
    [set(), {0}, {7, 8, 9}, set(range(0, 100_000, 2)), set(range(100_000))],
    ids=["none", "first", "a few", "every other", "all"],
)
def test_the_counted_shards_round_trip_within_their_bound(indexes: set[int]) -> None:
    text = encode_index_set(indexes)
    assert decode_index_set(text) == indexes
    FleetShards(total=100_000, counted=text)  # within the schema's length and pattern


@pytest.mark.parametrize("text", ["%%%", "aGVsbG8=", "eJzLSM3J"], ids=["base64", "zlib", "cut"])
def test_a_counted_shards_value_it_did_not_write_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        decode_index_set(text)


def test_an_inflating_bitmap_is_refused() -> None:
    import base64
    import zlib

    bomb = base64.b64encode(zlib.compress(b"\xff" * 1_000_000)).decode()
    with pytest.raises(ValueError, match="larger than MAX_SHARDS"):
        decode_index_set(bomb)
