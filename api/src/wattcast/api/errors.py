"""Every error the API answers, in one JSON shape (`ErrorPublic`), and their OpenAPI docs.

Route code raises `ApiProblem`; request validation errors (FastAPI's and the contract's) are
turned into field-level messages here, and so is every failed Kubernetes call
(`problem_for`, the one mapping): 404, 409, 403, 422 and 429 keep their meaning, 5xx and
unreachable become 503 with Retry-After. What reaches a client is for people: a failure with no
answer says only what kind it was (no answer in time, cannot connect), and a 5xx only its
status; the raw exception, with the API server's address in it, goes to the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse

from wattcast.api.models import ErrorPublic, FieldErrorPublic
from wattcast.api.resources import TRAININGJOB, ResourceKind
from wattcast.crd.kubeapi import KubeApiError

# Where pydantic's own wording is not enough for a person to fix the request.
_FRIENDLIER: dict[tuple[str, str], str] = {
    ("meter_id", "string_pattern_mismatch"): (
        "must start with a letter or digit and contain only letters, digits and the "
        "characters _ . : - (at most 128 characters)"
    ),
    ("meterId", "string_pattern_mismatch"): (
        "must start with a letter or digit and contain only letters, digits and the "
        "characters _ . : - (at most 128 characters)"
    ),
    ("name", "string_pattern_mismatch"): (
        "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
        "with a letter or digit, at most 63 characters"
    ),
    ("task_id", "string_pattern_mismatch"): (
        "must be a TrainingJob name: lowercase letters, digits and '-', starting and ending "
        "with a letter or digit, at most 63 characters (a UUID as POST /trainmodel/v2/ returns)"
    ),
}
_FRIENDLIER_BY_TYPE: dict[str, str] = {
    "timezone_aware": "must carry a time zone, such as 2023-01-01T00:00:00Z or +01:00",
    "extra_forbidden": "is not a known field; remove it",
    "missing": "is required",
    "json_invalid": "the body is not valid JSON",
}

STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
    502: "bad_gateway",
    503: "unavailable",
}

_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read: a body that is not JSON text (such as bytes that are "
    "not UTF-8) or a malformed Content-Length; for lists, a `continue` token the Kubernetes "
    "API did not issue.",
    401: "No or wrong bearer token (`Authorization: Bearer <token>`).",
    403: "The namespace is not served by this API, or the API's Kubernetes identity may not "
    "do this.",
    404: "No such {kind}.",
    409: "Conflict: the name or Idempotency-Key is taken by a different {kind}, the "
    "{kind} changed meanwhile, or the action does not fit its state.",
    413: "The request body is larger than WATTCAST_API_MAX_BODY_BYTES.",
    422: "The request is invalid; `errors` names each field and what is accepted.",
    429: "The Kubernetes API asks to slow down; retry after Retry-After seconds.",
    503: "The Kubernetes API (or, for forecasts, InfluxDB) is unavailable; retry after "
    "Retry-After seconds. A submission answered 503 may or may not exist: retry with the same "
    "Idempotency-Key.",
}

# The forecasting path's failures (wattcast.forecasting.errors, by reason) -> HTTP status.
FORECAST_STATUS: dict[str, int] = {
    "NoCurrentModel": 404,
    "InvalidMeterId": 422,
    "InvalidRequest": 422,
    "NoData": 422,
    "RecentDataMissing": 422,
    "ModelMismatch": 500,
    "InvalidConfig": 500,
    "InfluxUnavailable": 503,
}


class ApiProblem(Exception):
    """An HTTP error with the API's JSON body; raise it anywhere in a request."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldErrorPublic] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.code = code or STATUS_CODES.get(status_code, "error")
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})

    def body(self) -> ErrorPublic:
        return ErrorPublic(detail=self.detail, code=self.code, errors=self.errors)

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body().model_dump(mode="json", exclude_none=True),
            status_code=self.status_code,
            headers=self.headers,
        )


def field_errors(
    errors: Iterable[Mapping[str, Any]],
    *,
    prefix: Sequence[str | int] = (),
    rename: Mapping[str, str] | None = None,
) -> list[FieldErrorPublic]:
    """pydantic's errors -> field errors, without echoing the (possibly hostile) input back."""
    rename = rename or {}
    result = []
    for error in errors:
        loc = [*prefix, *error.get("loc", ())]
        where = [rename.get(p, p) if isinstance(p, str) else p for p in loc]
        # The field's path within its part of the request (body, query, path or header).
        in_body = where[1:] if where and where[0] in {"body", "query", "path", "header"} else where
        field = ".".join(str(p) for p in in_body) or "body"
        kind = str(error.get("type", "invalid"))
        leaf = str(in_body[-1]) if in_body else ""
        message = (
            _FRIENDLIER.get((leaf, kind))
            or _FRIENDLIER_BY_TYPE.get(kind)
            or str(error.get("msg", "is invalid"))
        )
        result.append(FieldErrorPublic(field=field, location=where, message=message, type=kind))
    return result


