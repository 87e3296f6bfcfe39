"""The FleetTrainingJob contract: one resource that trains the models of many meters
(docs/design.md §2b).

A FleetTrainingJob asks for what a TrainingJob asks for (`meterType`, `start`, `end`, `model`,
`source`, `resources`, `activeDeadlineSeconds`, `suspend`, with the same meanings and the same
models from `spec.py`), but for a set of meters: `meters.ids` lists them, or `meters.discover`
takes every `meter_id` of the measurement in the source, optionally filtered by a regular
expression. The operator runs it as ONE Indexed Job (docs/operator.md): index `i` of
`ceil(meters / metersPerPod)` trains meters `[i * metersPerPod, (i + 1) * metersPerPod)` of
the fixed meter list in one trainer process (`wattcast-fleet-shard`).

How the status stays small at 1,000,000 meters (the API server's request limit is 3 MiB and
etcd's default object limit 1.5 MiB): nothing in it grows with the number of meters.

- `counts`, `progress` and `metrics` are a fixed number of integers and floats; the median and
  p90 come from a fixed histogram of MAE / best-baseline MAE (`RATIO_BUCKET_EDGES`).
- `failures` keeps at most `MAX_STATUS_FAILURES` meters (the first ones reported);
  `counts.failed` counts them all, and each meter's outcome is in the model store
  (`fleet_outcome_path`).
- `shards` are counts plus the Job's own compressed index ranges ("0-41,43"), each bounded
  by `MAX_INDEX_RANGES_LENGTH`.
- conditions: at most 16.

`tests/unit/crd/test_fleet_contract.py` fills every bounded field to its bound at 1,000,000
meters and checks the object stays under `STATUS_SIZE_BUDGET`.

The spec is bounded too: `meters.ids` holds at most `MAX_METER_IDS` ids (about 130 KB at the
longest ids), so Kopf's diff-base annotation and `kubectl apply`'s last-applied annotation stay
under Kubernetes' 256 KiB annotation limit; larger fleets use `meters.discover`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import warnings
import zlib
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Final, Literal

from pydantic import (
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wattcast.crd import constants
from wattcast.crd.choices import MeterType
from wattcast.crd.fieldtypes import (
    CAMEL_CASE_PATTERN,
    MAX_RANGE,
    METER_ID_PATTERN,
    WHOLE,
    ContractModel,
    Timestamp,
)
from wattcast.crd.spec import RANGE_RULES, ModelSpec, ResourceRequirements, SourceRef
from wattcast.crd.status import Condition
from wattcast.crd.trainingjob import ObjectMeta

# --- bounds -------------------------------------------------------------------------------

MAX_METER_IDS: Final = 1000
MAX_PATTERN_LENGTH: Final = 256
MAX_PARALLELISM: Final = 1000
MAX_METERS_PER_POD: Final = 10_000
# Kubernetes refuses an Indexed Job with backoffLimitPerIndex and more completions than this.
MAX_SHARDS: Final = 100_000
MAX_STATUS_FAILURES: Final = 100
MAX_SHARD_REPORT_FAILURES: Final = 10
MAX_INDEX_RANGES_LENGTH: Final = 8192
MAX_FAILURE_MESSAGE: Final = 512
# A bitmap of MAX_SHARDS bits, deflated (never larger by more than a few bytes), in base64.
MAX_COUNTED_LENGTH: Final = 4 * math.ceil((MAX_SHARDS // 8 + 64) / 3)
# The most a meter count can be (a discovered measurement with more tag values is refused).
MAX_FLEET_METERS: Final = 10_000_000
# What the status may take at its bounds (tested): a tenth of etcd's 1.5 MiB.
STATUS_SIZE_BUDGET: Final = 256 * 1024

DEFAULT_PARALLELISM: Final = 4
DEFAULT_METERS_PER_POD: Final = 100
DEFAULT_BACKOFF_LIMIT_PER_INDEX: Final = 3

# MAE / best-baseline MAE histogram: buckets of 0.05 up to 2.0, then one open bucket.
# Median and p90 are read off it (accurate to one bucket's width).
RATIO_BUCKET_WIDTH: Final = 0.05
RATIO_BUCKET_EDGES: Final = tuple(round(RATIO_BUCKET_WIDTH * i, 2) for i in range(1, 41))
RATIO_BUCKETS: Final = len(RATIO_BUCKET_EDGES) + 1

# --- the meter pattern: a subset both RE2 (the API server's CEL) and Python's re accept -----

# Constructs one of the two engines lacks or reads differently: \p \P \z \C \Q \E (RE2 only),
# back-references \1..\9 and (?P=name), look-around, atomic groups, conditionals and comments
# (Python only), (?<name> and the U flag (one of the two), POSIX classes [: (RE2 only),
# possessive quantifiers (Python only). Written once; CEL and Python apply the same text.
UNSUPPORTED_PATTERN_SYNTAX: Final = (
    r"\\[pPzCQE1-9]|\[:|\(\?<|\(\?P=|\(\?[=!>(#]|\(\?[a-zA-Z-]*U|[*+?}]\+"
)
_UNSUPPORTED = re.compile(UNSUPPORTED_PATTERN_SYNTAX)


def check_meter_pattern(pattern: str) -> str:
    """`pattern` if it is in the supported subset of regular expressions, else ValueError.

    The subset: what compiles in Python's `re` and in RE2 (the API server checks the latter
    with CEL's `matches`) without any construct of UNSUPPORTED_PATTERN_SYNTAX. A meter is
    selected when the pattern matches anywhere in its id (anchor with ^...$ for whole ids).
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"must be at most {MAX_PATTERN_LENGTH} characters")
    found = _UNSUPPORTED.search(pattern)
    if found is not None:
        raise ValueError(
            f"uses {found.group(0)!r}, outside the supported regular expressions "
            "(RE2 syntax without back-references, look-around, \\p classes or POSIX classes)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            re.compile(pattern)
        except (re.error, FutureWarning, DeprecationWarning) as error:
            raise ValueError(f"is not a valid regular expression: {error}") from None
    return pattern


def _cel_string(text: str) -> str:
    """`text` as a single-quoted CEL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_PATTERN_RULES: list[JsonValue] = [
    {
        # A runtime error of matches() (an invalid RE2 expression) refuses the object.
        "rule": "''.matches(self) || !''.matches(self)",
        "message": "pattern must be a valid regular expression (RE2 syntax)",
        "reason": "FieldValueInvalid",
    },
    {
        "rule": f"!self.matches({_cel_string(UNSUPPORTED_PATTERN_SYNTAX)})",
        "message": (
            "pattern uses a construct outside the supported regular expressions "
            "(no back-references, look-around, \\p or POSIX classes, possessive quantifiers)"
        ),
        "reason": "FieldValueInvalid",
    },
]


# --- spec -----------------------------------------------------------------------------------


class MeterDiscovery(ContractModel):
    """Every `meter_id` of the measurement `<meterType>_consumption` in the source, read
    once when the FleetTrainingJob starts and fixed for its life."""

    pattern: str | None = Field(
        default=None,
        description=(
            "Keep only the meter ids this regular expression matches (anywhere in the id; "
            "anchor with ^...$). RE2 syntax without back-references, look-around, \\p or "
            "POSIX classes. All meters when unset."
        ),
        min_length=1,
        max_length=MAX_PATTERN_LENGTH,
        json_schema_extra={"x-kubernetes-validations": _PATTERN_RULES},
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_is_supported(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            return check_meter_pattern(pattern)
        except ValueError as error:
            raise PydanticCustomError(
                "meter_pattern", "pattern {why}", {"why": str(error)}
            ) from None


MeterId = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=METER_ID_PATTERN, description="A meter id."),
]

_METERS_RULES: list[JsonValue] = [
    {
        "rule": "has(self.ids) != has(self.discover)",
        "message": "exactly one of meters.ids and meters.discover must be set",
        "reason": "FieldValueInvalid",
    }
]


class FleetMeters(ContractModel):
    """Which meters to train: exactly one of `ids` and `discover`."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _METERS_RULES})

    ids: list[MeterId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_METER_IDS,
        description=(
            f"The meter ids, each once (at most {MAX_METER_IDS}; larger fleets use discover)."
        ),
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    discover: MeterDiscovery | None = Field(
        default=None, description="Train every meter of the measurement in the source."
    )

    @field_validator("ids")
    @classmethod
    def _each_once(cls, ids: list[str] | None) -> list[str] | None:
        if ids is not None and len(set(ids)) != len(ids):
            twice = next(meter for index, meter in enumerate(ids) if meter in ids[:index])
            raise PydanticCustomError(
                "duplicate_meter", "meter {meter!r} is listed twice", {"meter": twice}
            )
        return ids

    @model_validator(mode="after")
    def _exactly_one(self) -> FleetMeters:
        if (self.ids is None) == (self.discover is None):
            raise PydanticCustomError(
                "meters_exactly_one", "exactly one of meters.ids and meters.discover must be set"
            )
        return self


_FLEET_SPEC_RULES: list[JsonValue] = [*RANGE_RULES]


class FleetTrainingJobSpec(ContractModel):
    """What to train: the models of a set of meters over one data range, from one source,
    with one model setting. Immutable after creation except `suspend`."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": _FLEET_SPEC_RULES})

    meters: FleetMeters = Field(description="Which meters: exactly one of ids and discover.")
    meter_type: MeterType = Field(
        description="electricity or water: reads the measurement `<meterType>_consumption`."
    )
    start: Timestamp = Field(description="Start of the data range (RFC 3339, inclusive).")
    end: Timestamp = Field(description="End of the data range (RFC 3339, exclusive).")
    source: SourceRef | None = Field(
        default=None,
        description="Which configured InfluxDB source to read; the default source if unset.",
    )
    model: ModelSpec | None = Field(
        default=None, description="Model settings for every meter; defaults apply when unset."
    )
    resources: ResourceRequirements | None = Field(
        default=None, description="Compute resources of each shard's trainer container."
    )
    parallelism: Annotated[int, Field(ge=1, le=MAX_PARALLELISM), WHOLE] | None = Field(
        default=None,
        description=f"Shard pods at once (default {DEFAULT_PARALLELISM}).",
    )
    meters_per_pod: Annotated[int, Field(ge=1, le=MAX_METERS_PER_POD), WHOLE] | None = Field(
        default=None,
        description=(
            f"Meters one shard pod trains, in one process (default {DEFAULT_METERS_PER_POD}); "
            f"at most {MAX_SHARDS} shards."
        ),
    )
    backoff_limit_per_index: Annotated[int, Field(ge=0, le=20), WHOLE] | None = Field(
        default=None,
        description=(
            "Retries of a failed shard pod before its shard fails "
            f"(default {DEFAULT_BACKOFF_LIMIT_PER_INDEX}); other shards go on."
        ),
    )
    active_deadline_seconds: Annotated[int, Field(ge=1, le=604_800), WHOLE] | None = Field(
        default=None,
        description="Seconds the whole run may take, retries included, before it fails.",
    )
    suspend: StrictBool = Field(
        default=False,
        description="true stops the run (pods go, the record and the Job stay); false resumes.",
    )

    @field_validator("end")
    @classmethod
    def _range_is_sane(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is None:
            return end
        if end <= start:
            raise PydanticCustomError(
                "range_empty", "must be after start (the range [start, end) is empty)"
            )
        if end - start > MAX_RANGE:
            raise PydanticCustomError(
                "range_too_long", "the range from start to end must be at most 10 years"
            )
        return end

    @property
    def effective_model(self) -> ModelSpec:
        return self.model or ModelSpec()

    @property
    def effective_parallelism(self) -> int:
        return self.parallelism or DEFAULT_PARALLELISM

    @property
    def effective_meters_per_pod(self) -> int:
        return self.meters_per_pod or DEFAULT_METERS_PER_POD

    @property
    def effective_backoff_limit_per_index(self) -> int:
        if self.backoff_limit_per_index is None:
            return DEFAULT_BACKOFF_LIMIT_PER_INDEX
        return self.backoff_limit_per_index

    def shard_count(self, meters: int) -> int:
        """How many shards (Job completions) `meters` meters make."""
        return max(1, math.ceil(meters / self.effective_meters_per_pod))


def shard_of(meters: list[str], index: int, meters_per_pod: int) -> list[str]:
    """The meters of shard `index`: a slice of the fixed meter list, in its order."""
    return meters[index * meters_per_pod : (index + 1) * meters_per_pod]


# --- status ---------------------------------------------------------------------------------


class FleetPhase(StrEnum):
    """Where a FleetTrainingJob is in its life."""

    PENDING = "Pending"
    # A discovery pod is reading the meter ids of the measurement (meters.discover).
    DISCOVERING = "Discovering"
    RUNNING = "Running"
    SUSPENDED = "Suspended"
    # Every shard ran to its end (meters that failed are counted and listed).
    SUCCEEDED = "Succeeded"
    # A shard failed after its retries, the deadline passed, or the spec cannot run.
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        return self in FLEET_TERMINAL_PHASES


FLEET_TERMINAL_PHASES: Final = frozenset({FleetPhase.SUCCEEDED, FleetPhase.FAILED})

Count = Annotated[int, Field(ge=0, le=MAX_FLEET_METERS)]


class FleetProgress(ContractModel):
    """Meters finished (succeeded or failed) out of the total."""

    finished: StrictInt = Field(ge=0, le=MAX_FLEET_METERS, description="Meters finished.")
    total: StrictInt = Field(ge=0, le=MAX_FLEET_METERS, description="Meters in the fleet.")
    percent: StrictInt = Field(ge=0, le=100, description="finished / total, in percent.")
    in_running_shards: StrictInt = Field(
        default=0,
        ge=0,
        le=MAX_FLEET_METERS,
        description="Of `finished`, meters finished by shards still running (their live "
        "progress); `counts` has them once their shard ends.",
    )


class FleetCounts(ContractModel):
    """How the meters came out."""

    total: StrictInt = Field(ge=0, le=MAX_FLEET_METERS, description="Meters in the fleet.")
    succeeded: StrictInt = Field(
        default=0, ge=0, le=MAX_FLEET_METERS, description="Meters with a saved model version."
    )
    failed: StrictInt = Field(
        default=0, ge=0, le=MAX_FLEET_METERS, description="Meters that could not be trained."
    )
    promoted: StrictInt = Field(
        default=0,
        ge=0,
        le=MAX_FLEET_METERS,
        description="Meters whose new version became their current model.",
    )
    beat_baseline: StrictInt = Field(
        default=0,
        ge=0,
        le=MAX_FLEET_METERS,
        description="Meters whose model beat the best seasonal-naive baseline on the holdout.",
    )


class MeterFailure(ContractModel):
    """One meter that could not be trained, and why."""

    meter: str = Field(
        description="The meter id.", min_length=1, max_length=128, pattern=METER_ID_PATTERN
    )
    reason: str = Field(
        description="CamelCase reason (NoData, DataInsufficient, InfluxUnavailable, ...).",
        min_length=1,
        max_length=128,
        pattern=CAMEL_CASE_PATTERN,
    )
    message: str = Field(
        default="", description="What happened, for a person.", max_length=MAX_FAILURE_MESSAGE
    )


class RatioQuantiles(ContractModel):
    """Quantiles of MAE / best-baseline MAE across the meters that succeeded (below 1: the
    model beats the baseline), read off `RATIO_BUCKET_EDGES`' histogram."""

    median: StrictFloat = Field(ge=0, description="Median across meters.")
    p90: StrictFloat = Field(ge=0, description="90th percentile across meters.")
    meters: StrictInt = Field(ge=0, le=MAX_FLEET_METERS, description="Meters measured.")


class HistogramBucket(ContractModel):
    """Meters whose ratio is at most `le` (and above the previous bucket's); the last bucket
    has no `le` (above 2.0)."""

    le: StrictFloat | None = Field(default=None, ge=0, description="Upper bound, inclusive.")
    count: StrictInt = Field(ge=0, le=MAX_FLEET_METERS, description="Meters in the bucket.")


class FleetMetrics(ContractModel):
    """Holdout error across the fleet."""

    mae_over_best_baseline: RatioQuantiles | None = Field(
        default=None, description="Median and p90 of MAE / best baseline MAE."
    )
    histogram: list[HistogramBucket] | None = Field(
        default=None,
        max_length=64,
        description="The ratio's histogram (buckets of 0.05 up to 2.0, then one open bucket).",
    )


IndexRanges = Annotated[
    str, Field(max_length=MAX_INDEX_RANGES_LENGTH, pattern=r"^[0-9,\-]*(\.\.\.)?$")
]


class FleetShards(ContractModel):
    """The shards (Job completion indexes), compactly."""

    total: StrictInt = Field(ge=0, le=MAX_SHARDS, description="Shards (Job completions).")
    succeeded: StrictInt = Field(default=0, ge=0, le=MAX_SHARDS, description="Shards done.")
    failed: StrictInt = Field(
        default=0, ge=0, le=MAX_SHARDS, description="Shards failed after their retries."
    )
    active: StrictInt = Field(default=0, ge=0, le=MAX_SHARDS, description="Shard pods running.")
    completed_indexes: IndexRanges | None = Field(
        default=None, description='Succeeded indexes as ranges ("0-41,43"); "..." if cut.'
    )
    failed_indexes: IndexRanges | None = Field(
        default=None, description='Failed indexes as ranges ("42"); "..." if cut.'
    )
    counted: str | None = Field(
        default=None,
        max_length=MAX_COUNTED_LENGTH,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="The operator's bookkeeping: the shards whose reports are in `counts` "
        "(a deflated bitmap of their indexes, base64), so the counts stay when finished "
        "pods are removed.",
    )


_FLEET_FINISHED = ", ".join(f"'{phase.value}'" for phase in sorted(FLEET_TERMINAL_PHASES))
_FLEET_WAS_FINISHED = (
    "has(oldSelf.status) && has(oldSelf.status.phase) && "
    f"oldSelf.status.phase in [{_FLEET_FINISHED}]"
)
FLEET_FINISHED_STATUS_RULES: list[JsonValue] = [
    {
        "rule": (
            f"!({_FLEET_WAS_FINISHED}) || (has(self.status) && has(self.status.phase) && "
            "self.status.phase == oldSelf.status.phase)"
        ),
        "message": (
            "a finished FleetTrainingJob's phase cannot change, and its status cannot be removed"
        ),
        "fieldPath": ".status",
        "reason": "FieldValueForbidden",
    },
]


class FleetTrainingJobStatus(ContractModel):
    """Observed state, written by the operator through the status subresource only, from
    the Indexed Job and what its shards report. Bounded at any fleet size (module docstring).
    """

    phase: FleetPhase | None = Field(default=None, description="Where the fleet is.")
    message: str | None = Field(
        default=None, description="The latest word, for a person.", max_length=4096
    )
    job_name: str | None = Field(
        default=None,
        description="The Indexed Job that runs the shards.",
        max_length=constants.MAX_NAME_LENGTH,
    )
    meter_list: str | None = Field(
        default=None,
        description=(
            "Where the fixed meter list lives: `spec.meters.ids`, or the ConfigMap that "
            "discovery wrote (owned by the FleetTrainingJob)."
        ),
        max_length=253,
    )
    progress: FleetProgress | None = Field(default=None, description="Meters finished / total.")
    counts: FleetCounts | None = Field(default=None, description="How the meters came out.")
    failures: list[MeterFailure] | None = Field(
        default=None,
        max_length=MAX_STATUS_FAILURES,
        description=(
            f"The first {MAX_STATUS_FAILURES} meters that failed (counts.failed has them all)."
        ),
    )
    metrics: FleetMetrics | None = Field(default=None, description="Holdout error, aggregated.")
    shards: FleetShards | None = Field(default=None, description="The shards, compactly.")
    start_time: Timestamp | None = Field(default=None, description="When the Job started.")
    completion_time: Timestamp | None = Field(default=None, description="When it finished.")
    observed_generation: StrictInt | None = Field(
        default=None, ge=0, description="The spec generation the operator acted on."
    )
    conditions: list[Condition] | None = Field(
        default=None,
        max_length=16,
        description="Standard conditions, keyed by type.",
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )


class FleetTrainingJob(ContractModel):
    """A whole FleetTrainingJob object, as read from the API."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["wattcast.dev/v1alpha1"] = "wattcast.dev/v1alpha1"
    kind: Literal["FleetTrainingJob"] = "FleetTrainingJob"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: FleetTrainingJobSpec
    status: FleetTrainingJobStatus | None = None


# --- what a shard reports, and what it keeps per meter ----------------------------------------


class MeterOutcome(ContractModel):
    """One meter's outcome in a fleet, kept in the model store (`fleet_outcome_path`): the
    shard runner's idempotency marker (a retried shard skips meters that have one) and the
    per-meter result `wattcast fleet result` shows."""

    meter: str = Field(max_length=128, pattern=METER_ID_PATTERN, description="The meter id.")
    succeeded: bool = Field(description="Whether a model version was saved.")
    reason: str = Field(max_length=128, pattern=CAMEL_CASE_PATTERN, description="CamelCase.")
    message: str = Field(default="", max_length=MAX_FAILURE_MESSAGE, description="For a person.")
    version: str | None = Field(default=None, max_length=64, description="The saved version.")
    model_path: str | None = Field(
        default=None, max_length=512, description="The model file, relative to the store."
    )
    promoted: bool = Field(default=False, description="Whether it became current.")
    beat_baseline: bool = Field(default=False, description="Whether it beat the best baseline.")
    mae: float | None = Field(default=None, ge=0, description="Holdout MAE.")
    best_baseline_mae: float | None = Field(default=None, ge=0, description="Best baseline MAE.")
    seconds: float | None = Field(default=None, ge=0, description="Time spent on this meter.")

    @property
    def ratio(self) -> float | None:
        """MAE / best-baseline MAE, when both are known and the baseline is not zero."""
        if self.mae is None or not self.best_baseline_mae:
            return None
        return self.mae / self.best_baseline_mae


def ratio_bucket(ratio: float) -> int:
    """Which of the RATIO_BUCKETS histogram buckets a ratio falls in."""
    for index, edge in enumerate(RATIO_BUCKET_EDGES):
        if ratio <= edge:
            return index
    return len(RATIO_BUCKET_EDGES)


def ratio_quantile(histogram: list[int], q: float) -> float | None:
    """The q-quantile of the ratio from its bucket counts (linear inside a bucket; the open
    bucket reads as its lower edge)."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = RATIO_BUCKET_EDGES[index - 1] if index else 0.0
            if index >= len(RATIO_BUCKET_EDGES):
                return lower
            return round(lower + RATIO_BUCKET_WIDTH * (rank - seen) / count, 4)
        seen += count
    return RATIO_BUCKET_EDGES[-1]


class ShardReport(ContractModel):
    """What one shard pod writes to its termination log (at most 4096 bytes): the counts of
    its whole shard (meters finished by earlier attempts included), the ratio histogram, and
    its first failures. The operator aggregates these into the status."""

    index: StrictInt = Field(ge=0, lt=MAX_SHARDS, description="The completion index.")
    phase: Literal["Succeeded", "Failed"] = Field(description="How the attempt ended.")
    reason: str = Field(max_length=128, pattern=CAMEL_CASE_PATTERN, description="CamelCase.")
    message: str = Field(default="", max_length=MAX_FAILURE_MESSAGE, description="For a person.")
    meters: StrictInt = Field(ge=0, le=MAX_METERS_PER_POD, description="Meters of the shard.")
    succeeded: StrictInt = Field(default=0, ge=0, le=MAX_METERS_PER_POD)
    failed: StrictInt = Field(default=0, ge=0, le=MAX_METERS_PER_POD)
    promoted: StrictInt = Field(default=0, ge=0, le=MAX_METERS_PER_POD)
    beat_baseline: StrictInt = Field(default=0, ge=0, le=MAX_METERS_PER_POD)
    histogram: list[StrictInt] = Field(
        default_factory=list, max_length=RATIO_BUCKETS, description="Ratio bucket counts."
    )
    failures: list[MeterFailure] = Field(default_factory=list, max_length=MAX_SHARD_REPORT_FAILURES)
    fit_seconds: StrictFloat | None = Field(default=None, ge=0, description="Seconds fitting.")
    wall_seconds: StrictFloat | None = Field(default=None, ge=0, description="Seconds in all.")

    def to_bytes(self) -> bytes:
        """Serialized within the termination log's 4096 bytes: failure messages are cut,
        then failures dropped (the counts always stay)."""
        report = self
        while True:
            data = report.model_dump_json(by_alias=True, exclude_none=True).encode()
            if len(data) <= constants.TERMINATION_MESSAGE_MAX_BYTES or not report.failures:
                return data
            shorter = [f.model_copy(update={"message": f.message[:120]}) for f in report.failures]
            if shorter == report.failures:
                shorter = report.failures[:-1]
            report = report.model_copy(update={"failures": shorter})


class DiscoveryReport(ContractModel):
    """What the discovery pod (`wattcast-fleet-shard --discover`) writes to its termination
    log: how many meters the fixed list in the model store holds (`fleet_meters_path`)."""

    phase: Literal["Succeeded", "Failed"] = Field(description="How discovery ended.")
    reason: str = Field(max_length=128, pattern=CAMEL_CASE_PATTERN, description="CamelCase.")
    message: str = Field(default="", max_length=MAX_FAILURE_MESSAGE, description="For a person.")
    meters: StrictInt = Field(default=0, ge=0, le=MAX_FLEET_METERS, description="Meters found.")


# --- the model store's fleet area -------------------------------------------------------------

FLEETS_DIR: Final = "fleets"
_UID = re.compile(r"^[0-9a-f-]{1,64}$")


def fleet_dir(uid: str) -> PurePosixPath:
    """`fleets/<uid>`, relative to the model store's root: one FleetTrainingJob's area."""
    if _UID.fullmatch(uid) is None:
        raise ValueError(f"{uid!r} is not a Kubernetes uid")
    return PurePosixPath(FLEETS_DIR, uid)


def fleet_outcome_path(uid: str, meter_id: str) -> PurePosixPath:
    """`fleets/<uid>/meters/<meterId>.json`: one meter's MeterOutcome in that fleet."""
    if re.fullmatch(METER_ID_PATTERN, meter_id) is None or meter_id in {".", ".."}:
        raise ValueError(f"{meter_id!r} is not a valid meter id (pattern {METER_ID_PATTERN})")
    return fleet_dir(uid) / "meters" / f"{meter_id}.json"


def fleet_meters_path(uid: str) -> PurePosixPath:
    """`fleets/<uid>/meters.json`: a discovered fleet's fixed meter list (a JSON list of ids,
    written once by discovery; every shard of every attempt reads the same list)."""
    return fleet_dir(uid) / "meters.json"


def encode_index_set(indexes: set[int]) -> str:
    """A set of shard indexes as `FleetShards.counted` holds it."""
    bitmap = bytearray(max(indexes, default=-1) // 8 + 1)
    for index in indexes:
        if not 0 <= index < MAX_SHARDS:
            raise ValueError(f"{index} is not a shard index")
        bitmap[index // 8] |= 1 << (index % 8)
    return base64.b64encode(zlib.compress(bytes(bitmap), 9)).decode()


def decode_index_set(text: str | None) -> set[int]:
    """The inverse of encode_index_set; ValueError for anything it did not write."""
    if not text:
        return set()
    try:
        inflater = zlib.decompressobj()
        bitmap = inflater.decompress(base64.b64decode(text, validate=True), MAX_SHARDS // 8 + 1)
    except (binascii.Error, zlib.error) as error:
        raise ValueError(f"not a counted-shards bitmap: {error}") from None
    if inflater.unconsumed_tail or len(bitmap) > math.ceil(MAX_SHARDS / 8):
        raise ValueError("the counted-shards bitmap is larger than MAX_SHARDS")
    if not inflater.eof:
        raise ValueError("the counted-shards bitmap is cut short")
    return {8 * i + bit for i, byte in enumerate(bitmap) for bit in range(8) if byte >> bit & 1}


# --- live progress of running shards ----------------------------------------------------------

SHARD_PROGRESS_PREFIX: Final = f"{constants.GROUP}/shard-"
_COUNT = re.compile(r"[0-9]{1,9}")


def progress_lease_name(fleet_name: str) -> str:
    """The Lease `<fleet>-progress` (owned by the fleet) on which each running shard keeps
    one annotation, `wattcast.dev/shard-<index>`: the meters it has finished so far."""
    return f"{fleet_name}-progress"


def shard_progress_key(index: int) -> str:
    return f"{SHARD_PROGRESS_PREFIX}{index}"


def shard_progress(annotations: dict[str, str] | None) -> dict[int, int]:
    """The Lease's annotations as {index: meters finished}; anything malformed is ignored
    (a shard's report at its end is what counts)."""
    found: dict[int, int] = {}
    for key, value in (annotations or {}).items():
        index, finished = key.removeprefix(SHARD_PROGRESS_PREFIX), str(value)
        well_formed = _COUNT.fullmatch(index) and _COUNT.fullmatch(finished)
        if key.startswith(SHARD_PROGRESS_PREFIX) and well_formed:
            found[int(index)] = min(int(finished), MAX_METERS_PER_POD)
    return found


__all__ = [
    "DEFAULT_BACKOFF_LIMIT_PER_INDEX",
    "DEFAULT_METERS_PER_POD",
    "DEFAULT_PARALLELISM",
    "FLEET_FINISHED_STATUS_RULES",
    "FLEET_TERMINAL_PHASES",
    "MAX_METER_IDS",
    "MAX_PATTERN_LENGTH",
    "MAX_SHARDS",
    "MAX_STATUS_FAILURES",
    "RATIO_BUCKETS",
    "RATIO_BUCKET_EDGES",
    "SHARD_PROGRESS_PREFIX",
    "STATUS_SIZE_BUDGET",
    "UNSUPPORTED_PATTERN_SYNTAX",
    "Count",
    "DiscoveryReport",
    "FleetCounts",
    "FleetMeters",
    "FleetMetrics",
    "FleetPhase",
    "FleetProgress",
    "FleetShards",
    "FleetTrainingJob",
    "FleetTrainingJobSpec",
    "FleetTrainingJobStatus",
    "HistogramBucket",
    "MeterDiscovery",
    "MeterFailure",
    "MeterOutcome",
    "RatioQuantiles",
    "ShardReport",
    "check_meter_pattern",
    "decode_index_set",
    "encode_index_set",
    "fleet_dir",
    "fleet_meters_path",
    "fleet_outcome_path",
    "progress_lease_name",
    "ratio_bucket",
    "ratio_quantile",
    "shard_of",
    "shard_progress",
    "shard_progress_key",
]
