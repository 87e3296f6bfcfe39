"""API errors as kube-apiserver answers them: an HTTP code and a ``Status`` body.

Message texts follow apimachinery's ``k8s.io/apimachinery/pkg/api/errors`` constructors
(``NewNotFound``, ``NewAlreadyExists``, ``NewConflict``, ``NewInvalid``, ...), because clients
(kubectl, Kopf, the kubernetes client) and our own code match on ``reason`` and show ``message``.
"""

from __future__ import annotations

from typing import Any

from wattcast.devtools.emulator.validation import FieldError, invalid_status


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


class ApiError(Exception):
    """An error response: raise it from any handler; the server turns it into JSON."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidApiError(ApiError):
    """422 with the field causes (``NewInvalid``)."""

    def __init__(self, kind: str, group: str, name: str, errors: list[FieldError]):
        body = invalid_status(kind, group, name, errors)
        super().__init__(422, "Invalid", body["message"], body["details"])
        self.errors = errors


def _details(group: str, plural: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(group, plural)} "{name}" not found',
        _details(group, plural, name),
    )


def resource_not_found() -> ApiError:
    """An unknown path (no such group, version or resource)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(group, plural)} "{name}" already exists',
        _details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(group, plural)} "{name}": the object has '
        "been modified; please apply your changes to the latest version and try again",
        _details(group, plural, name),
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message, {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(group: str, plural: str, name: str, message: str) -> ApiError:
    return ApiError(
        403,
        "Forbidden",
        f'{_qualified(group, plural)} "{name}" is forbidden: {message}',
        _details(group, plural, name),
    )


def method_not_allowed(verb: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({verb})",
        {},
    )


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return (
        ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: "
            f"{', '.join(accepted)}",
            {},
        )
        if content_type
        else ApiError(415, "UnsupportedMediaType", "missing content type", {})
    )


def unprocessable(message: str) -> ApiError:
    """422 for a patch that cannot be applied (``NewGenericServerResponse(422, ...)``)."""
    return ApiError(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]},
    )


def field_invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    return InvalidApiError(kind, group, name, errors)
