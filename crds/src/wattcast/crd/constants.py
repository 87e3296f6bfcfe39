"""Names every component agrees on: API coordinates, labels, annotations, exit codes.

One place for each string that crosses a process boundary, so the operator, trainer, API and
chart can never drift apart.
"""

from typing import Final

from wattcast.crd.names import DNS_LABEL_MAX_LENGTH

GROUP: Final = "wattcast.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "TrainingJob"
PLURAL: Final = "trainingjobs"
SINGULAR: Final = "trainingjob"
SHORT_NAMES: Final = ("tj",)
CATEGORIES: Final = ("wattcast",)
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

# Kubernetes names: a Job takes the TrainingJob's name and a Job's name must fit a label value
# (wattcast.crd.names has the rules).
MAX_NAME_LENGTH: Final = DNS_LABEL_MAX_LENGTH

# The InfluxDB source a TrainingJob reads when `spec.source.name` is unset: the one the
# operator's WATTCAST_INFLUX_* settings describe (wattcast.crd.influx_sources).
DEFAULT_SOURCE_NAME: Final = "default"

# Labels on TrainingJobs (set by the API, or by the operator for `kubectl apply`) and on Jobs.
LABEL_TRAININGJOB: Final = f"{GROUP}/trainingjob"
LABEL_METER_TYPE: Final = f"{GROUP}/meter-type"
LABEL_METER_ID: Final = f"{GROUP}/meter-id"
LABEL_APP_NAME: Final = "app.kubernetes.io/name"
LABEL_APP_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_APP_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_APP_PART_OF: Final = "app.kubernetes.io/part-of"
LABEL_APP_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
APP_NAME: Final = "wattcast"
# On every pod that mounts the model store when its claim is ReadWriteOnce: such pods must share
# one node, so each requires pod affinity to the others by this label (value: the claim's name).
LABEL_MODELS_CLAIM: Final = f"{GROUP}/models-claim"

# Kueue (docs/design.md §3): the queue label makes Kueue manage the Job; the Job starts suspended.
LABEL_KUEUE_QUEUE: Final = "kueue.x-k8s.io/queue-name"
LABEL_KUEUE_PRIORITY: Final = "kueue.x-k8s.io/priority-class"

# Cancelling is suspending for good: `spec.suspend: true` plus this annotation. The REST API
# reports such a TrainingJob as REVOKED and refuses to resume it.
ANNOTATION_CANCELLED: Final = f"{GROUP}/cancelled"
# The API's Idempotency-Key, kept on the TrainingJob it created.
ANNOTATION_IDEMPOTENCY_KEY: Final = f"{GROUP}/idempotency-key"

# Trainer exit codes (docs/design.md §4): 2 is permanent (the Job fails at once through its
# podFailurePolicy); any other non-zero code is retried up to backoffLimit.
EXIT_OK: Final = 0
EXIT_PERMANENT: Final = 2

# The trainer pod (docs/design.md §3.1).
TRAINER_CONTAINER: Final = "trainer"
TRAINER_COMMAND: Final = "wattcast-trainer"
MODELS_MOUNT_PATH: Final = "/models"
TERMINATION_LOG_PATH: Final = "/dev/termination-log"
# Kubernetes truncates a termination message beyond 4096 bytes.
TERMINATION_MESSAGE_MAX_BYTES: Final = 4096

ENV_TRAININGJOB_NAME: Final = "WATTCAST_TRAININGJOB_NAME"
ENV_TRAININGJOB_NAMESPACE: Final = "WATTCAST_TRAININGJOB_NAMESPACE"
ENV_MODELS_DIR: Final = "WATTCAST_MODELS_DIR"
ENV_INFLUX_URL: Final = "INFLUX_URL"
ENV_INFLUX_ORG: Final = "INFLUX_ORG"
ENV_INFLUX_BUCKET: Final = "INFLUX_BUCKET"
ENV_INFLUX_DATABASE: Final = "INFLUX_DATABASE"
ENV_INFLUX_DIALECT: Final = "INFLUX_DIALECT"
ENV_INFLUX_TOKEN: Final = "INFLUX_TOKEN"  # noqa: S105 (a variable name, not a secret)

# InfluxDB data format of the seed (docs/seed.md): measurement `<meterType>_consumption`.
MEASUREMENT_SUFFIX: Final = "_consumption"
TAG_METER_ID: Final = "meter_id"
FIELD_CONSUMPTION: Final = "consumption"
FIELD_TEMPERATURE: Final = "temperature"

# FleetTrainingJob (docs/design.md §2b): one resource, one Indexed Job, the models of many meters.
FLEET_KIND: Final = "FleetTrainingJob"
FLEET_PLURAL: Final = "fleettrainingjobs"
FLEET_SINGULAR: Final = "fleettrainingjob"
FLEET_SHORT_NAMES: Final = ("ftj",)
FLEET_CRD_NAME: Final = f"{FLEET_PLURAL}.{GROUP}"
# On the Indexed Job and its pods: the FleetTrainingJob they belong to.
LABEL_FLEETTRAININGJOB: Final = f"{GROUP}/fleettrainingjob"
# The shard runner's console script (the trainer image), and what tells it its shard.
FLEET_SHARD_COMMAND: Final = "wattcast-fleet-shard"
ENV_FLEET_NAME: Final = "WATTCAST_FLEET_NAME"
ENV_FLEET_NAMESPACE: Final = "WATTCAST_FLEET_NAMESPACE"
ENV_FLEET_UID: Final = "WATTCAST_FLEET_UID"
ENV_FLEET_SHARDS: Final = "WATTCAST_FLEET_SHARDS"
ENV_FLEET_PROGRESS_LEASE: Final = "WATTCAST_FLEET_PROGRESS_LEASE"
# Set by the Job controller on every pod of an Indexed Job.
ENV_JOB_COMPLETION_INDEX: Final = "JOB_COMPLETION_INDEX"
