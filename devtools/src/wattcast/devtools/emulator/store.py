"""The emulator's state and semantics, independent of HTTP: a synchronous object store.

Everything the API server does to an object between request and etcd lives here: metadata
(uid, resourceVersion from one global counter, creationTimestamp, generation), create with
``generateName``, update with resourceVersion preconditions, the status subresource's
separation of spec and status, patches, CRD schema validation, finalizers and
deletionTimestamp, namespace and CRD termination, ownerReference garbage collection
(Background, Foreground, Orphan), and the change feed that watches read.

Cost per request does not grow with history or with objects stored: objects are indexed by
(group, plural) -> namespace -> name, owners by uid, and the change feed is a bounded deque
(older watch resourceVersions get 410 Gone). Stored objects are never mutated in place: every
write builds a new dict, so responses and watch events may share them without copying.

Not thread-safe: the server calls it from one event loop, which serialises all writes.
"""

from __future__ import annotations

import base64
import collections
import copy
import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from wattcast.devtools.emulator import errors
from wattcast.devtools.emulator.patching import (
    MalformedPatchError,
    PatchError,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from wattcast.devtools.emulator.resources import ResourceType, builtin_types, types_from_crd
from wattcast.devtools.emulator.selectors import FieldSelector, LabelSelector
from wattcast.devtools.emulator.validation import (
    OMIT,
    CRDSchemaError,
    ErrorType,
    FieldError,
    validate_annotations,
    validate_labels,
    validate_object_name,
)

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

Obj = dict[str, Any]
StorageKey = tuple[str, str]

# Metadata a client may not change by writing the object (the server owns these).
_SERVER_OWNED_META = (
    "uid",
    "creationTimestamp",
    "resourceVersion",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
)
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver's names.SimpleNameGenerator
FOREGROUND = "foregroundDeletion"
_UNDELETABLE_NAMESPACES = {"default", "kube-system", "kube-public"}
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"


def now_rfc3339(clock: Callable[[], float]) -> str:
    return dt.datetime.fromtimestamp(clock(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Event:
    """One change in the feed: what watches replay and stream."""

    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    key: StorageKey
    obj: Obj
    old: Obj | None = None


@dataclass
class Watcher:
    """A live watch's filter and mailbox (``deliver`` is called for every change)."""

    key: StorageKey
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    rtype: ResourceType
    deliver: Callable[[str, Obj], None]
    close: Callable[[], None] | None = None  # ends the stream (its resource stopped being served)

    def matches(self, obj: Mapping[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(meta.get("labels")) and self.fields.matches(
            obj, self.rtype.field_getters
        )

    def translate(self, event: Event) -> tuple[str, Obj] | None:
        """Selector-aware event type: leaving the selection is DELETED, entering is ADDED."""
        now, before = self.matches(event.obj), self.matches(event.old)
        if event.type == "ADDED":
            return ("ADDED", event.obj) if now else None
        if event.type == "DELETED":
            return ("DELETED", event.obj) if now else None
        if now and before:
            return ("MODIFIED", event.obj)
        if now:
            return ("ADDED", event.obj)
        if before:
            return ("DELETED", event.obj)
        return None


@dataclass
class DeleteOptions:
    propagation: str | None = None  # Background, Foreground, Orphan
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False


@dataclass
class ListResult:
    items: list[Obj]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


@dataclass
class _Registry:
    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    by_crd: dict[str, list[ResourceType]] = field(default_factory=dict)


class Store:
    """All objects, resource types and the change feed of one emulated cluster."""

    def __init__(
        self,
        *,
        history_size: int = 10_000,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self._clock = clock or time.time
        self._rv = 0
        self._registry = _Registry()
        self._objects: dict[StorageKey, dict[str, dict[str, Obj]]] = {}
        self._by_uid: dict[str, tuple[StorageKey, str, str]] = {}
        self._dependents: dict[str, set[tuple[StorageKey, str, str]]] = {}
        self._history: collections.deque[Event] = collections.deque(maxlen=history_size)
        self._compacted_rv = 0
        self._watchers: dict[StorageKey, set[int]] = {}
        self._watcher_objs: dict[int, Watcher] = {}
        self._next_watcher = 0
        for rtype in builtin_types():
            self._register(rtype)

    # -- registry --------------------------------------------------------------------------

    def _register(self, rtype: ResourceType) -> None:
        self._registry.types[(rtype.group, rtype.version, rtype.plural)] = rtype
        self._objects.setdefault(rtype.storage_key, {})

    def resource_types(self) -> list[ResourceType]:
        return list(self._registry.types.values())

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._registry.types.get((group, version, plural))

    def group_versions(self) -> dict[str, list[str]]:
        """Served groups (core excluded) and their versions, storage version first."""
        out: dict[str, list[str]] = {}
        for rtype in self._registry.types.values():
            if not rtype.group:
                continue
            versions = out.setdefault(rtype.group, [])
            if rtype.version not in versions:
                if rtype.version == rtype.storage_version:
                    versions.insert(0, rtype.version)
                else:
                    versions.append(rtype.version)
        return out

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def compacted_resource_version(self) -> int:
        return self._compacted_rv

    def object_count(self) -> int:
        return len(self._by_uid)

    # -- reads -------------------------------------------------------------------------------

    def _bucket(self, rtype: ResourceType, namespace: str | None) -> dict[str, Obj]:
        return self._objects[rtype.storage_key].get(namespace or "", {})

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._bucket(rtype, namespace).get(name)
        if obj is None:
            raise errors.not_found(rtype.group, rtype.plural, name)
        return obj

    def find(self, rtype: ResourceType, namespace: str | None, name: str) -> Obj | None:
        return self._bucket(rtype, namespace).get(name)

    def _iter(self, rtype: ResourceType, namespace: str | None) -> Iterator[Obj]:
        buckets = self._objects[rtype.storage_key]
        if namespace is not None or not rtype.namespaced:
            yield from buckets.get(namespace or "", {}).values()
            return
        for bucket in buckets.values():
            yield from bucket.values()

    def select(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> list[Obj]:
        fields.check_supported(rtype.field_getters)
        name = fields.single_name()
        if name is not None and (namespace is not None or not rtype.namespaced):
            found = self.find(rtype, namespace, name)
            candidates: list[Obj] = [found] if found is not None else []
        else:
            candidates = list(self._iter(rtype, namespace))
        out = [
            o
            for o in candidates
            if labels.matches(o["metadata"].get("labels"))
            and fields.matches(o, rtype.field_getters)
        ]
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def list_objects(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        items = self.select(rtype, namespace, labels, fields)
        rv = str(self._rv)
        if continue_token:
            try:
                raw = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                after = (str(raw["start"][0]), str(raw["start"][1]))
            except (ValueError, KeyError, TypeError, IndexError):
                raise errors.bad_request("continue key is not valid") from None
            items = [
                o
                for o in items
                if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after
            ]
        if limit > 0 and len(items) > limit:
            last = items[limit - 1]["metadata"]
            token = base64.urlsafe_b64encode(
                json.dumps(
                    {"rv": self._rv, "start": [last.get("namespace", ""), last["name"]]}
                ).encode()
            ).decode()
            return ListResult(items[:limit], rv, token, len(items) - limit)
        return ListResult(items, rv)

    # -- the change feed ---------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, kind: str, key: StorageKey, obj: Obj, old: Obj | None = None) -> None:
        event = Event(int(obj["metadata"]["resourceVersion"]), kind, key, obj, old)
        if len(self._history) == self._history.maxlen and self._history:
            self._compacted_rv = self._history[0].rv
        self._history.append(event)
        for wid in list(self._watchers.get(key, ())):
            watcher = self._watcher_objs.get(wid)
            if watcher is None:
                continue
            out = watcher.translate(event)
            if out is not None:
                watcher.deliver(*out)

    def events_since(self, key: StorageKey, rv: int) -> list[Event]:
        """Retained changes after ``rv``; raises 410 Gone when ``rv`` is older than the window."""
        if rv < self._compacted_rv:
            raise errors.gone(f"too old resource version: {rv} ({self._compacted_rv + 1})")
        return [e for e in self._history if e.rv > rv and e.key == key]

    def add_watcher(self, watcher: Watcher) -> int:
        self._next_watcher += 1
        wid = self._next_watcher
        self._watcher_objs[wid] = watcher
        self._watchers.setdefault(watcher.key, set()).add(wid)
        return wid

    def remove_watcher(self, wid: int) -> None:
        watcher = self._watcher_objs.pop(wid, None)
        if watcher is not None:
            self._watchers.get(watcher.key, set()).discard(wid)

    # -- writes: create ----------------------------------------------------------------------

    def _check_namespace(self, rtype: ResourceType, namespace: str | None, name: str) -> None:
        if not rtype.namespaced:
            return
        ns_type = self._ns_type()
        ns = self.find(ns_type, None, namespace or "")
        if ns is None:
            raise errors.not_found("", "namespaces", namespace or "")
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rtype.group,
                rtype.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    def _ns_type(self) -> ResourceType:
        rtype = self.lookup("", "v1", "namespaces")
        assert rtype is not None
        return rtype

    def create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        body: Any,
        *,
        dry_run: bool = False,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_kind(rtype, body)
        obj = copy.deepcopy(body)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        body_ns = meta.get("namespace")
        if rtype.namespaced:
            if body_ns and namespace and body_ns != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = namespace or body_ns
        else:
            meta.pop("namespace", None)
        name = meta.get("name")
        if not name and meta.get("generateName"):
            name = self._generate_name(rtype, meta.get("namespace"), str(meta["generateName"]))
            meta["name"] = name
        self._validate_name(rtype, obj)
        self._check_namespace(rtype, meta.get("namespace"), str(meta["name"]))
        if self.find(rtype, meta.get("namespace"), meta["name"]) is not None:
            raise errors.already_exists(rtype.group, rtype.plural, meta["name"])
        for key in _SERVER_OWNED_META:
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339(self._clock)
        if rtype.has_generation:
            meta["generation"] = 1
        obj["apiVersion"] = rtype.api_version
        obj["kind"] = rtype.kind
        self._prepare_builtin_create(rtype, obj)
        if rtype.status_subresource and rtype.custom:
            obj.pop("status", None)  # status is written through /status only
        obj = self._validate(rtype, obj, None, field_validation, warnings)
        if rtype.kind == "CustomResourceDefinition":
            self._crd_types(obj)  # 422 before anything is stored
        if dry_run:
            return obj
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self._store(rtype, obj)
        self._emit("ADDED", rtype.storage_key, obj)
        if rtype.kind == "CustomResourceDefinition":
            self._install_crd(obj)
        return obj

    def _generate_name(self, rtype: ResourceType, namespace: str | None, prefix: str) -> str:
        base = prefix[: 63 - 5]
        for _ in range(100):
            name = base + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
            if self.find(rtype, namespace, name) is None:
                return name
        raise errors.already_exists(rtype.group, rtype.plural, prefix)

    def _check_kind(self, rtype: ResourceType, body: Mapping[str, Any]) -> None:
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind and kind != rtype.kind:
            raise errors.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
            )
        if api_version and api_version != rtype.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rtype.api_version})"
            )

    def _validate_name(self, rtype: ResourceType, obj: Obj) -> None:
        name = obj["metadata"].get("name")
        if not name:
            raise errors.field_invalid(
                rtype.kind,
                rtype.group,
                "",
                [
                    FieldError(
                        ErrorType.REQUIRED,
                        "metadata.name",
                        OMIT,
                        "name or generateName is required",
                    )
                ],
            )
        if rtype.kind == "Namespace":
            label_errs = []
            if len(name) > 63 or not _is_dns_label(name):
                label_errs.append(
                    FieldError(
                        ErrorType.INVALID,
                        "metadata.name",
                        name,
                        "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                        "characters or '-', and must start and end with an alphanumeric "
                        "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                    )
                )
            if label_errs:
                raise errors.field_invalid(rtype.kind, rtype.group, name, label_errs)
        elif not rtype.custom:
            name_errs = validate_object_name(name)
            if name_errs:
                raise errors.field_invalid(rtype.kind, rtype.group, name, name_errs)

    def _prepare_builtin_create(self, rtype: ResourceType, obj: Obj) -> None:
        """The defaults and status resets built-in strategies apply on create."""
        if rtype.kind == "Namespace":
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
            labels = obj["metadata"].setdefault("labels", {})
            labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif rtype.kind == "Secret":
            data = dict(obj.get("data") or {})
            for k, v in (obj.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
            obj.setdefault("type", "Opaque")
        elif rtype.kind == "Pod":
            obj["status"] = {"phase": "Pending"}
        elif rtype.kind == "Job":
            self._default_job(obj)
        elif rtype.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}
        elif rtype.kind == "CustomResourceDefinition":
            obj["status"] = {}

    @staticmethod
    def _default_job(obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        uid = obj["metadata"]["uid"]
        name = obj["metadata"]["name"]
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
            labels = template_meta.setdefault("labels", {})
            labels.update(
                {
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                }
            )
        obj["status"] = {}

    def _validate(
        self,
        rtype: ResourceType,
        obj: Obj,
        old: Obj | None,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Obj:
        """Schema validation for custom resources (pruned + defaulted result), 422 otherwise.

        ``field_validation`` is the request's ``fieldValidation``: unknown fields (those
        pruning drops) are a 400 under ``Strict``, warnings under ``Warn``, silent otherwise.
        """
        custom = rtype.custom and rtype.schema is not None
        # The CRD validator checks labels and annotations itself.
        meta_errors = self._metadata_errors(obj, old, check_labels=not custom)
        if rtype.custom and rtype.schema is not None:
            result = rtype.schema.validate(obj, old)
            unknown = [f'unknown field "{path}"' for path in result.unknown_fields]
            if unknown and field_validation == "Strict":
                raise errors.bad_request(
                    f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                    f"{rtype.kind}: strict decoding error: {', '.join(unknown)}"
                )
            if unknown and field_validation == "Warn" and warnings is not None:
                warnings.extend(unknown)
            all_errors = meta_errors + result.errors
            if all_errors:
                raise errors.field_invalid(
                    rtype.kind, rtype.group, obj["metadata"].get("name", ""), all_errors
                )
            validated = result.object
            validated["apiVersion"] = obj["apiVersion"]
            return validated
        if meta_errors:
            raise errors.field_invalid(
                rtype.kind, rtype.group, obj["metadata"].get("name", ""), meta_errors
            )
        return obj

    @staticmethod
    def _metadata_errors(obj: Obj, old: Obj | None, *, check_labels: bool) -> list[FieldError]:
        meta = obj["metadata"]
        out: list[FieldError] = []
        for key in ("labels", "annotations"):
            value = meta.get(key)
            if value is not None and (
                not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
            ):
                out.append(
                    FieldError(
                        ErrorType.INVALID, f"metadata.{key}", OMIT, "must be a map of strings"
                    )
                )
            elif check_labels and key == "labels" and value:
                out.extend(validate_labels(value))
            elif check_labels and value:
                out.extend(validate_annotations(value))
        finalizers = meta.get("finalizers")
        if finalizers is not None and not isinstance(finalizers, list):
            out.append(FieldError(ErrorType.INVALID, "metadata.finalizers", OMIT, "must be a list"))
        if old is not None and old["metadata"].get("deletionTimestamp"):
            before = set(old["metadata"].get("finalizers") or [])
            added = [f for f in (finalizers or []) if f not in before]
            if added:
                quoted = ", ".join(json.dumps(f) for f in added)
                out.append(
                    FieldError(
                        ErrorType.FORBIDDEN,
                        "metadata.finalizers",
                        OMIT,
                        "no new finalizers can be added if the object is being deleted, found "
                        f"new finalizers []string{{{quoted}}}",
                    )
                )
        for ref in meta.get("ownerReferences") or []:
            if not isinstance(ref, dict) or not ref.get("uid") or not ref.get("name"):
                out.append(
                    FieldError(
                        ErrorType.INVALID,
                        "metadata.ownerReferences",
                        OMIT,
                        "uid and name must not be empty",
                    )
                )
        return out

    def _store(self, rtype: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or ""
        self._objects[rtype.storage_key].setdefault(ns, {})[meta["name"]] = obj
        self._by_uid[meta["uid"]] = (rtype.storage_key, ns, meta["name"])
        self._index_owners(rtype.storage_key, ns, meta["name"], None, obj)

    def _index_owners(
        self, key: StorageKey, ns: str, name: str, old: Obj | None, new: Obj | None
    ) -> None:
        ident = (key, ns, name)
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            for ref in obj["metadata"].get("ownerReferences") or []:
                uid = ref.get("uid") if isinstance(ref, dict) else None
                if not uid:
                    continue
                if add:
                    self._dependents.setdefault(uid, set()).add(ident)
                else:
                    deps = self._dependents.get(uid)
                    if deps is not None:
                        deps.discard(ident)
                        if not deps:
                            del self._dependents[uid]

    # -- writes: update and patch -------------------------------------------------------------

    def update(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        self._check_kind(rtype, body)
        old = self.get(rtype, namespace, name)
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        rv = meta.get("resourceVersion")
        if not rv and rtype.custom:
            raise errors.field_invalid(
                rtype.kind,
                rtype.group,
                name,
                [
                    FieldError(
                        ErrorType.INVALID,
                        "metadata.resourceVersion",
                        "0x0",
                        "must be specified for an update",
                    )
                ],
            )
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype.group, rtype.plural, name)
        return self._write(
            rtype, old, copy.deepcopy(body), subresource, dry_run, field_validation, warnings
        )

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Obj:
        accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
        if not rtype.custom:
            accepted.insert(2, STRATEGIC_PATCH)
        if content_type not in accepted or content_type == APPLY_PATCH:
            # Server-side apply is not emulated; strategic merge is for built-in kinds only.
            raise errors.unsupported_media_type(content_type, accepted)
        old = self.get(rtype, namespace, name)
        try:
            if content_type == JSON_PATCH:
                patched = json_patch(old, patch)
            elif content_type == MERGE_PATCH:
                patched = merge_patch(old, patch)
            else:
                patched = strategic_merge_patch(old, patch)
        except PatchError as exc:
            raise errors.unprocessable(str(exc)) from None
        except MalformedPatchError as exc:
            raise errors.bad_request(str(exc)) from None
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        meta = patched.get("metadata")
        if not isinstance(meta, dict):
            raise errors.bad_request("the patch removed metadata")
        if meta.get("name") != name:
            raise errors.bad_request("metadata.name cannot be changed by a patch")
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype.group, rtype.plural, name)
        return self._write(rtype, old, patched, subresource, dry_run, field_validation, warnings)

    def _write(
        self,
        rtype: ResourceType,
        old: Obj,
        body: Obj,
        subresource: str | None,
        dry_run: bool,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Obj:
        new = self._merge_for_update(rtype, old, body, subresource)
        new = self._validate(rtype, new, old, field_validation, warnings)
        if rtype.kind == "CustomResourceDefinition" and subresource is None:
            self._crd_types(new)
        if subresource is None and not rtype.custom:
            immutable = _immutable_field_errors(rtype.kind, old, new)
            if immutable:
                raise errors.field_invalid(
                    rtype.kind, rtype.group, new["metadata"]["name"], immutable
                )
        if rtype.has_generation and _spec_changed(rtype, old, new):
            new["metadata"]["generation"] = int(old["metadata"].get("generation") or 0) + 1
        if new == old:
            return old  # a no-op write changes nothing, not even the resourceVersion
        if dry_run:
            return new
        return self._commit_update(rtype, old, new)

    def _merge_for_update(
        self, rtype: ResourceType, old: Obj, body: Obj, subresource: str | None
    ) -> Obj:
        if subresource == "status":
            # The status subresource writes status only: everything else comes from old.
            new = copy.deepcopy(old)
            if "status" in body:
                new["status"] = body["status"]
            else:
                new.pop("status", None)
            return new
        new = body
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        old_meta = old["metadata"]
        for key in (*_SERVER_OWNED_META, "name", "namespace"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        new["apiVersion"] = rtype.api_version
        new["kind"] = rtype.kind
        if rtype.status_subresource:
            # The main endpoint ignores status changes (when a status subresource exists).
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if rtype.kind == "Secret":
            data = dict(new.get("data") or {})
            for k, v in (new.pop("stringData", None) or {}).items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            new["data"] = data
        if rtype.kind == "Namespace":
            new["spec"] = copy.deepcopy(old.get("spec") or {})
        return new

    def _commit_update(self, rtype: ResourceType, old: Obj, new: Obj) -> Obj:
        meta = new["metadata"]
        new["metadata"]["resourceVersion"] = self._next_rv()
        key = rtype.storage_key
        ns = meta.get("namespace") or ""
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            # The last finalizer is gone from an object being deleted: it goes now.
            self._remove(rtype, old, final=new)
            return new
        self._objects[key].setdefault(ns, {})[meta["name"]] = new
        self._index_owners(key, ns, meta["name"], old, new)
        self._emit("MODIFIED", key, new, old)
        if rtype.kind == "CustomResourceDefinition":
            self._install_crd(new)
        return new

    # -- writes: delete ----------------------------------------------------------------------

    def delete(
        self, rtype: ResourceType, namespace: str | None, name: str, options: DeleteOptions
    ) -> Obj:
        old = self.get(rtype, namespace, name)
        meta = old["metadata"]
        if options.precondition_uid and options.precondition_uid != meta["uid"]:
            raise errors.conflict(rtype.group, rtype.plural, name)
        if options.precondition_rv and options.precondition_rv != meta["resourceVersion"]:
            raise errors.conflict(rtype.group, rtype.plural, name)
        if rtype.kind == "Namespace" and name in _UNDELETABLE_NAMESPACES:
            raise errors.forbidden("", "namespaces", name, "this namespace may not be deleted")
        if options.dry_run:
            return old
        policy = options.propagation or self._default_policy(rtype)
        if policy == "Orphan":
            self._orphan_dependents(meta["uid"])
        finalizers = list(meta.get("finalizers") or [])
        if (
            policy == "Foreground"
            and self._dependents.get(meta["uid"])
            and FOREGROUND not in finalizers
        ):
            finalizers.append(FOREGROUND)
        if rtype.kind in ("Namespace", "CustomResourceDefinition"):
            return self._terminate_container(rtype, old, finalizers)
        if finalizers:
            marked = self._mark_deleting(rtype, old, finalizers)
            if policy == "Foreground":
                self._delete_dependents(meta["uid"])
                return self.find(rtype, namespace, name) or marked
            return marked
        return self._remove(rtype, old)

    @staticmethod
    def _default_policy(rtype: ResourceType) -> str:
        # batch/v1 Jobs orphan their pods unless told otherwise (jobStrategy's default).
        return "Orphan" if rtype.kind == "Job" else "Background"

    def _mark_deleting(self, rtype: ResourceType, old: Obj, finalizers: list[str]) -> Obj:
        if old["metadata"].get("deletionTimestamp") and finalizers == (
            old["metadata"].get("finalizers") or []
        ):
            return old
        new = copy.deepcopy(old)
        meta = new["metadata"]
        meta["finalizers"] = finalizers
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = now_rfc3339(self._clock)
            meta["deletionGracePeriodSeconds"] = 0
            if rtype.has_generation:
                meta["generation"] = int(meta.get("generation") or 0) + 1
        meta["resourceVersion"] = self._next_rv()
        key = rtype.storage_key
        ns = meta.get("namespace") or ""
        self._objects[key][ns][meta["name"]] = new
        self._emit("MODIFIED", key, new, old)
        return new

    def _remove(self, rtype: ResourceType, old: Obj, final: Obj | None = None) -> Obj:
        obj = final if final is not None else copy.deepcopy(old)
        meta = obj["metadata"]
        if final is None:
            meta["resourceVersion"] = self._next_rv()
        key = rtype.storage_key
        ns = meta.get("namespace") or ""
        bucket = self._objects[key].get(ns, {})
        if bucket.get(meta["name"]) is None:
            return obj  # already removed by a cascade
        del bucket[meta["name"]]
        if not bucket and ns:
            self._objects[key].pop(ns, None)
        self._by_uid.pop(meta["uid"], None)
        self._index_owners(key, ns, meta["name"], old, None)
        self._emit("DELETED", key, obj, old)
        self._after_removal(rtype, obj)
        return obj

    def _after_removal(self, rtype: ResourceType, obj: Obj) -> None:
        meta = obj["metadata"]
        uid = meta["uid"]
        # Garbage collection: dependents whose every owner is gone are deleted (background).
        self._collect_dependents(uid)
        # Foreground deletions waiting for this dependent may finish now.
        for ref in meta.get("ownerReferences") or []:
            owner_uid = ref.get("uid") if isinstance(ref, dict) else None
            if owner_uid and not self._dependents.get(owner_uid):
                self._release_foreground(owner_uid)
        if rtype.kind == "CustomResourceDefinition":
            self._uninstall_crd(obj)
        ns = meta.get("namespace")
        if ns:
            self._maybe_finish_namespace(ns)
        if rtype.custom:
            self._maybe_finish_crd(rtype)

    def _collect_dependents(self, uid: str) -> None:
        for key, ns, name in sorted(self._dependents.pop(uid, set())):
            rtype = self._any_type(key)
            if rtype is None:
                continue
            dep = self._bucket(rtype, ns or None).get(name)
            if dep is None:
                continue
            refs = [r for r in dep["metadata"].get("ownerReferences") or [] if isinstance(r, dict)]
            alive = [r for r in refs if r.get("uid") != uid and r.get("uid") in self._by_uid]
            if alive:
                new = copy.deepcopy(dep)
                new["metadata"]["ownerReferences"] = alive
                self._commit_update(rtype, dep, new)
                continue
            finalizers = list(dep["metadata"].get("finalizers") or [])
            if finalizers:
                self._mark_deleting(rtype, dep, finalizers)
            else:
                self._remove(rtype, dep)

    def _delete_dependents(self, uid: str) -> None:
        for key, ns, name in sorted(self._dependents.get(uid, set())):
            rtype = self._any_type(key)
            dep = self._bucket(rtype, ns or None).get(name) if rtype else None
            if rtype is None or dep is None:
                continue
            finalizers = list(dep["metadata"].get("finalizers") or [])
            if finalizers:
                self._mark_deleting(rtype, dep, finalizers)
            else:
                self._remove(rtype, dep)
        if not self._dependents.get(uid):
            self._release_foreground(uid)

    def _release_foreground(self, uid: str) -> None:
        where = self._by_uid.get(uid)
        if where is None:
            return
        key, ns, name = where
        rtype = self._any_type(key)
        owner = self._bucket(rtype, ns or None).get(name) if rtype else None
        if rtype is None or owner is None:
            return
        finalizers = owner["metadata"].get("finalizers") or []
        if FOREGROUND in finalizers and owner["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(owner)
            new["metadata"]["finalizers"] = [f for f in finalizers if f != FOREGROUND]
            self._commit_update(rtype, owner, new)

    def _orphan_dependents(self, uid: str) -> None:
        for key, ns, name in sorted(self._dependents.pop(uid, set())):
            rtype = self._any_type(key)
            dep = self._bucket(rtype, ns or None).get(name) if rtype else None
            if rtype is None or dep is None:
                continue
            new = copy.deepcopy(dep)
            refs = new["metadata"].get("ownerReferences") or []
            new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
            if not new["metadata"]["ownerReferences"]:
                del new["metadata"]["ownerReferences"]
            self._commit_update(rtype, dep, new)

    def _any_type(self, key: StorageKey) -> ResourceType | None:
        for rtype in self._registry.types.values():
            if rtype.storage_key == key:
                return rtype
        return None

    # -- namespaces and CRDs: terminate, empty, then go ----------------------------------------

    def _terminate_container(self, rtype: ResourceType, old: Obj, finalizers: list[str]) -> Obj:
        new = copy.deepcopy(old)
        meta = new["metadata"]
        if meta.get("deletionTimestamp"):
            return old
        meta["deletionTimestamp"] = now_rfc3339(self._clock)
        meta["deletionGracePeriodSeconds"] = 0
        if rtype.kind == "Namespace":
            new["status"] = {"phase": "Terminating"}
        else:
            meta["finalizers"] = (
                [*finalizers, CRD_CLEANUP] if CRD_CLEANUP not in finalizers else finalizers
            )
            if rtype.has_generation:
                meta["generation"] = int(meta.get("generation") or 0) + 1
            conditions = list((new.get("status") or {}).get("conditions") or [])
            conditions.append(
                {
                    "type": "Terminating",
                    "status": "True",
                    "reason": "InstanceDeletionInProgress",
                    "message": "CustomResource deletion is in progress",
                    "lastTransitionTime": now_rfc3339(self._clock),
                }
            )
            new.setdefault("status", {})["conditions"] = conditions
        meta["resourceVersion"] = self._next_rv()
        key = rtype.storage_key
        self._objects[key][""][meta["name"]] = new
        self._emit("MODIFIED", key, new, old)
        if rtype.kind == "Namespace":
            self._empty_namespace(meta["name"])
            self._maybe_finish_namespace(meta["name"])
        else:
            for served in self._registry.by_crd.get(meta["name"], []):
                self._empty_resource(served)
                break
            self._maybe_finish_crd_named(meta["name"])
        return self.find(rtype, None, meta["name"]) or new

    def _empty_namespace(self, namespace: str) -> None:
        seen: set[StorageKey] = set()
        for rtype in list(self._registry.types.values()):
            if not rtype.namespaced or rtype.storage_key in seen:
                continue
            seen.add(rtype.storage_key)
            for obj in list(self._objects.get(rtype.storage_key, {}).get(namespace, {}).values()):
                self._delete_quietly(rtype, obj)

    def _empty_resource(self, rtype: ResourceType) -> None:
        for bucket in list(self._objects.get(rtype.storage_key, {}).values()):
            for obj in list(bucket.values()):
                self._delete_quietly(rtype, obj)

    def _delete_quietly(self, rtype: ResourceType, obj: Obj) -> None:
        current = self.find(rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        if current is None:
            return
        finalizers = list(current["metadata"].get("finalizers") or [])
        if finalizers:
            self._mark_deleting(rtype, current, finalizers)
        else:
            self._remove(rtype, current)

    def _maybe_finish_namespace(self, namespace: str) -> None:
        ns_type = self._ns_type()
        ns = self.find(ns_type, None, namespace)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        for buckets in self._objects.values():
            if buckets.get(namespace):
                return
        self._remove(ns_type, ns)

    def _maybe_finish_crd(self, rtype: ResourceType) -> None:
        crd_name = f"{rtype.plural}.{rtype.group}"
        self._maybe_finish_crd_named(crd_name)

    def _maybe_finish_crd_named(self, crd_name: str) -> None:
        crd_type = self.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_type is not None
        crd = self.find(crd_type, None, crd_name)
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
        served = self._registry.by_crd.get(crd_name, [])
        if served and any(self._objects.get(served[0].storage_key, {}).values()):
            return
        finalizers = [f for f in crd["metadata"].get("finalizers") or [] if f != CRD_CLEANUP]
        new = copy.deepcopy(crd)
        new["metadata"]["finalizers"] = finalizers
        if finalizers:
            self._commit_update(crd_type, crd, new)
        else:
            self._remove(crd_type, crd, final=_with_rv(new, self._next_rv()))

    # -- CRDs ----------------------------------------------------------------------------------

    def _crd_types(self, crd: Obj) -> list[ResourceType]:
        try:
            return types_from_crd(crd)
        except CRDSchemaError as exc:
            raise errors.field_invalid(
                "CustomResourceDefinition", "apiextensions.k8s.io", exc.name, exc.errors
            ) from None

    def _install_crd(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        types = self._crd_types(crd)
        for old in self._registry.by_crd.pop(name, []):
            self._registry.types.pop((old.group, old.version, old.plural), None)
        for rtype in types:
            self._register(rtype)
        self._registry.by_crd[name] = types
        if not crd.get("status", {}).get("acceptedNames"):
            self._set_crd_established(crd)

    def _set_crd_established(self, crd: Obj) -> None:
        crd_type = self.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_type is not None
        spec = crd["spec"]
        names = dict(spec["names"])
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", f"{names.get('kind')}List")
        stamp = now_rfc3339(self._clock)
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        new = copy.deepcopy(crd)
        new["status"] = {
            "acceptedNames": names,
            "storedVersions": storage,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": stamp,
                },
            ],
        }
        new["metadata"]["resourceVersion"] = self._next_rv()
        self._objects[crd_type.storage_key][""][crd["metadata"]["name"]] = new
        self._emit("MODIFIED", crd_type.storage_key, new, crd)

    def _uninstall_crd(self, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        for old in self._registry.by_crd.pop(name, []):
            self._registry.types.pop((old.group, old.version, old.plural), None)
            self._objects.pop(old.storage_key, None)
            for wid in list(self._watchers.pop(old.storage_key, ())):
                watcher = self._watcher_objs.pop(wid, None)
                if watcher is not None and watcher.close is not None:
                    watcher.close()

    def install_crd(self, crd: Obj) -> Obj:
        """Create (or replace the spec of) a CRD: what ``kubectl apply -f crd.yaml`` does."""
        crd_type = self.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert crd_type is not None
        existing = self.find(crd_type, None, str((crd.get("metadata") or {}).get("name", "")))
        if existing is None:
            return self.create(crd_type, None, crd)
        body = copy.deepcopy(existing)
        body["spec"] = copy.deepcopy(crd.get("spec"))
        return self.update(crd_type, None, existing["metadata"]["name"], body)


def _with_rv(obj: Obj, rv: str) -> Obj:
    obj["metadata"]["resourceVersion"] = rv
    return obj


def _is_dns_label(name: str) -> bool:
    import re

    return re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) is not None


# Pod template fields a Job allows to change while it is suspended and has never started.
_JOB_TEMPLATE_MUTABLE_WHEN_SUSPENDED = ("nodeSelector", "tolerations", "schedulingGates")
_POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
    "set to 1 if it was previously negative)"
)


def _immutable_field_errors(kind: str, old: Obj, new: Obj) -> list[FieldError]:
    """The immutability rules of the built-in kinds a controller is likely to get wrong."""
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    out: list[FieldError] = []
    if kind == "Job":
        for key in ("selector", "completionMode", "podFailurePolicy", "manualSelector"):
            if old_spec.get(key) != new_spec.get(key):
                out.append(FieldError(ErrorType.INVALID, f"spec.{key}", OMIT, "field is immutable"))
        old_t, new_t = old_spec.get("template") or {}, new_spec.get("template") or {}
        if old_t != new_t:
            suspended_never_started = bool(new_spec.get("suspend")) and not (
                old.get("status") or {}
            ).get("startTime")
            if suspended_never_started:
                # Labels, annotations and a few scheduling fields may change then.
                a = {
                    k: v
                    for k, v in (old_t.get("spec") or {}).items()
                    if k not in _JOB_TEMPLATE_MUTABLE_WHEN_SUSPENDED
                }
                b = {
                    k: v
                    for k, v in (new_t.get("spec") or {}).items()
                    if k not in _JOB_TEMPLATE_MUTABLE_WHEN_SUSPENDED
                }
                if a != b:
                    out.append(
                        FieldError(ErrorType.INVALID, "spec.template", OMIT, "field is immutable")
                    )
            else:
                out.append(
                    FieldError(ErrorType.INVALID, "spec.template", OMIT, "field is immutable")
                )
    elif kind == "Pod" and old_spec != new_spec:

        def comparable(spec: Mapping[str, Any]) -> dict[str, Any]:
            out_spec = {
                k: v
                for k, v in spec.items()
                if k
                not in (
                    "activeDeadlineSeconds",
                    "tolerations",
                    "terminationGracePeriodSeconds",
                    "schedulingGates",
                )
            }
            for key in ("containers", "initContainers"):
                out_spec[key] = [
                    {k: v for k, v in c.items() if k != "image"}
                    for c in spec.get(key) or []
                    if isinstance(c, dict)
                ]
            return out_spec

        if comparable(old_spec) != comparable(new_spec):
            out.append(FieldError(ErrorType.FORBIDDEN, "spec", OMIT, _POD_UPDATE_FORBIDDEN))
    return out


def _spec_changed(rtype: ResourceType, old: Obj, new: Obj) -> bool:
    """Generation moves on changes outside metadata (and outside status when it's separate)."""
    ignored = {"metadata", "status"} if rtype.status_subresource else {"metadata"}
    a = {k: v for k, v in old.items() if k not in ignored}
    b = {k: v for k, v in new.items() if k not in ignored}
    return a != b
