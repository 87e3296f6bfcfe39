"""The `wattcast` CLI (the installed console script) against the real API of the stack:
train --wait to SUCCESS, result, list, and the exit codes of a refusal."""

from __future__ import annotations

import json
import os
import subprocess

from e2e_support import E2E, WATTCAST, cli, tiny_range, unique


def test_train_wait_result_and_list(e2e: E2E) -> None:
    meter = unique("cli")
    e2e.load_meter(meter)
    start, end = tiny_range()
    trained = cli(
        e2e,
        "-o",
        "json",
        "train",
        meter,
        "--start",
        start,
        "--end",
        end,
        "--epochs",
        "1",
        "--lookback-hours",
        "24",
        "--holdout-days",
        "3",
        "--wait",
        "--interval",
        "0.5",
    )
    assert trained.returncode == 0, trained.stderr + e2e.stack.logs()
    job = json.loads(trained.stdout)
    assert job["taskStatus"] == "SUCCESS"
    name = job["name"]

    result = cli(e2e, "result", name)
    assert result.returncode == 0, result.stderr
    assert f"models/electricity/{meter}/versions/" in result.stdout.replace("\n", "")
    assert "naiveDaily" in result.stdout

    listed = cli(e2e, "-o", "json", "list", "--meter-id", meter)
    assert listed.returncode == 0, listed.stderr
    assert [item["name"] for item in json.loads(listed.stdout)["items"]] == [name]


def test_refusals_have_their_exit_codes(e2e: E2E) -> None:
    missing = cli(e2e, "status", unique("nope"))
    assert missing.returncode == 3
    assert "404" in missing.stderr
    start, end = tiny_range()
    invalid = cli(e2e, "train", "bad meter id", "--start", end, "--end", start)
    assert invalid.returncode == 3
    assert "422" in invalid.stderr
    unauthorized = subprocess.run(
        [str(WATTCAST), "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WATTCAST_API_URL": e2e.stack.api_url, "WATTCAST_API_TOKEN": "wrong"},
        check=False,
    )
    assert unauthorized.returncode == 3
    assert "401" in unauthorized.stderr
