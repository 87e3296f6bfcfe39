"""Kubernetes name and label rules, checked the same way by every component.

A TrainingJob's name becomes its Job's name and a label value on the Job and its pods, so it
must be a DNS-1123 label; so must namespaces, configured source names, queues and priority
classes. Label values are at most 63 characters of a narrower alphabet.
"""

from __future__ import annotations

import re
from typing import Final

# A DNS-1123 label: lowercase letters, digits and '-', alphanumeric at both ends.
DNS_LABEL_MAX_LENGTH: Final = 63
DNS_LABEL_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# A label value: empty, or letters, digits, '-', '_' and '.', alphanumeric at both ends.
LABEL_VALUE_MAX_LENGTH: Final = 63
LABEL_VALUE_PATTERN: Final = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"

_DNS_LABEL = re.compile(DNS_LABEL_PATTERN)
_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)


def is_dns_label(value: str) -> bool:
    """Whether `value` may name a TrainingJob, a Job or a namespace."""
    return len(value) <= DNS_LABEL_MAX_LENGTH and _DNS_LABEL.fullmatch(value) is not None


def is_label_value(value: str) -> bool:
    """Whether `value` may be a Kubernetes label value."""
    return len(value) <= LABEL_VALUE_MAX_LENGTH and _LABEL_VALUE.fullmatch(value) is not None
