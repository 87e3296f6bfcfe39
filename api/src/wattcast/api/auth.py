"""Bearer-token authentication: required by default, compared in constant time.

Tokens come from WATTCAST_API_TOKENS and WATTCAST_API_TOKENS_FILE, read once at start-up.
Only WATTCAST_API_AUTH_DISABLED=true turns checking off, and that is logged as a warning.
/healthz, /readyz and /metrics never ask for a token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wattcast.api.errors import ApiProblem

logger = logging.getLogger(__name__)

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A token from WATTCAST_API_TOKENS or WATTCAST_API_TOKENS_FILE.",
)


class NoTokensConfiguredError(RuntimeError):
    """Authentication is required but no token is configured: refuse to start."""


class Authenticator:
    """Checks presented bearer tokens against the configured ones."""

    def __init__(self, tokens: Sequence[bytes], *, disabled: bool) -> None:
        self.disabled = disabled
        self._tokens = [t for t in tokens if t]
        if disabled:
            logger.warning(
                "Authentication is DISABLED (WATTCAST_API_AUTH_DISABLED=true): anyone who can "
                "reach this API can create, cancel and delete TrainingJobs."
            )
        elif not self._tokens:
            raise NoTokensConfiguredError(
                "No API token configured: set WATTCAST_API_TOKENS (comma-separated) or "
                "WATTCAST_API_TOKENS_FILE, or set WATTCAST_API_AUTH_DISABLED=true on purpose."
            )

    def accepts(self, presented: str | None) -> bool:
        """True when `presented` equals a configured token.

        Every configured token is compared, whatever matched, so the time taken does not
        reveal which token (or how much of one) was right.
        """
        if self.disabled:
            return True
        if not presented:
            return False
        candidate = presented.encode("utf-8")
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(candidate, token)
        return matched


async def require_token(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme),  # noqa: B008
) -> None:
    """Dependency of every protected route: 401 unless a configured bearer token came."""
    authenticator: Authenticator = request.app.state.authenticator
    presented = credentials.credentials if credentials is not None else None
    if not authenticator.accepts(presented):
        raise ApiProblem(
            401,
            "Missing or wrong bearer token: send `Authorization: Bearer <token>` with a token "
            "from WATTCAST_API_TOKENS."
            if presented is None
            else "The bearer token is not accepted.",
            headers={"WWW-Authenticate": "Bearer"},
        )
