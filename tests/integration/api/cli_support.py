"""Helpers of the CLI's tests against the real API (imported by the test modules): how the
CLI is run, and the statuses the operator and the trainer would write."""

from __future__ import annotations

from api_support import TOKEN
from typer.testing import CliRunner

from wattcast.cli.main import app

RANGE = ["--start", "2024-01-01T00:00:00Z", "--end", "2024-02-01T00:00:00Z"]
SUCCESS_RESULT = {
    "modelPath": "electricity/meter1/versions/20260101T000000Z/model.keras",
    "dataPoints": 744,
    "trainingCompleted": "2026-01-01T00:01:00Z",
    "metrics": {
        "holdout": {"start": "2024-01-25T00:00:00Z", "end": "2024-02-01T00:00:00Z", "points": 168},
        "model": {"mae": 0.12, "rmse": 0.2, "smape": 9.5},
        "baselines": {
            "naiveDaily": {"mae": 0.2, "rmse": 0.3, "smape": 14.0},
            "naiveWeekly": {"mae": 0.25, "rmse": 0.35, "smape": 16.0},
        },
    },
}
FAILED = {
    "phase": "Failed",
    "progress": 10,
    "message": "DataInsufficient: too little data",
    "conditions": [
        {
            "type": "Failed",
            "status": "True",
            "reason": "DataInsufficient",
            "message": "Only 3.5 days of data after cleaning; at least 14 are needed.",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ],
}


def run(url: str, *args: str, token: str | None = TOKEN) -> tuple[int, str, str]:
    env = {"WATTCAST_API_URL": url, "WATTCAST_API_TOKEN": token or ""}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def submit(url: str, name: str, *extra: str) -> None:
    code, out, err = run(url, "-o", "json", "train", "meter1", *RANGE, "--name", name, *extra)
    assert code == 0, (out, err)
