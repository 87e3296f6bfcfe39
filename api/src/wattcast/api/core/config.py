"""The API's settings: `WATTCAST_` environment variables read by pydantic-settings.

Nothing here is built at import time: `get_settings()` builds the settings on first use and
caches them, and tests replace it through FastAPI's `dependency_overrides`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from wattcast.crd.constants import DEFAULT_SOURCE_NAME
from wattcast.crd.influx_sources import SourcesConfigError, load_sources_file
from wattcast.crd.names import is_dns_label


def _split_commas(value: Any) -> Any:
    """`a, b,,c` -> ["a", "b", "c"]; lists pass through (a .env file or a test may give one)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Settings of `wattcast-api` (environment variables with the prefix WATTCAST_)."""

    model_config = SettingsConfigDict(env_prefix="WATTCAST_", extra="ignore")

    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens that may call the API, comma-separated.",
    )
    api_tokens_file: Path | None = Field(
        default=None,
        description="A file with one bearer token per line (a mounted Secret); read at start-up.",
    )
    api_auth_disabled: bool = Field(
        default=False,
        description="true turns authentication off (a warning is logged). Never in production.",
    )
    api_namespace: str = Field(
        default="default",
        description="Namespace used when a request names none.",
    )
    api_namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Namespaces requests may name, comma-separated; the default one is always "
        "included. Empty: only the default namespace.",
    )
    api_max_body_bytes: int = Field(
        default=65536,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest request body accepted, in bytes (a TrainingJob spec is < 4 KiB).",
    )
    influx_sources_file: Path | None = Field(
        default=None,
        description="The operator's YAML list of named InfluxDB sources; the API reads only the "
        "names, to refuse an unknown source with 422.",
    )
    influx_url: str | None = Field(
        default=None,
        description="The operator's default source URL (the API only notes that it exists).",
    )
    log_format: str | None = Field(
        default=None,
        pattern=r"^(json|plain)$",
        description="json or plain; unset: plain on a terminal, json otherwise.",
    )
    api_kubeconfig: Path | None = Field(
        default=None,
        description="Kubeconfig file to use; unset: in-cluster configuration in a pod, else "
        "KUBECONFIG or ~/.kube/config.",
    )
    api_kube_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Read timeout of one Kubernetes API call, in seconds.",
    )
    api_kube_concurrency: int = Field(
        default=32,
        ge=1,
        le=512,
        description="Kubernetes API calls in flight at once (worker threads and pooled "
        "connections); more requests wait their turn.",
    )
    api_max_streams: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Server-sent-event streams open at once; each holds one Kubernetes watch "
        "and one thread. Beyond this a stream request gets 503.",
    )
    api_watch_timeout_seconds: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="Length of one Kubernetes watch round; a stream starts the next round "
        "from the last resourceVersion, so nothing is missed.",
    )
    api_sse_ping_seconds: int = Field(
        default=15,
        ge=1,
        le=300,
        description="Keep-alive comment interval of event streams (proxies close idle ones).",
    )
    api_retry_after_seconds: int = Field(
        default=5,
        ge=1,
        le=600,
        description="Retry-After sent with 503 when the Kubernetes API is unavailable.",
    )

    @field_validator("api_tokens", "api_namespaces", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return _split_commas(value)

    @field_validator("api_namespace")
    @classmethod
    def _namespace_is_a_dns_label(cls, value: str) -> str:
        if not is_dns_label(value):
            raise ValueError(f"{value!r} is not a valid namespace name (a DNS-1123 label)")
        return value

    @field_validator("api_namespaces")
    @classmethod
    def _namespaces_are_dns_labels(cls, value: list[str]) -> list[str]:
        for name in value:
            if not is_dns_label(name):
                raise ValueError(f"{name!r} is not a valid namespace name (a DNS-1123 label)")
        return value

    @model_validator(mode="after")
    def _tokens_file_is_readable(self) -> Settings:
        if self.api_tokens_file is not None and not self.api_tokens_file.is_file():
            raise ValueError(f"WATTCAST_API_TOKENS_FILE {self.api_tokens_file} is not a file")
        return self

    @property
    def allowed_namespaces(self) -> list[str]:
        """The allow-list, the default namespace first."""
        rest = [ns for ns in self.api_namespaces if ns != self.api_namespace]
        return [self.api_namespace, *dict.fromkeys(rest)]

    def tokens(self) -> list[bytes]:
        """Every accepted token (environment and file), as bytes for hmac.compare_digest."""
        values = [t.get_secret_value() for t in self.api_tokens]
        if self.api_tokens_file is not None:
            lines = self.api_tokens_file.read_text(encoding="utf-8").splitlines()
            values += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        return [v.encode("utf-8") for v in dict.fromkeys(values)]

    def source_names(self) -> frozenset[str]:
        """Names of the InfluxDB sources the operator knows (the default one always).

        The file is read by the contract's loader, as the operator reads it, so the API and the
        operator agree on which names exist.
        """
        names = {DEFAULT_SOURCE_NAME}
        if self.influx_sources_file is None:
            return frozenset(names)
        try:
            sources = load_sources_file(self.influx_sources_file)
        except SourcesConfigError as exc:
            raise ValueError(f"WATTCAST_INFLUX_SOURCES_FILE: {exc}") from exc
        return frozenset(names | {source.name for source in sources})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment once."""
    return Settings()
