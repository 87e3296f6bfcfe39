"""How Kopf itself is set up for the operator: where its bookkeeping goes, watch timeouts,
which Events it posts, whether it scans the cluster, which objects the API server sends it.
Applied by the startup handler.

The operator watches Jobs and pods, of which a cluster has many that are not its own. The API
server filters them: every list and watch of those resources carries the label selector
`OWN_OBJECTS_SELECTOR` (Kopf's `settings.watching.label_selectors`), which every Job the
operator renders, and every pod of such a Job, matches. Kopf joins all the selectors that
apply to one resource by "and" and keeps one watch per resource for all its handlers, so any
kind whose Jobs the operator makes (TrainingJob, FleetTrainingJob) must label its Jobs and their
pod templates with `OWN_OBJECTS_SELECTOR` (`rendering.job_labels` does); each kind's handlers
then tell their own Jobs apart by their own label (client-side `labels=`), among few objects.
"""

from __future__ import annotations

import logging

import kopf

from wattcast.crd import constants
from wattcast.operator.rendering import MANAGED_BY
from wattcast.operator.settings import OperatorSettings

DIFFBASE_KEY = "last-handled-configuration"
# Seconds Kopf waits for a stopped timer to exit at once, and then between checks.
INSTANT_EXIT_S = 5.0
CANCELLATION_POLLING_S = 10.0

# The label selector every list and watch of Jobs and pods carries: the API server sends only
# the operator's own (see the module's docstring).
OWN_OBJECTS_SELECTOR = f"{constants.LABEL_APP_MANAGED_BY}={MANAGED_BY}"
# The resources watched through it (group, version, plural), as Kopf's handlers name them.
SERVER_FILTERED = (("batch", "v1", "jobs"), ("", "v1", "pods"))
# The initial lists are not paged (Kopf's `chunk_size` stays None): Kopf indexes each page
# before it asks for the next, and with 10,000 TrainingJobs in pages of 500 the operator was
# still paging after 9 minutes, far past the 5 minutes a list's continue token lives (etcd's
# compaction), and exited (benchmarks/bench_operator_scale.py).


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
    # Only the operator's own Jobs and pods, filtered by the API server.
    for resource in SERVER_FILTERED:
        settings.watching.label_selectors[resource] = OWN_OBJECTS_SELECTOR
    # Only the explicit transition Events, not every log line, become Kubernetes Events.
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    # Kopf watches CRDs (and, for namespace globs, namespaces) cluster-wide to follow
    # resources and namespaces that appear later. The operator knows its two resources, and
    # the chart names exact namespaces and grants no cluster-scope read of CRDs or
    # namespaces: without this, every start retries 403s before it falls back.
    settings.scanning.disabled = not ours.namespace_globs
