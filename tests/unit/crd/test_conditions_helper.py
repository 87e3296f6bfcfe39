"""set_condition keeps a list keyed by type and moves lastTransitionTime only on a change."""

from datetime import UTC, datetime

from wattcast.crd import ConditionType, Reason, find_condition, set_condition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def test_adds_a_condition_in_camel_case_json() -> None:
    conditions = set_condition(
        None, type=ConditionType.JOB_CREATED, status=True, reason=Reason.JOB_CREATED, now=T0
    )
    assert conditions == [
        {
            "type": "JobCreated",
            "status": "True",
            "reason": "JobCreated",
            "message": "",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ]


def test_same_status_keeps_transition_time_but_updates_reason_and_message() -> None:
    first = set_condition(None, type="Running", status=True, reason="PodRunning", now=T0)
    second = set_condition(
        first, type="Running", status=True, reason="PodRunning", message="epoch 3", now=T1
    )
    assert second[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert second[0]["message"] == "epoch 3"


def test_status_change_moves_transition_time_and_keeps_order() -> None:
    conditions = set_condition(None, type="JobCreated", status=True, reason="JobCreated", now=T0)
    conditions = set_condition(conditions, type="Running", status=True, reason="PodRunning", now=T0)
    conditions = set_condition(
        conditions, type="JobCreated", status=False, reason="JobLost", now=T1
    )
    assert [c["type"] for c in conditions] == ["JobCreated", "Running"]
    lost = find_condition(conditions, "JobCreated")
    assert lost is not None
    assert lost["lastTransitionTime"] == "2026-01-02T00:00:00Z"
    assert lost["reason"] == "JobLost"


def test_input_is_not_modified() -> None:
    original = set_condition(None, type="Running", status=True, reason="PodRunning", now=T0)
    snapshot = [dict(c) for c in original]
    set_condition(original, type="Running", status=False, reason="PodFailed", now=T1)
    assert original == snapshot
    assert find_condition(original, "Complete") is None
