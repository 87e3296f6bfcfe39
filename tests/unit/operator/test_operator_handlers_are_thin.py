"""The operator's shape: `handlers.py` holds Kopf handlers and nothing else, and every module
of the package stays small enough to read at once (at most 400 lines)."""

from __future__ import annotations

import inspect
from pathlib import Path

import kopf

from wattcast.operator import handlers

MAX_LINES = 400
PACKAGE = Path(handlers.__file__).parent


def registered_functions() -> set[object]:
    """Every function registered with Kopf's default registry, unwrapped from decorators."""
    registry = kopf.get_default_registry()
    found: set[object] = set()
    for kind in (
        registry._activities,
        registry._indexing,
        registry._watching,
        registry._spawning,
        registry._changing,
    ):
        for handler in kind.get_all_handlers():
            found.add(inspect.unwrap(handler.fn))
    return found


def test_every_function_in_handlers_is_a_kopf_handler() -> None:
    defined = [
        fn
        for _, fn in inspect.getmembers(handlers, inspect.isfunction)
        if fn.__module__ == handlers.__name__
    ]
    assert len(defined) >= 8
    registered = registered_functions()
    loose = [fn.__name__ for fn in defined if inspect.unwrap(fn) not in registered]
    assert loose == [], f"not Kopf handlers, belong in a module of their own: {loose}"


def test_no_operator_module_is_over_400_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert len(sizes) > 10
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert too_long == {}
