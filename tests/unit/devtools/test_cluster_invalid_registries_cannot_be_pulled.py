"""The process kubelet runs every image from the host, except images of a registry under the
reserved `.invalid` domain: those wait in ErrImagePull, as an image no registry has would."""

from __future__ import annotations

import pytest

from wattcast.devtools.cluster.podworker import unpullable


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("registry.invalid/wattcast-trainer:0", True),
        ("registry.invalid:5000/trainer@sha256:abc", True),
        ("invalid/trainer:1", False),  # a Docker Hub user named "invalid"
        ("wattcast-trainer:double", False),
        ("ghcr.io/wattcast/wattcast-trainer:0.1.0", False),
        ("trainer.invalid", False),  # no registry part: an image name
    ],
    ids=["invalid-registry", "with-port-and-digest", "hub-user", "table-image", "ghcr", "bare"],
)
def test_only_images_of_invalid_registries_are_unpullable(image: str, expected: bool) -> None:
    assert unpullable(image) is expected
