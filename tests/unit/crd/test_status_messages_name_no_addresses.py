"""`wattcast.crd.messages.redacted`: text from elsewhere loses its internal addresses before it
becomes a status message, and a person's words (times, meter ids, counts) are left alone."""

from __future__ import annotations

import pytest

from wattcast.crd.messages import redacted

HOSTILE = {
    "url": "failed: http://10.0.0.5:8086/api/v2/query?org=x",
    "url-with-credentials": "see https://admin:s3cret@influx.corp.example:8086/ping",
    "url-in-quotes": 'Post "https://kueue-webhook.kueue-system.svc:443/validate": EOF',
    "urllib3-pool": "HTTPConnectionPool(host='influx.internal', port=8086): Max retries",
    "urllib3-pool-ip": 'HTTPSConnectionPool(host="10.96.0.1", port=443): Read timed out',
    "dial-tcp": "dial tcp 10.0.0.7:9443: connect: connection refused",
    "ipv4": "no route to 192.168.17.4",
    "ipv6": "dial tcp [fd00:10:96::1]:443: i/o timeout",
    "dotted-host-port": "lookup failed for kubernetes.default.svc:443 now",
    "unix-url": "socket unix:///var/run/docker.sock refused",
}
LEAKS = [
    "10.0.0.5",
    "8086",
    "s3cret",
    "influx",
    "kueue-webhook",
    "10.96.0.1",
    "10.0.0.7",
    "192.168.17.4",
    "fd00",
    "kubernetes.default",
    "docker.sock",
]


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_internal_addresses_are_redacted(text: str) -> None:
    out = redacted(text)
    assert "[address]" in out
    for leak in LEAKS:
        assert leak not in out, (leak, out)


@pytest.mark.parametrize(
    "text",
    [
        "end (2023-12-31T23:59:59Z) must be after start (2023-01-01T00:00:00+01:00)",
        "Querying InfluxDB for meter site:7",
        "Epoch 3/30 (loss 0.1234, val_loss 0.2345)",
        "InfluxDB source 'default' is unreachable",
        "only 9.5 days of data after cleaning; at least 14 are needed",
        "Model saved at models/electricity/meter1/versions/20240101T000000Z/model.keras",
        "version 1.2.3 of keras",
        "Model trained and saved at models/electricity/plant.a:3/versions/v1/model.keras",
        "meter building.7:12 has too little data",
    ],
)
def test_a_persons_words_are_left_alone(text: str) -> None:
    assert redacted(text) == text
