"""The labels every TrainingJob carries, whoever created it.

The API puts them on the TrainingJobs it creates; the operator adds the missing ones to a
TrainingJob made with `kubectl apply`; the Job and its pods carry them too. One function, so
that `kubectl get tj -l wattcast.dev/meter-type=water` finds them all alike.
"""

from __future__ import annotations

from wattcast.crd import constants
from wattcast.crd.names import is_label_value
from wattcast.crd.trainingjob import TrainingJobSpec


def trainingjob_labels(spec: TrainingJobSpec) -> dict[str, str]:
    """Part of wattcast, the meter type, and the meter id where it is a valid label value.

    A meter id such as "site:7" is not a label value; the `spec.meterId` field selector still
    finds its TrainingJobs.
    """
    labels = {
        constants.LABEL_APP_PART_OF: constants.APP_NAME,
        constants.LABEL_METER_TYPE: spec.meter_type.value,
    }
    if is_label_value(spec.meter_id):
        labels[constants.LABEL_METER_ID] = spec.meter_id
    return labels
