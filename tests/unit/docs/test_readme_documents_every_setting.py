"""The README's Configuration section names every setting of every component, and nothing
that is not one: the settings models are the source, the README must follow them."""

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from wattcast.api.core.config import Settings as ApiSettings
from wattcast.api.dashboard.settings import DashboardSettings
from wattcast.forecasting.settings import ForecastSettings, InfluxEnvSettings
from wattcast.operator.settings import OperatorSettings
from wattcast.trainer.settings import TrainerSettings

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
CONFIGURATION = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
# The CLI reads these through typer's envvar options (cli/src/wattcast/cli/app.py).
CLI_VARIABLES = {"WATTCAST_API_URL", "WATTCAST_API_TOKEN"}
MODELS = [
    OperatorSettings,
    TrainerSettings,
    InfluxEnvSettings,
    ApiSettings,
    DashboardSettings,
    ForecastSettings,
]


def variables(model: type[BaseSettings]) -> set[str]:
    prefix = model.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in model.model_fields}


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_setting_is_documented(model: type[BaseSettings]) -> None:
    missing = {v for v in variables(model) if f"`{v}`" not in CONFIGURATION}
    assert not missing, f"README's Configuration section lacks {sorted(missing)}"


def test_the_readme_names_no_setting_that_does_not_exist() -> None:
    known = set().union(*(variables(m) for m in MODELS)) | CLI_VARIABLES
    named = set(re.findall(r"`((?:WATTCAST|INFLUX)_[A-Z0-9_]+)`", CONFIGURATION))
    assert named - known == set()
