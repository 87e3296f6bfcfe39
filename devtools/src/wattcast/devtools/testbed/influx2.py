"""A throw-away real InfluxDB 2 server: the ``influxd`` that ``make setup`` builds.

:class:`Influx2Server` runs InfluxDB 2 OSS (built from its Go module by
``scripts/build-influxdb2.sh`` and linked as ``.work/bin/influxd2``) on a loopback port with
its own directory, the same way and with the same guards as the 1.x
:class:`~wattcast.devtools.testbed.influx.InfluxServer` (it shares its process handling), and
sets it up through the HTTP API as a user would: ``POST /api/v2/setup`` creates the first
user, the org, the bucket and an all-access (operator) token, and
``POST /api/v2/authorizations`` a read-only token for the bucket, the one the trainer gets.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import requests

from wattcast.devtools.testbed.influx import InfluxError, InfluxProcess, _check_name

__all__ = ["DEFAULT_BUCKET", "DEFAULT_ORG", "Influx2Server", "find_influxd2"]

DEFAULT_ORG = "wattcast"
#: The seed's bucket (docs/seed.md: ``INFLUX_BUCKET=energy_data``).
DEFAULT_BUCKET = "energy_data"


def _repo_root() -> Path | None:
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        if (base / "scripts" / "build-influxdb2.sh").is_file():
            return base
    return None


def find_influxd2() -> str | None:
    """Path of InfluxDB 2's ``influxd``: ``$WATTCAST_INFLUXD2``, else the repository's
    ``.work/bin/influxd2`` (``make setup``); None if neither is an executable."""
    override = os.environ.get("WATTCAST_INFLUXD2")
    if override:
        return override if os.access(override, os.X_OK) else None
    root = _repo_root()
    if root is None:
        return None
    built = root / ".work" / "bin" / "influxd2"
    return str(built) if os.access(built, os.X_OK) else None


class Influx2Server(InfluxProcess):
    """A private, set-up InfluxDB 2 on loopback; use as a context manager or start/stop.

    After :meth:`start`: :attr:`org` / :attr:`org_id`, :attr:`bucket` / :attr:`bucket_id`,
    :attr:`token` (the all-access operator token of the first user) and :attr:`read_token`
    (may only read :attr:`bucket`).
    """

    kind = "influxd 2"

    def __init__(
        self,
        *,
        binary: str | None = None,
        org: str = DEFAULT_ORG,
        bucket: str = DEFAULT_BUCKET,
        user: str = "admin",
        startup_timeout: float = 60.0,
        stop_timeout: float = 15.0,
        die_with_parent: bool = True,
        workdir: Path | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(
            binary=binary or find_influxd2(),
            startup_timeout=startup_timeout,
            stop_timeout=stop_timeout,
            die_with_parent=die_with_parent,
            workdir=workdir,
            port=port,
        )
        self.org = _check_name("org name", org)
        self.bucket = _check_name("bucket name", bucket)
        self.user = _check_name("user name", user)
        self.password = secrets.token_urlsafe(16)
        self.org_id = ""
        self.bucket_id = ""
        self.token = ""
        self.read_token = ""
        self.version = ""

    def _missing_binary_hint(self) -> str:
        return (
            "run `make setup` (scripts/build-influxdb2.sh builds it as .work/bin/influxd2) "
            "or point WATTCAST_INFLUXD2 to the binary"
        )

    def _command(self, root: Path) -> list[str]:
        assert self.binary is not None
        return [
            self.binary,
            "--bolt-path",
            str(root / "influxd.bolt"),
            "--sqlite-path",
            str(root / "influxd.sqlite"),
            "--engine-path",
            str(root / "engine"),
            "--http-bind-address",
            f"127.0.0.1:{self.port}",
            "--reporting-disabled",
            "--log-level",
            "error",
            "--ui-disabled",
            "--pprof-disabled",
            "--metrics-disabled",
            # No background task scheduler: the test bed runs no tasks.
            "--no-tasks",
        ]

    def _after_start(self) -> None:
        self.token = secrets.token_urlsafe(32)
        answer = self.api(
            "POST",
            "/api/v2/setup",
            {
                "username": self.user,
                "password": self.password,
                "org": self.org,
                "bucket": self.bucket,
                "token": self.token,
            },
            authenticate=False,
        )
        self.org_id = answer["org"]["id"]
        self.bucket_id = answer["bucket"]["id"]
        self.read_token = self.create_read_token(self.bucket_id)
        self.version = self.server_version()

    def __repr__(self) -> str:
        state = f"running on port {self.port}" if self.running else "stopped"
        return f"<Influx2Server {state}>"

    # -- the HTTP API --

    def api(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        authenticate: bool = True,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Call the HTTP API with ``token`` (default: the all-access one; none at all with
        ``authenticate=False``) and return the JSON answer; InfluxError on any HTTP error."""
        headers = {}
        chosen = token or self.token
        if authenticate and chosen:
            headers["Authorization"] = f"Token {chosen}"
        try:
            response = self._session.request(
                method,
                f"{self.url}{path}",
                json=body,
                params=params,
                headers=headers,
                timeout=30,
            )
        except requests.RequestException as error:
            raise InfluxError(f"InfluxDB 2 at {self.url} unreachable: {error}") from error
        if response.status_code >= 300:
            raise InfluxError(
                f"InfluxDB 2 {method} {path} failed with HTTP {response.status_code}: "
                f"{response.text.strip()[:500]}"
            )
        return response.json() if response.content else None

    def create_bucket(self, name: str) -> str:
        """Create a bucket (infinite retention) in the org and return its id."""
        answer = self.api(
            "POST",
            "/api/v2/buckets",
            {"orgID": self.org_id, "name": _check_name("bucket name", name), "retentionRules": []},
        )
        return str(answer["id"])

    def delete_bucket(self, bucket_id: str) -> None:
        """Delete a bucket with its data."""
        self.api("DELETE", f"/api/v2/buckets/{bucket_id}")

    def create_read_token(self, *bucket_ids: str) -> str:
        """A new token that may read the given buckets and nothing else."""
        return self._create_token(bucket_ids, ("read",), "wattcast read-only")

    def create_write_token(self, *bucket_ids: str) -> str:
        """A new token that may read and write the given buckets (a forecast writer's)."""
        return self._create_token(bucket_ids, ("read", "write"), "wattcast forecast writer")

    def _create_token(
        self, bucket_ids: tuple[str, ...], actions: tuple[str, ...], description: str
    ) -> str:
        answer = self.api(
            "POST",
            "/api/v2/authorizations",
            {
                "orgID": self.org_id,
                "description": description,
                "permissions": [
                    {
                        "action": action,
                        "resource": {"type": "buckets", "id": bucket_id, "orgID": self.org_id},
                    }
                    for bucket_id in bucket_ids
                    for action in actions
                ],
            },
        )
        return str(answer["token"])

    def query_csv(self, flux: str, *, token: str | None = None) -> str:
        """Run a Flux query over plain HTTP and return the annotated CSV (for checks)."""
        try:
            response = self._session.post(
                f"{self.url}/api/v2/query",
                params={"org": self.org},
                json={"query": flux, "type": "flux"},
                headers={
                    "Authorization": f"Token {token or self.token}",
                    "Accept": "application/csv",
                },
                timeout=60,
            )
        except requests.RequestException as error:
            raise InfluxError(f"InfluxDB 2 at {self.url} unreachable: {error}") from error
        if response.status_code != 200:
            raise InfluxError(
                f"Flux query failed with HTTP {response.status_code}: {response.text.strip()}"
            )
        return response.text
