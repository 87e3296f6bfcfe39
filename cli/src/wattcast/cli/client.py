"""The REST API as the CLI sees it: a small httpx client with one error type.

The CLI talks HTTP only (it never imports the API package), so it works against any wattcast
API: the local stack, a port-forward, or an ingress. Every failure becomes a `CliError` with
the message a person can act on and the exit code the CLI ends with (see `ExitCode`).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import IntEnum
from typing import Any
from urllib.parse import quote

import httpx
from httpx_sse import SSEError, connect_sse

# The collections of the /v1 resource API.
TRAININGJOBS = "trainingjobs"
FLEETTRAININGJOBS = "fleettrainingjobs"


class ExitCode(IntEnum):
    """The CLI's exit codes (docs/cli.md)."""

    OK = 0
    JOB_FAILED = 1  # the TrainingJob (or fleet) failed or was cancelled (REVOKED)
    USAGE = 2  # bad options or arguments (typer's own code)
    REFUSED = 3  # the API refused the request (4xx): not found, invalid, conflict, auth
    UNAVAILABLE = 4  # the API could not be reached, or failed (5xx), or timed out
    NOT_FINISHED = 5  # `result` of a running job, or `--wait` gave up at its timeout
    INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    """A failure to report on stderr, ending the CLI with `code`."""

    def __init__(self, message: str, code: ExitCode, *, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.body = body


def _detail(response: httpx.Response) -> tuple[str, Any]:
    """The API's own error text (ErrorPublic: detail, code, errors[])."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase, None
    if not isinstance(body, dict):
        return str(body)[:500], body
    detail = str(body.get("detail") or response.reason_phrase)
    errors = body.get("errors") or []
    lines = [detail]
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and error.get("field"):
            lines.append(f"  {error['field']}: {error.get('message', '')}")
    return "\n".join(lines), body


class ApiClient:
    """Calls of the wattcast REST API (/v1 resource API, health)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        namespace: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise CliError(
                f"--api-url must start with http:// or https:// (got {base_url!r})", ExitCode.USAGE
            )
        headers = {"Accept": "application/json", "User-Agent": "wattcast-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _params(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (extra or {}).items() if v is not None}
        if self.namespace:
            params["namespace"] = self.namespace
        return params

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request; the decoded JSON body, or None for 204. Raises CliError."""
        try:
            response = self._http.request(
                method, path, json=json, params=self._params(params), headers=headers
            )
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        if response.status_code == 204:
            return None
        self._raise_for_status(response)
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"the API at {self.base_url} answered {response.status_code} with a body that "
                "is not JSON: is --api-url the wattcast API?",
                ExitCode.UNAVAILABLE,
            ) from None

    def _unreachable(self, error: httpx.HTTPError) -> CliError:
        if isinstance(error, httpx.TimeoutException):
            return CliError(
                f"the API at {self.base_url} did not answer in time", ExitCode.UNAVAILABLE
            )
        return CliError(
            f"cannot reach the API at {self.base_url}: {error}. Is it running? "
            "Set --api-url or WATTCAST_API_URL.",
            ExitCode.UNAVAILABLE,
        )

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        detail, body = _detail(response)
        hint = ""
        if response.status_code == 401:
            hint = " (set --token or WATTCAST_API_TOKEN)"
        code = ExitCode.UNAVAILABLE if response.status_code >= 500 else ExitCode.REFUSED
        if response.status_code == 429:
            code = ExitCode.UNAVAILABLE
        raise CliError(f"{response.status_code}: {detail}{hint}", code, body=body)

    # --- the resource API -------------------------------------------------------------------
    # Every call takes the collection: "trainingjobs" (the default) or "fleettrainingjobs";
    # both speak the same requests, errors and streams.

    def create(
        self,
        body: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        collection: str = TRAININGJOBS,
    ) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.request("POST", f"/v1/{collection}", json=body, headers=headers)

    def get(self, name: str, *, collection: str = TRAININGJOBS) -> Any:
        return self.request("GET", f"/v1/{collection}/{name}")

    def events(self, name: str, *, collection: str = TRAININGJOBS) -> Iterator[tuple[str, Any]]:
        """The server-sent events of one object as (event, decoded data), until the API
        ends the stream (it finished, was cancelled or deleted). Raises CliError.

        A stream quiet for longer than the request timeout counts as lost (the API sends a
        keep-alive comment every WATTCAST_API_SSE_PING_SECONDS, 15 by default).
        """
        try:
            with connect_sse(
                self._http, "GET", f"/v1/{collection}/{name}/events", params=self._params()
            ) as source:
                if source.response.status_code >= 400:
                    source.response.read()
                    self._raise_for_status(source.response)
                for event in source.iter_sse():
                    yield event.event, event.json()
        except SSEError:
            raise CliError(
                f"the API at {self.base_url} answered the event stream of {name} with "
                "something else: is --api-url the wattcast API?",
                ExitCode.UNAVAILABLE,
            ) from None
        except ValueError:
            raise CliError(
                f"the event stream of {name} carried data that is not JSON",
                ExitCode.UNAVAILABLE,
            ) from None
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None

    def list(self, *, collection: str = TRAININGJOBS, **filters: Any) -> Any:
        return self.request("GET", f"/v1/{collection}", params=filters)

    def act(self, name: str, action: str, *, collection: str = TRAININGJOBS) -> Any:
        return self.request("POST", f"/v1/{collection}/{name}/{action}")

    def delete(self, name: str, *, collection: str = TRAININGJOBS) -> None:
        self.request("DELETE", f"/v1/{collection}/{name}")

    def forecast(self, meter_type: str, meter_id: str, **params: Any) -> Any:
        return self.request(
            "GET",
            f"/v1/forecasts/{quote(meter_type, safe='')}/{quote(meter_id, safe='')}",
            params=params,
        )
