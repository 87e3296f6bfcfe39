"""The resource types the emulator serves: built-in kinds and those CRDs register.

A :class:`ResourceType` carries what discovery, routing, validation, field selectors and Table
output need. Built-ins are stored generically (no schema beyond metadata checks); custom
resources carry their compiled :class:`~.validation.CustomResourceSchema` per served version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wattcast.devtools.emulator.selectors import FieldGetter, json_path_getter
from wattcast.devtools.emulator.validation import (
    OMIT,
    CRDSchemaError,
    CustomResourceSchema,
    ErrorType,
    FieldError,
)

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]


def _metadata_fields() -> dict[str, FieldGetter]:
    return {
        "metadata.name": json_path_getter(".metadata.name"),
        "metadata.namespace": json_path_getter(".metadata.namespace"),
    }


@dataclass
class ResourceType:
    """One resource (group, version, plural) as served."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    status_subresource: bool = False
    has_generation: bool = False
    custom: bool = False
    schema: CustomResourceSchema | None = None
    raw_schema: dict[str, Any] | None = None  # the CRD's openAPIV3Schema (for /openapi/v3)
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    field_getters: dict[str, FieldGetter] = field(default_factory=_metadata_fields)
    storage_version: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are stored per (group, plural), shared by every served version."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def discovery_entries(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ALL_VERBS,
            "storageVersionHash": hashlib.sha256(
                f"{self.group}/{self.version}/{self.plural}".encode()
            ).hexdigest()[:12],
        }
        if self.short_names:
            entry["shortNames"] = self.short_names
        if self.categories:
            entry["categories"] = self.categories
        entries = [entry]
        if self.status_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": SUBRESOURCE_VERBS,
                }
            )
        return entries


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short: list[str] | None = None,
    categories: list[str] | None = None,
    status: bool = False,
    generation: bool = False,
    fields: list[str] | None = None,
) -> ResourceType:
    getters = _metadata_fields()
    for path in fields or []:
        getters[path] = json_path_getter("." + path)
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short or [],
        categories=categories or [],
        status_subresource=status,
        has_generation=generation,
        field_getters=getters,
        storage_version=version,
    )


_EVENT_FIELDS = [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
]


def builtin_types() -> list[ResourceType]:
    """The built-in kinds Kopf, the kubernetes client, kubectl and our components use."""
    return [
        _builtin(
            "",
            "v1",
            "namespaces",
            "Namespace",
            namespaced=False,
            short=["ns"],
            status=True,
            fields=["status.phase"],
        ),
        _builtin("", "v1", "events", "Event", short=["ev"], fields=_EVENT_FIELDS),
        _builtin("", "v1", "secrets", "Secret", fields=["type"]),
        _builtin("", "v1", "configmaps", "ConfigMap", short=["cm"]),
        _builtin(
            "",
            "v1",
            "pods",
            "Pod",
            short=["po"],
            categories=["all"],
            status=True,
            fields=[
                "status.phase",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "status.podIP",
                "status.nominatedNodeName",
            ],
        ),
        _builtin("", "v1", "serviceaccounts", "ServiceAccount", short=["sa"]),
        _builtin(
            "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", short=["pvc"], status=True
        ),
        _builtin("", "v1", "services", "Service", short=["svc"], categories=["all"], status=True),
        _builtin(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            short=["deploy"],
            categories=["all"],
            status=True,
            generation=True,
        ),
        _builtin(
            "batch",
            "v1",
            "jobs",
            "Job",
            categories=["all"],
            status=True,
            generation=True,
            fields=["status.successful"],
        ),
        _builtin("coordination.k8s.io", "v1", "leases", "Lease"),
        # Stored only: the emulator authorizes nothing (the real control plane checks RBAC).
        _builtin("rbac.authorization.k8s.io", "v1", "roles", "Role"),
        _builtin("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
        _events_v1(),
        _builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            namespaced=False,
            short=["crd", "crds"],
            categories=["api-extensions"],
            status=True,
            generation=True,
        ),
    ]


