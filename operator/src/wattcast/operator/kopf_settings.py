"""How Kopf itself is set up for the operator: where its bookkeeping goes, watch timeouts,
which Events it posts, whether it scans the cluster. Applied by the startup handler."""

from __future__ import annotations

import logging

import kopf

from wattcast.crd import constants
from wattcast.operator.settings import OperatorSettings

DIFFBASE_KEY = "last-handled-configuration"
# Seconds Kopf waits for a stopped timer to exit at once, and then between checks.
INSTANT_EXIT_S = 5.0
CANCELLATION_POLLING_S = 10.0


def apply(settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    """Kopf's production settings, from the operator's own."""
    # The structural schema prunes unknown status fields: Kopf's bookkeeping goes to
    # annotations instead (wattcast.dev/<handler> while retrying, and the diff-base).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=constants.GROUP)
    # Only the spec matters for diffs (spec.suspend): with labels in the diff-base, the labels
    # create_job adds would cost Kopf a second bookkeeping patch per TrainingJob.
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=constants.GROUP,
        key=DIFFBASE_KEY,
        ignored_fields=["metadata.labels", "metadata.annotations"],
    )
    # Kopf puts its finalizer on the objects its timers run for: only finished TrainingJobs,
    # and only with retention on (retention.py). This names it ours.
    settings.persistence.finalizer = f"{constants.GROUP}/operator"
    # The retention timer deletes its own TrainingJob: the deletion's event arrives while the
    # timer is returning, and Kopf removes its finalizer only once the timer has exited. Wait
    # for that exit (milliseconds) instead of Kopf's default re-check a minute later.
    settings.background.instant_exit_timeout = INSTANT_EXIT_S
    settings.background.cancellation_polling = CANCELLATION_POLLING_S
    # Watches end server-side before the client gives up, so a silent connection is noticed.
    settings.watching.server_timeout = ours.watch_server_timeout
    settings.watching.client_timeout = ours.watch_client_timeout
    # Only the explicit transition Events, not every log line, become Kubernetes Events.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    # Kopf watches CRDs (and, for namespace globs, namespaces) cluster-wide to follow
    # resources and namespaces that appear later. The operator knows its two resources, and
    # the chart names exact namespaces and grants no cluster-scope read of CRDs or
    # namespaces: without this, every start retries 403s before it falls back.
    settings.scanning.disabled = not ours.namespace_globs
