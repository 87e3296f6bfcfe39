"""Waiting for a job rides out short API outages and shows the stage, epoch and ETA."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from test_cli_fake_api import job

from wattcast.cli.client import ApiClient, CliError, ExitCode
from wattcast.cli.render import bar_fields
from wattcast.cli.watching import MAX_UNAVAILABLE_POLLS, wait_for_job


def client_for(responses: Iterator[httpx.Response | Exception]) -> ApiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        item = next(responses)
        if isinstance(item, Exception):
            raise item
        return item

    return ApiClient("http://api.test", transport=httpx.MockTransport(handler))


def test_outages_while_waiting_are_retried() -> None:
    responses = iter(
        [
            httpx.Response(200, json=job("a", "TRAINING", 40)),
            httpx.ConnectError("refused"),
            httpx.Response(503, json={"detail": "down", "code": "unavailable"}),
            httpx.Response(200, json=job("a", "SUCCESS", 100)),
        ]
    )
    final = wait_for_job(client_for(responses), "a", sleep=lambda s: None)
    assert final["taskStatus"] == "SUCCESS"


def test_a_long_outage_ends_the_wait() -> None:
    def forever() -> Iterator[httpx.Response | Exception]:
        while True:
            yield httpx.ConnectError("refused")

    with pytest.raises(CliError) as caught:
        wait_for_job(client_for(forever()), "a", sleep=lambda s: None)
    assert caught.value.code is ExitCode.UNAVAILABLE
    assert MAX_UNAVAILABLE_POLLS >= 3


def test_a_deleted_job_ends_the_wait_at_once() -> None:
    responses = iter(
        [
            httpx.Response(200, json=job("a", "TRAINING", 40)),
            httpx.Response(404, json={"detail": "TrainingJob a not found", "code": "not_found"}),
        ]
    )
    with pytest.raises(CliError) as caught:
        wait_for_job(client_for(responses), "a", sleep=lambda s: None)
    assert caught.value.code is ExitCode.REFUSED


@pytest.mark.parametrize(
    ("public", "stage", "epoch", "eta"),
    [
        (job("a", "PENDING"), "pending", "", ""),
        (
            job("a", "TRAINING", 60, training={"epoch": 4, "epochs": 8, "etaSeconds": 125}),
            "training",
            "epoch 4/8",
            "ETA 2:05",
        ),
        (
            job("a", "SUCCESS", 100, training={"epoch": 8, "epochs": 8, "etaSeconds": 0}),
            "done",
            "epoch 8/8",
            "",
        ),
    ],
    ids=["pending", "training", "done"],
)
def test_bar_fields(public: dict[str, object], stage: str, epoch: str, eta: str) -> None:
    fields = bar_fields(public)  # type: ignore[arg-type]
    assert (fields["stage"], fields["epoch"], fields["eta"]) == (stage, epoch, eta)