def invalid(errors: Sequence[FieldErrorPublic]) -> ApiProblem:
    """A 422 naming each invalid field."""
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return ApiProblem(422, f"Invalid request: {summary}{more}", errors=errors)


def invalid_field(field: str, location: str, message: str, kind: str) -> ApiProblem:
    """A 422 for one field the API itself checked."""
    return invalid(
        [
            FieldErrorPublic(
                field=field, location=[location, *field.split(".")], message=message, type=kind
            )
        ]
    )


def forecast_problem(reason: str, message: str) -> ApiProblem:
    """The answer to a failure of the forecasting path (its reason and message)."""
    status = FORECAST_STATUS.get(reason, 500)
    if status == 422:
        return ApiProblem(422, f"Invalid forecast request: {message}", code="invalid")
    if status == 500:
        return ApiProblem(500, f"The forecast failed on the server side: {message}")
    if status == 503:
        return ApiProblem(503, message, headers={"Retry-After": "5"})
    return ApiProblem(status, message)


def problem_for(
    err: KubeApiError,
    *,
    action: str,
    namespace: str,
    name: str | None = None,
    retry_after: int = 5,
    resource: ResourceKind = TRAININGJOB,
) -> ApiProblem:
    """The one mapping from a failed Kubernetes call to the API's HTTP error."""
    kind = resource.kind
    what = f"{kind} {name!r}" if name else resource.many
    where = f"in namespace {namespace!r}"
    unavailable_headers = {"Retry-After": str(err.retry_after or retry_after)}
    if err.status == 404:
        if name is None:
            # The collection itself is missing: the CRD is not installed. Not the caller's fault.
            return ApiProblem(
                503,
                f"The {kind} resource is not installed in the cluster (apply "
                f"{resource.crd_file} or install the Helm chart with crds.enabled).",
                headers=unavailable_headers,
            )
        if action == "create":
            # Nothing to find when creating: the namespace itself (or the resource) is missing.
            return ApiProblem(
                404,
                f"Could not create {what} {where}: {err.message}. Does the namespace exist, "
                f"and is the {kind} CRD installed?",
            )
        return ApiProblem(404, f"{what} not found {where}.")
    if err.status == 409:
        return ApiProblem(409, f"Conflict while trying to {action} {what} {where}: {err.message}")
    if err.status == 403:
        return ApiProblem(
            403,
            f"The API's Kubernetes identity may not {action} {what} {where} "
            f"(grant it in the chart's RBAC): {err.message}",
        )
    if err.status == 422:
        errors = [
            FieldErrorPublic(
                field=str(c.get("field") or "spec"),
                location=["body", *str(c.get("field") or "spec").split(".")],
                message=str(c.get("message") or err.message),
                type=str(c.get("reason") or "FieldValueInvalid"),
            )
            for c in err.causes
        ]
        return ApiProblem(
            422, f"The Kubernetes API refused the {kind}: {err.message}", errors=errors
        )
    if err.status == 429:
        return ApiProblem(
            429,
            f"The Kubernetes API is busy; retry after {err.retry_after or retry_after} s.",
            headers=unavailable_headers,
        )
    if err.status == 410:
        return ApiProblem(
            410, f"{err.message}. The list changed too much: start again without `continue`."
        )
    if err.status == 400:
        return ApiProblem(400, f"The Kubernetes API refused the request: {err.message}")
    if err.status == 0 or err.status == 401 or err.status >= 500:
        if err.status == 401:
            cause = "cannot authenticate (check the API's kubeconfig or ServiceAccount)"
        elif err.status == 0:
            cause = f"is unavailable ({err.message})"
        else:
            # A server error's text may carry internal addresses (webhooks, etcd): not shown.
            cause = f"is unavailable (HTTP {err.status})"
        return ApiProblem(
            503,
            f"Could not {action} {what} {where}: the Kubernetes API {cause}. Retry after "
            f"{unavailable_headers['Retry-After']} s; a submission retried with the same "
            "Idempotency-Key is never duplicated.",
            headers=unavailable_headers,
        )
    return ApiProblem(502, f"Unexpected answer from the Kubernetes API (HTTP {err.status}).")


def error_responses(
    *status_codes: int, resource: ResourceKind = TRAININGJOB
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the given error codes, all with the ErrorPublic model."""
    return {
        code: {
            "model": ErrorPublic,
            "description": _DESCRIPTIONS.get(code, "Error.").format(kind=resource.kind),
        }
        for code in status_codes
    }
