"""Kubernetes resource quantities (`500m`, `2`, `4Gi`, `1e3`): the pattern and their value.

The contract allows only non-negative quantities (a negative request or limit is never
meaningful, and the API server would refuse the Job, long after the TrainingJob was accepted),
and compares requests with limits (`requests <= limits`, as Pod validation demands). The CRD
states the same with CEL's Kubernetes quantity library (`quantity(x).compareTo(...)`), so the
two agree.
"""

from __future__ import annotations

import re
from decimal import Decimal

_DECIMAL = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
# Kubernetes' pattern allows a fractional exponent (`1e1.5`) that its parser then refuses;
# here the exponent is a whole number of at most two digits (1e99 is already absurd).
_SUFFIX = r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?[0-9]{1,2}))?"
# Kubernetes' resource.Quantity without a sign: no negative (and no `+`) quantities.
QUANTITY_PATTERN = rf"^{_DECIMAL}{_SUFFIX}$"
QUANTITY_MAX_LENGTH = 32

_PARTS = re.compile(rf"^(?P<number>{_DECIMAL})(?P<suffix>{_SUFFIX})$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_EXPONENT = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12}
_DECIMAL_EXPONENT |= {"P": 15, "E": 18}


def quantity_value(text: str) -> Decimal:
    """The quantity's value in base units (cores, bytes); ValueError if it is not one."""
    match = _PARTS.fullmatch(text)
    if match is None or len(text) > QUANTITY_MAX_LENGTH:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (such as 500m, 2 or 4Gi)")
    number, suffix = Decimal(match["number"]), match["suffix"]
    if suffix in _BINARY:
        return number * Decimal(2 ** _BINARY[suffix])
    exponent = _DECIMAL_EXPONENT[suffix] if suffix in _DECIMAL_EXPONENT else int(suffix[1:])
    return number.scaleb(exponent)
