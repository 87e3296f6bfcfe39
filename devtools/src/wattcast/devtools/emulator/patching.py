"""The three patch formats kube-apiserver accepts (server-side apply is not emulated).

- JSON merge patch, RFC 7386 (``application/merge-patch+json``): objects merge recursively,
  ``null`` deletes, anything else (lists included) replaces.
- JSON patch, RFC 6902 (``application/json-patch+json``): add, remove, replace, move, copy,
  test; any failing operation (a failed ``test`` included) fails the whole patch, which the
  server answers with 422.
- Strategic merge patch (``application/strategic-merge-patch+json``), built-in kinds only:
  like a merge patch, except that lists Kubernetes declares with ``patchStrategy: merge`` merge
  by their ``patchMergeKey`` (containers and env by ``name``, volumeMounts by ``mountPath``,
  ...), ``metadata.finalizers`` merges as a set, and the ``$patch``,
  ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>`` and ``$retainKeys``
  directives are honoured. The merge keys are looked up by field name (not by full type path),
  which is right for every kind this emulator serves.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """The patch cannot be applied (the server answers 422)."""


class MalformedPatchError(ValueError):
    """The patch is not a patch of its declared type (the server answers 400)."""


# RFC 7386 -----------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch; returns a new value (inputs untouched)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# RFC 6902 -----------------------------------------------------------------------------


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise MalformedPatchError(f"invalid JSON pointer: {pointer!r}")
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise MalformedPatchError(f"invalid JSON pointer: {pointer!r}")
    return [_unescape(t) for t in pointer[1:].split("/")]


def _resolve_parent(doc: Any, tokens: list[str], path: str) -> tuple[Any, str]:
    node = doc
    for tok in tokens[:-1]:
        if isinstance(node, dict):
            if tok not in node:
                raise PatchError(f"doc is missing path: {path}: missing value")
            node = node[tok]
        elif isinstance(node, list):
            idx = _index(tok, len(node), path, allow_end=False)
            node = node[idx]
        else:
            raise PatchError(f"doc is missing path: {path}: missing value")
    return node, tokens[-1]


def _index(tok: str, length: int, path: str, *, allow_end: bool) -> int:
    if tok == "-" and allow_end:
        return length
    if not tok.isdigit() or (len(tok) > 1 and tok.startswith("0")):
        raise PatchError(f"invalid array index {tok!r} in path {path}")
    idx = int(tok)
    if idx > length or (idx == length and not allow_end):
        raise PatchError(f"index out of bounds in path {path}")
    return idx


def _get(doc: Any, path: str) -> Any:
    node = doc
    for tok in _split_pointer(path):
        if isinstance(node, dict) and tok in node:
            node = node[tok]
        elif isinstance(node, list):
            node = node[_index(tok, len(node), path, allow_end=False)]
        else:
            raise PatchError(f"doc is missing path: {path}: missing value")
    return node


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _split_pointer(path)
    if not tokens:
        return value
    parent, last = _resolve_parent(doc, tokens, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(last, len(parent), path, allow_end=True), value)
    else:
        raise PatchError(f"doc is missing path: {path}: missing value")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _split_pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent, last = _resolve_parent(doc, tokens, path)
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"unable to remove nonexistent key: {last}: missing value")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(last, len(parent), path, allow_end=False)]
    else:
        raise PatchError(f"doc is missing path: {path}: missing value")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch; returns a new value (inputs untouched)."""
    if not isinstance(operations, list):
        raise MalformedPatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise MalformedPatchError(f"invalid JSON patch operation: {op!r}")
        kind, path, source = op["op"], op.get("path"), op.get("from")
        if not isinstance(path, str) or (kind in ("move", "copy") and not isinstance(source, str)):
            raise MalformedPatchError(f"invalid JSON patch operation: {op!r}")
        source = str(source)
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # must exist
            doc = _remove(doc, path) if _split_pointer(path) else doc
            doc = _add(doc, path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            value = _get(doc, source)
            doc = _remove(doc, source)
            doc = _add(doc, path, value)
        elif kind == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, source)))
        elif kind == "test":
            try:
                actual = _get(doc, path)
            except PatchError:
                raise PatchError(f"testing value {path} failed: test failed") from None
            expected = op.get("value")
            if actual != expected or isinstance(actual, bool) != isinstance(expected, bool):
                raise PatchError(f"testing value {path} failed: test failed")
        else:
            raise MalformedPatchError(f"Unexpected kind: {kind}")
    return doc


# Strategic merge ----------------------------------------------------------------------

# patchMergeKey of the list fields with patchStrategy "merge" in the built-in types we serve.
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "ownerReferences": "uid",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "secrets": "name",  # ServiceAccount.secrets
}
# Lists of scalars with patchStrategy "merge" (merged as sets).
MERGE_SCALAR_LISTS = {"finalizers"}

_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to a built-in object; returns a new value."""
    if not isinstance(patch, dict):
        raise MalformedPatchError("a strategic merge patch must be a JSON object")
    return _smp_map(copy.deepcopy(target) if isinstance(target, dict) else {}, patch)


def _smp_map(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(_SET_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(target.get(field), list) and isinstance(value, list):
                target[field] = [v for v in target[field] if v not in value]
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                target.pop(key, None)
            else:
                current = target.get(key)
                target[key] = _smp_map(current if isinstance(current, dict) else {}, value)
        elif isinstance(value, list):
            target[key] = _smp_list(key, target.get(key), value)
        else:
            target[key] = copy.deepcopy(value)
    if isinstance(retain, list):
        for key in list(target):
            if key not in retain:
                del target[key]
    return target


def _smp_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    existing = list(current) if isinstance(current, list) else []
    if field in MERGE_SCALAR_LISTS:
        out = list(existing)
        for item in patch:
            if item not in out:
                out.append(copy.deepcopy(item))
        return out
    key = MERGE_KEYS.get(field)
    if key is None:
        # No merge strategy: the list is replaced (a "$patch: replace" item is dropped).
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    out = [copy.deepcopy(i) for i in existing]
    for item in patch:
        if not isinstance(item, dict):
            raise MalformedPatchError(f"list {field} merges by {key}: items must be objects")
        if key not in item:
            raise MalformedPatchError(f"map: {item} does not contain declared merge key: {key}")
        position = next(
            (i for i, e in enumerate(out) if isinstance(e, dict) and e.get(key) == item[key]),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del out[position]
            continue
        if position is None:
            out.append(_smp_map({}, item))
        else:
            out[position] = _smp_map(out[position], item)
    return out