def _events_v1() -> ResourceType:
    """events.k8s.io/v1 Events: the same field labels as core Events (shared storage upstream),
    read from the new field names (``regarding`` for ``involvedObject``)."""
    rtype = _builtin("events.k8s.io", "v1", "events", "Event", short=["ev"])
    for label in _EVENT_FIELDS:
        path = label.replace("involvedObject.", "regarding.")
        path = {"reportingComponent": "reportingController", "source": "reportingController"}.get(
            path, path
        )
        rtype.field_getters[label] = json_path_getter("." + path)
    return rtype


# CRDs ------------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _crd_error(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.INVALID, path, value, detail)


def types_from_crd(crd: Mapping[str, Any]) -> list[ResourceType]:
    """The resource types a CRD serves (one per served version).

    Raises :class:`CRDSchemaError` with the API server's field errors for an unusable CRD.
    """
    name = str((crd.get("metadata") or {}).get("name", ""))
    spec = crd.get("spec")
    errors: list[FieldError] = []
    if not isinstance(spec, Mapping):
        raise CRDSchemaError(name, [FieldError(ErrorType.REQUIRED, "spec", OMIT)])
    group = spec.get("group")
    names = spec.get("names") or {}
    plural, kind = names.get("plural"), names.get("kind")
    scope = spec.get("scope")
    if not group:
        errors.append(FieldError(ErrorType.REQUIRED, "spec.group", OMIT))
    elif "." not in str(group):
        errors.append(_crd_error("spec.group", group, "should be a domain with at least one dot"))
    if not plural:
        errors.append(FieldError(ErrorType.REQUIRED, "spec.names.plural", OMIT))
    elif not _DNS_LABEL.match(str(plural)):
        errors.append(_crd_error("spec.names.plural", plural, "a lowercase RFC 1123 label"))
    if not kind:
        errors.append(FieldError(ErrorType.REQUIRED, "spec.names.kind", OMIT))
    if scope not in ("Namespaced", "Cluster"):
        errors.append(
            FieldError(
                ErrorType.NOT_SUPPORTED,
                "spec.scope",
                scope if scope is not None else "",
                'supported values: "Cluster", "Namespaced"',
            )
        )
    if plural and group and name != f"{plural}.{group}":
        errors.append(_crd_error("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    versions = spec.get("versions") or []
    if not versions:
        errors.append(
            FieldError(
                ErrorType.REQUIRED,
                "spec.versions",
                OMIT,
                "must have exactly one version marked as storage version",
            )
        )
    storage = [v for v in versions if v.get("storage")]
    if versions and len(storage) != 1:
        errors.append(
            _crd_error(
                "spec.versions",
                versions and "[...]",
                "must have exactly one version marked as storage version",
            )
        )
    if errors:
        raise CRDSchemaError(name, errors)
    out: list[ResourceType] = []
    for entry in versions:
        if not entry.get("served", False):
            continue
        version = str(entry["name"])
        schema = CustomResourceSchema.from_crd(crd, version)
        getters = _metadata_fields()
        for sel in entry.get("selectableFields") or []:
            path = str(sel.get("jsonPath", ""))
            getters[path.lstrip(".")] = json_path_getter(path)
        out.append(
            ResourceType(
                group=str(group),
                version=version,
                plural=str(plural),
                singular=str(names.get("singular") or str(kind).lower()),
                kind=str(kind),
                namespaced=scope == "Namespaced",
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                status_subresource="status" in (entry.get("subresources") or {}),
                has_generation=True,
                custom=True,
                schema=schema,
                raw_schema=dict((entry.get("schema") or {}).get("openAPIV3Schema") or {}),
                printer_columns=list(entry.get("additionalPrinterColumns") or []),
                field_getters=getters,
                storage_version=str(storage[0]["name"]),
            )
        )
    return out
