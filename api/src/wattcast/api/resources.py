"""The custom resources the API serves, described once: TrainingJob and FleetTrainingJob.

Submitting, suspending, resuming, cancelling, listing, deleting and streaming work alike for
both kinds (the same idempotency, the same optimistic concurrency, the same error mapping);
what differs is named here: the kind and its plural, the CRD file a missing resource points
at, the contract's spec model, the labels of a new object and the phases that are final.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wattcast.crd import TERMINAL_PHASES, TrainingJobSpec, constants
from wattcast.crd.fieldtypes import ContractModel
from wattcast.crd.fleettrainingjob import (
    FLEET_TERMINAL_PHASES,
    MAX_METER_IDS,
    FleetTrainingJobSpec,
)
from wattcast.crd.labels import trainingjob_labels


@dataclass(frozen=True)
class ResourceKind:
    """One custom resource of group wattcast.dev, as the API handles it."""

    kind: str
    plural: str
    # Where a person finds the CRD when the resource is not installed.
    crd_file: str
    spec_model: type[ContractModel]
    labels: Callable[[Any], dict[str, str]]
    # status.phase values after which nothing changes any more.
    terminal_phases: frozenset[str]

    @property
    def many(self) -> str:
        """The kind in the plural, for messages ("TrainingJobs")."""
        return f"{self.kind}s"

    @property
    def path(self) -> str:
        """The collection's path in the /v1 API."""
        return f"/v1/{self.plural}"


TRAININGJOB = ResourceKind(
    kind=constants.KIND,
    plural=constants.PLURAL,
    crd_file="crds/trainingjob.yaml",
    spec_model=TrainingJobSpec,
    labels=trainingjob_labels,
    terminal_phases=frozenset(p.value for p in TERMINAL_PHASES),
)


def fleet_labels(spec: FleetTrainingJobSpec) -> dict[str, str]:
    """Part of wattcast, and the meter type (`kubectl get ftj -l wattcast.dev/meter-type=water`)."""
    return {
        constants.LABEL_APP_PART_OF: constants.APP_NAME,
        constants.LABEL_METER_TYPE: spec.meter_type.value,
    }


FLEET = ResourceKind(
    kind=constants.FLEET_KIND,
    plural=constants.FLEET_PLURAL,
    crd_file="crds/fleettrainingjob.yaml",
    spec_model=FleetTrainingJobSpec,
    labels=fleet_labels,
    terminal_phases=frozenset(p.value for p in FLEET_TERMINAL_PHASES),
)

# The largest FleetTrainingJob body the API takes whatever WATTCAST_API_MAX_BODY_BYTES says:
# MAX_METER_IDS ids of up to 128 characters, quoted, one a line with indentation (256 bytes
# each is generous), and the rest of the spec.
FLEET_MAX_BODY_BYTES = MAX_METER_IDS * 256 + 64 * 1024
