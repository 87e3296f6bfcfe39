"""How a contract field is checked: the patterns, the JSON number and timestamp rules
the CRD applies, and the base of every contract model (camelCase aliases, nothing unknown).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from wattcast.crd.quantities import QUANTITY_MAX_LENGTH, QUANTITY_PATTERN

METER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
# Bucket and database names reach InfluxDB queries; only this conservative alphabet is allowed.
INFLUX_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# metav1.Condition's reason and a CamelCase type.
CAMEL_CASE_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# What the CRD's `format: date-time` and CEL's timestamp() both accept: RFC 3339 with an offset.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def _rfc3339_only(value: Any) -> Any:
    """A string in RFC 3339, as the CRD takes it (or a datetime, from Python callers).

    pydantic alone would also take numbers and numeric strings (Unix times), dates and spaces
    for the `T`, which the CRD refuses."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "rfc3339",
        "must be an RFC 3339 datetime with a time zone, such as 2023-01-01T00:00:00Z",
    )


def _in_utc(value: datetime) -> datetime:
    """The instant in UTC: every component then compares and subtracts times of one zone
    (a start in `Z` and an end in `+01:00` once crashed pandas)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first instant CEL knows
        raise PydanticCustomError(
            "timestamp_out_of_range", "must be between 0001-01-01T00:00:00Z and 9999-12-31"
        ) from None


def _whole_number(value: Any) -> Any:
    """An integer as the API server reads JSON: an int, or a number with no fraction (10.0);
    never a bool or a string, which the CRD refuses."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError("int_from_float", "must be a whole number")
        return int(value)
    return value


# An integer field of the spec, as strict as the CRD and no stricter.
WHOLE = BeforeValidator(_whole_number)
WholeInt = Annotated[int, WHOLE]  # optional ones: Annotated[int, Field(bounds), WHOLE] | None

# RFC 3339 with an offset, normalised to UTC; bounded so that the CEL cost estimator can size it.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_only),
    AfterValidator(_in_utc),
    Field(json_schema_extra={"maxLength": 64}),
]
Quantity = Annotated[
    str,
    Field(
        max_length=QUANTITY_MAX_LENGTH,
        pattern=QUANTITY_PATTERN,
        description="A Kubernetes quantity, not negative, such as 500m, 2 or 4Gi.",
    ),
]

# The longest range one TrainingJob may ask for: 10 years of 365.25 days. The CRD's CEL rule
# and the models' own check below both derive from this one value.
MAX_RANGE = timedelta(days=3652.5)
MAX_RANGE_CEL_DURATION = f"{int(MAX_RANGE.total_seconds()) // 3600}h"


class ContractModel(BaseModel):
    """Base of every contract model: camelCase aliases, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=False,
        ser_json_timedelta="iso8601",
    )

    def to_json_dict(self) -> dict[str, Any]:
        """The object as the Kubernetes API stores it: camelCase, no unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
