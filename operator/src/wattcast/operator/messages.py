"""The operator's words for failures it writes into a TrainingJob's status.

Status messages are for people (`wattcast.crd.messages`): this is the one place the operator
turns an exception into one. A validation error is listed field by field without the input
values or pydantic's links; an API server's refusal keeps its message, redacted, and not the
raw Status body (which echoes the Job it refused, environment included). Everything written
also passes `status._Builder`, which redacts once more.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from wattcast.crd.messages import redacted
from wattcast.operator.kubeclient import KubeApiError

_MAX = 1024


def invalid_trainingjob(error: ValidationError) -> str:
    """`the TrainingJob is invalid: spec.x: <what is wrong>; ...` (at most five problems)."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5]
    )
    return redacted(f"the TrainingJob is invalid: {problems}")[:_MAX]


def job_refused(error: KubeApiError) -> str:
    """Why the API server refused the Job, from its Status `message`, redacted."""
    try:
        body = json.loads(error.body)
    except ValueError:
        body = None
    reason = body.get("message") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason:
        reason = f"HTTP {error.status} {error.reason}".strip()
    return redacted(f"the API server refused the Job: {reason}")[:_MAX]
