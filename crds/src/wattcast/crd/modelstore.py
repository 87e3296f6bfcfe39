"""The model store's layout, as far as a TrainingJob's result may point into it.

    <store>/<meterType>/<meterId>/versions/<version>/<model file>

`status.result.modelPath` is relative to the store's root and is written by a trainer, so it
is only as trustworthy as the trainer pod. Whoever serves a model (the REST API, the
dashboard) accepts a path only inside the TrainingJob's own meter directory, taken from its
spec, which is immutable: `model_path_of` gives the path or None, never one of another meter.
"""

from __future__ import annotations

from typing import Final

from wattcast.crd.trainingjob import MeterType

VERSIONS_DIR: Final = "versions"
_UNSAFE_PARTS = frozenset({"", ".", ".."})


def meter_versions_dir(meter_type: MeterType | str, meter_id: str) -> str:
    """`<meterType>/<meterId>/versions`, relative to the store's root."""
    return f"{MeterType(meter_type).value}/{meter_id}/{VERSIONS_DIR}"


def is_meter_model_path(model_path: object, meter_type: MeterType | str, meter_id: str) -> bool:
    """Whether `model_path` names a file `<version>/<file>` in the meter's versions directory.

    Checked on the text as written: no absolute path, no backslash, no empty, `.` or `..`
    part, exactly five parts. (Links on disk are the reader's to refuse.)
    """
    if not isinstance(model_path, str) or "\\" in model_path or "\x00" in model_path:
        return False
    if "/" in meter_id or meter_id in _UNSAFE_PARTS:
        return False
    try:
        prefix = meter_versions_dir(meter_type, meter_id).split("/")
    except ValueError:
        return False
    parts = model_path.split("/")
    return (
        len(parts) == len(prefix) + 2
        and parts[: len(prefix)] == prefix
        and not _UNSAFE_PARTS.intersection(parts)
    )


def model_path_of(status: object, spec: object) -> str | None:
    """`status.result.modelPath` of a TrainingJob's JSON, if it lies in its meter's directory.

    `status` and `spec` are the object's JSON parts (dicts as the API server sent them).
    """
    if not isinstance(status, dict) or not isinstance(spec, dict):
        return None
    result = status.get("result")
    if not isinstance(result, dict):
        return None
    path = result.get("modelPath")
    meter_type, meter_id = spec.get("meterType"), spec.get("meterId")
    if not isinstance(meter_type, str) or not isinstance(meter_id, str):
        return None
    return path if is_meter_model_path(path, meter_type, meter_id) else None
