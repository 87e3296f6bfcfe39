"""`wattcast train --wait` and `status --watch` follow the real API's event stream (no
polling), fall back to plain reads while no stream can be had, and end on what the API says:
finished, deleted, or the wait's own timeout."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from api_support import TOKEN, ServedApp
from cli_support import FAILED, RANGE, SUCCESS_RESULT, run, submit
from testkit import TrainingJobs

from wattcast.api.core.config import Settings

BARRIER_TIMEOUT = 20.0


def wait_until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def streamed(served: ServedApp, name: str) -> Callable[[], bool]:
    return lambda: ("GET", f"/v1/trainingjobs/{name}/events") in served.requests


def reads_of(served: ServedApp, name: str) -> int:
    return served.requests.count(("GET", f"/v1/trainingjobs/{name}"))


def act(served: ServedApp, method: str, path: str) -> int:
    """A request of someone else (the CLI runner is not thread-safe: one CLI at a time)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.request(method, served.url + path, headers=headers, timeout=30).status_code


@contextmanager
def meanwhile(steps: Callable[[], None]) -> Iterator[list[BaseException]]:
    """Run `steps` (the operator's and the trainer's part) while the CLI waits."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            steps()
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        thread.join(BARRIER_TIMEOUT)
    assert not errors, errors


def test_train_wait_follows_the_stream_to_success(
    served_api: ServedApp, cluster: TrainingJobs
) -> None:
    def steps() -> None:
        wait_until("the job", lambda: cluster.names() == ["tj-3"])
        wait_until("the CLI's stream", streamed(served_api, "tj-3"))
        training = {"epoch": 1, "epochs": 2, "etaSeconds": 3}
        cluster.patch_status("tj-3", {"phase": "Training", "progress": 50, "training": training})
        done = {"phase": "Succeeded", "progress": 100, "result": SUCCESS_RESULT}
        cluster.patch_status("tj-3", done)

    with meanwhile(steps):
        code, out, err = run(served_api.url, "train", "meter1", *RANGE, "--name", "tj-3", "--wait")
    assert code == 0, (out, err)
    assert "models/electricity/meter1/versions/20260101T000000Z/model.keras" in out
    assert "naiveDaily" in out
    assert reads_of(served_api, "tj-3") == 0, "it followed the stream; it did not poll"


def test_wait_exits_1_on_failure_with_the_apis_reason(
    served_api: ServedApp, cluster: TrainingJobs
) -> None:
    submit(served_api.url, "tj-4")

    def steps() -> None:
        wait_until("the CLI's stream", streamed(served_api, "tj-4"))
        cluster.patch_status("tj-4", FAILED)

    with meanwhile(steps):
        code, out, _ = run(served_api.url, "-o", "json", "status", "tj-4", "--watch")
    assert code == 1
    shown = json.loads(out)
    assert (shown["taskStatus"], shown["finished"]) == ("FAILURE", True)
    assert shown["failureReason"] == "DataInsufficient"


def test_a_cancel_while_waiting_ends_with_revoked(
    served_api: ServedApp, cluster: TrainingJobs
) -> None:
    submit(served_api.url, "tj-c")

    def steps() -> None:
        wait_until("the CLI's stream", streamed(served_api, "tj-c"))
        assert act(served_api, "POST", "/v1/trainingjobs/tj-c/cancel") == 200

    with meanwhile(steps):
        code, out, _ = run(served_api.url, "status", "tj-c", "--watch")
    assert code == 1
    assert "REVOKED" in out and "Cancelled" in out


def test_a_job_deleted_while_waiting_ends_the_wait_with_exit_3(
    served_api: ServedApp, cluster: TrainingJobs
) -> None:
    submit(served_api.url, "tj-d")

    def steps() -> None:
        wait_until("the CLI's stream", streamed(served_api, "tj-d"))
        assert act(served_api, "DELETE", "/v1/trainingjobs/tj-d") == 204

    with meanwhile(steps):
        code, _, err = run(served_api.url, "status", "tj-d", "--watch", "--wait-timeout", "30")
    assert code == 3
    assert "deleted" in err


def test_watching_an_unknown_job_is_refused_at_once(api_url: str) -> None:
    code, _, err = run(api_url, "status", "nope", "--watch")
    assert code == 3
    assert "404" in err


def test_the_wait_gives_up_at_its_timeout_while_the_stream_is_quiet(
    api_url: str, cluster: TrainingJobs
) -> None:
    submit(api_url, "tj-5")
    cluster.patch_status("tj-5", {"phase": "Training", "progress": 40})
    started = time.monotonic()
    code, _, err = run(api_url, "status", "tj-5", "--watch", "--wait-timeout", "1")
    assert code == 5
    assert "has not finished after 1s (status TRAINING)" in err
    assert time.monotonic() - started < BARRIER_TIMEOUT


@pytest.fixture
def one_stream_only(api_settings: Settings) -> Settings:
    """The API at its stream limit as soon as one stream is open (WATTCAST_API_MAX_STREAMS)."""
    return api_settings.model_copy(update={"api_max_streams": 1})


def test_without_a_stream_to_be_had_the_wait_reads_the_job_instead(
    one_stream_only: Settings, cluster: TrainingJobs
) -> None:
    served = ServedApp(one_stream_only).start()
    try:
        submit(served.url, "tj-p")
        submit(served.url, "tj-other")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with (
            httpx.Client(base_url=served.url, headers=headers, timeout=30) as other,
            other.stream("GET", "/v1/trainingjobs/tj-other/events") as held,
        ):
            assert held.status_code == 200  # the one stream there is

            def steps() -> None:
                wait_until("a plain read", lambda: reads_of(served, "tj-p") >= 1)
                cluster.patch_status("tj-p", {"phase": "Succeeded", "progress": 100})

            with meanwhile(steps):
                code, out, err = run(served.url, "status", "tj-p", "--watch", "--interval", "0.1")
        assert code == 0, (out, err)
        assert reads_of(served, "tj-p") >= 2
    finally:
        served.stop()
