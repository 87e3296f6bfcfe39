"""Kubernetes' CEL quantity library, for the rules the emulator evaluates with cel-python.

Kubernetes (1.29+) gives CEL rules `quantity(string)`, `isQuantity(string)` and, on a quantity,
`compareTo`, `isLessThan`, `isGreaterThan` and `sign`; the TrainingJob CRD uses them to keep a
request at most its limit. Values come from the contract's own parser
(wattcast.crd.quantities), which reads the same syntax as Kubernetes' resource.Quantity.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from celpy import celtypes

from wattcast.crd.quantities import quantity_value


class Quantity:
    """An opaque CEL value: the quantity's exact value in base units."""

    def __init__(self, value: Decimal) -> None:
        self.value = value


def _quantity(text: Any) -> Quantity:
    return Quantity(quantity_value(str(text)))


def _is_quantity(text: Any) -> celtypes.BoolType:
    try:
        quantity_value(str(text))
    except ValueError:
        return celtypes.BoolType(False)
    return celtypes.BoolType(True)


def _compare(a: Quantity, b: Quantity) -> int:
    return (a.value > b.value) - (a.value < b.value)


FUNCTIONS: dict[str, Any] = {
    "quantity": _quantity,
    "isQuantity": _is_quantity,
    "compareTo": lambda a, b: celtypes.IntType(_compare(a, b)),
    "isLessThan": lambda a, b: celtypes.BoolType(_compare(a, b) < 0),
    "isGreaterThan": lambda a, b: celtypes.BoolType(_compare(a, b) > 0),
    "sign": lambda a: celtypes.IntType((a.value > 0) - (a.value < 0)),
}
