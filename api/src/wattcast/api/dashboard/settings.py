"""The dashboard's one setting: where the model store is, read-only (WATTCAST_MODELS_DIR).

Kept apart from the API's own settings so the dashboard can be mounted without changing them;
read on first use and cached, replaced in tests through `app.dependency_overrides`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """Settings of the dashboard (environment variables with the prefix WATTCAST_)."""

    model_config = SettingsConfigDict(env_prefix="WATTCAST_", extra="ignore")

    models_dir: Path | None = Field(
        default=None,
        description="The model store (the trainer's /models volume), mounted read-only. Unset: "
        "job pages show no plots and GET /v1/trainingjobs/{name}/model answers 404.",
    )


@lru_cache(maxsize=1)
def get_dashboard_settings() -> DashboardSettings:
    """The process's dashboard settings, read from the environment once."""
    return DashboardSettings()
