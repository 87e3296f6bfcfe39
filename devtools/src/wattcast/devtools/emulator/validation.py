"""Custom-resource validation the way kube-apiserver does it, as a pure synchronous library.

Given an ``apiextensions.k8s.io/v1`` CustomResourceDefinition (a dict) and one of its versions,
:class:`CustomResourceSchema` checks a custom resource as the API server's custom-resource
strategy does on create, update and status writes:

1. **pruning**: fields the structural schema does not declare are dropped (except below
   ``x-kubernetes-preserve-unknown-fields: true``, inside embedded resources' metadata and the
   root's ``apiVersion``/``kind``/``metadata``), and ``null`` values of fields that are not
   ``nullable`` are dropped;
2. **defaulting** with each property's ``default`` (only where the parent object exists);
3. **OpenAPI validation**: ``type``, ``required``, ``enum``, ``pattern``, ``format``
   (``date-time``, ``date``, ``duration``, ``uuid``, ``byte``, ``ipv4``, ``ipv6``, ``cidr``,
   ``hostname``; unknown formats are ignored as Kubernetes does), ``minimum``/``maximum``
   (and the exclusive variants), ``multipleOf``, ``minLength``/``maxLength``,
   ``minItems``/``maxItems``, ``minProperties``/``maxProperties``, ``additionalProperties``,
   ``x-kubernetes-int-or-string``, ``x-kubernetes-list-type`` ``set``/``map`` uniqueness;
   plus ``metadata.name`` being a DNS-1123 subdomain and label and annotation keys and values
   having the syntax apimachinery requires;
4. **CEL rules** (``x-kubernetes-validations``: ``rule``, ``message``, ``messageExpression``,
   ``fieldPath``, ``reason``) with cel-python. As in Kubernetes, they are skipped when step 3
   found a "blocking" error (a type, required, enum, too-long or too-many error), and transition
   rules (those that mention ``oldSelf``) run only on update and only where the old object has
   a value at the same place (through object properties, ``additionalProperties`` keys and
   ``map`` lists by key). ``format: date-time`` and ``format: duration`` strings reach CEL as
   timestamps and durations, as in Kubernetes; ``timestamp(...)``/``duration(...)`` accept
   either. At the root, ``self.metadata`` holds only ``name`` and ``generateName``.

Errors are :class:`FieldError` values that print exactly as the API server's ``field.Error``
does (``spec.meterId: Invalid value: "a b": spec.meterId in body should match '...'``), and
:func:`invalid_status` builds the 422 ``Status`` body (reason ``Invalid``, ``details.causes``)
with the one-line message ``TrainingJob.wattcast.dev "tj-1" is invalid: ...``.

Usage::

    schema = CustomResourceSchema.from_crd(crd, "v1alpha1")
    result = schema.validate(obj, old=None)          # old: the stored object on update
    result.raise_for_errors()                         # or inspect result.errors
    stored = result.object                            # pruned and defaulted copy

Not emulated (see docs/emulator.md): validation ratcheting, CEL cost budgets,
``optionalOldSelf``, ``x-kubernetes-validations`` on the CRD's ``metadata`` beyond name and
generateName, ``allOf``/``anyOf``/``oneOf``/``not`` value validations.
"""

from __future__ import annotations

import base64
import collections
import copy
import datetime as dt
import enum
import ipaddress
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

from wattcast.devtools.emulator.cel_quantity import FUNCTIONS as CEL_QUANTITY_FUNCTIONS

__all__ = [
    "CRDSchemaError",
    "CustomResourceSchema",
    "ErrorType",
    "FieldError",
    "InvalidError",
    "ValidationResult",
    "invalid_message",
    "invalid_status",
    "validate_annotations",
    "validate_labels",
    "validate_object_name",
]


class ErrorType(enum.Enum):
    """``field.ErrorType``: the cause ``reason`` and the words the message uses."""

    NOT_FOUND = ("FieldValueNotFound", "Not found")
    REQUIRED = ("FieldValueRequired", "Required value")
    DUPLICATE = ("FieldValueDuplicate", "Duplicate value")
    INVALID = ("FieldValueInvalid", "Invalid value")
    NOT_SUPPORTED = ("FieldValueNotSupported", "Unsupported value")
    FORBIDDEN = ("FieldValueForbidden", "Forbidden")
    TOO_LONG = ("FieldValueTooLong", "Too long")
    TOO_MANY = ("FieldValueTooMany", "Too many")
    INTERNAL = ("InternalError", "Internal error")
    TYPE_INVALID = ("FieldValueTypeInvalid", "Invalid value")

    @property
    def reason(self) -> str:
        return self.value[0]

    @property
    def words(self) -> str:
        return self.value[1]


# Errors after which Kubernetes does not run CEL rules (apiextensions strategy.hasBlockingErr).
_BLOCKING = {
    ErrorType.NOT_SUPPORTED,
    ErrorType.REQUIRED,
    ErrorType.TOO_LONG,
    ErrorType.TOO_MANY,
    ErrorType.TYPE_INVALID,
}


class _Omit:
    """Marks an error whose message shows no value (Go's ``omitValue``)."""

    def __repr__(self) -> str:
        return "<omit>"


OMIT: Any = _Omit()


def _go_value(value: Any) -> str:
    """Format a bad value as Go's ``%v``/``%q``/``%#v`` does for unstructured data."""
    if value is None:
        return '"null"'  # Go substitutes the string "null" for a nil value, then quotes it
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{json.dumps(str(k), ensure_ascii=False)}:{_go_inner(v)}" for k, v in value.items()
        )
        return "map[string]interface {}{" + inner + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_inner(v) for v in value) + "}"
    return str(value)


def _go_inner(value: Any) -> str:
    # Inside a %#v composite Go prints nil interfaces as "interface {}(nil)".
    if value is None:
        return "interface {}(nil)"
    return _go_value(value)


def _go_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One validation error, printed as kube-apiserver's ``field.Error``."""

    type: ErrorType
    field: str
    bad_value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """``ErrorBody()``: the message without the field path (a cause's ``message``)."""
        if self.type in (
            ErrorType.REQUIRED,
            ErrorType.FORBIDDEN,
            ErrorType.TOO_LONG,
            ErrorType.INTERNAL,
        ) or isinstance(self.bad_value, _Omit):
            text = self.type.words
        else:
            text = f"{self.type.words}: {_go_value(self.bad_value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict[str, str]:
        """The ``details.causes[]`` entry of a 422 Status."""
        return {"reason": self.type.reason, "message": self.body(), "field": self.field}


def invalid_message(kind: str, group: str, name: str, errors: list[FieldError]) -> str:
    """``NewInvalid``'s message: ``Kind.group "name" is invalid: err`` (or ``[e1, e2]``)."""
    qualified = f"{kind}.{group}" if group else kind
    # utilerrors.Aggregate drops duplicate messages and brackets a list of more than one.
    seen: list[str] = []
    for err in errors:
        text = str(err)
        if text not in seen:
            seen.append(text)
    quoted = json.dumps(name, ensure_ascii=False)
    if not seen:
        return f"{qualified} {quoted} is invalid"
    joined = seen[0] if len(seen) == 1 else "[" + ", ".join(seen) + "]"
    return f"{qualified} {quoted} is invalid: {joined}"


def invalid_status(kind: str, group: str, name: str, errors: list[FieldError]) -> dict[str, Any]:
    """The 422 ``Status`` body kube-apiserver answers for an invalid object."""
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind}
    details["causes"] = [err.cause() for err in errors]
    if not group:
        del details["group"]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": invalid_message(kind, group, name, errors),
        "reason": "Invalid",
        "details": details,
        "code": 422,
    }


class InvalidError(Exception):
    """Raised by :meth:`ValidationResult.raise_for_errors`; carries the 422 Status body."""

    def __init__(self, kind: str, group: str, name: str, errors: list[FieldError]) -> None:
        self.kind = kind
        self.group = group
        self.name = name
        self.errors = errors
        self.status = invalid_status(kind, group, name, errors)
        super().__init__(self.status["message"])


class CRDSchemaError(ValueError):
    """The CRD itself cannot be used (no such version, no schema, a CEL rule that won't compile).

    ``errors`` are the field errors the API server would answer when the CRD is created.
    """

    def __init__(self, name: str, errors: list[FieldError]) -> None:
        self.name = name
        self.errors = errors
        super().__init__(
            invalid_message("CustomResourceDefinition", "apiextensions.k8s.io", name, errors)
        )


@dataclass
class ValidationResult:
    """The pruned and defaulted object and the errors found (empty when valid)."""

    object: dict[str, Any]
    errors: list[FieldError]
    kind: str
    group: str
    # Paths of the unknown fields pruning dropped ("spec.foo"): what fieldValidation reports.
    unknown_fields: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def name(self) -> str:
        meta = self.object.get("metadata")
        if isinstance(meta, dict):
            return str(meta.get("name") or meta.get("generateName") or "")
        return ""

    def status(self) -> dict[str, Any]:
        """The 422 Status body for these errors."""
        return invalid_status(self.kind, self.group, self.name, self.errors)

    def message(self) -> str:
        return invalid_message(self.kind, self.group, self.name, self.errors)

    def raise_for_errors(self) -> None:
        if self.errors:
            raise InvalidError(self.kind, self.group, self.name, self.errors)


# --------------------------------------------------------------------------------------------
# Paths, printed as field.Path does: a.b, a[0], a[key]; None is Go's nil path "<nil>".


@dataclass(frozen=True)
class _Path:
    parts: tuple[str, ...] = ()

    def child(self, name: str) -> _Path:
        return _Path((*self.parts, "." + name if self.parts else name))

    def index(self, i: int) -> _Path:
        return _Path((*self.parts, f"[{i}]"))

    def key(self, k: str) -> _Path:
        return _Path((*self.parts, f"[{k}]"))

    def __str__(self) -> str:
        return "".join(self.parts) if self.parts else "<nil>"

    def openapi(self) -> str:
        """The name go-openapi puts in its own messages (map keys as ``.key``)."""
        return "".join(
            p if not p.startswith("[") or p[1:-1].isdigit() else "." + p[1:-1] for p in self.parts
        )


_ROOT = _Path()

# --------------------------------------------------------------------------------------------
# The schema tree, compiled once per CRD version.

_CEL_ENV = celpy.Environment()
_OLD_SELF = re.compile(r"\boldSelf\b")


@dataclass
class _Rule:
    rule: str
    program: celpy.Runner
    message: str
    message_program: celpy.Runner | None
    field_path: list[tuple[str, str]]
    reason: ErrorType
    transition: bool


@dataclass
class _Node:
    type: str | None = None
    properties: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None
    additional: _Node | None = None
    additional_allowed: bool | None = None  # additionalProperties: true/false without schema
    preserve_unknown: bool = False
    embedded: bool = False
    int_or_string: bool = False
    nullable: bool = False
    has_default: bool = False
    default: Any = None
    enum: list[Any] | None = None
    pattern: re.Pattern[str] | None = None
    pattern_src: str = ""
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_properties: int | None = None
    max_properties: int | None = None
    required: list[str] = field(default_factory=list)
    list_type: str | None = None
    list_map_keys: list[str] = field(default_factory=list)
    rules: list[_Rule] = field(default_factory=list)


def _compile_node(raw: Mapping[str, Any], path: str, errors: list[FieldError]) -> _Node:
    node = _Node()
    node.type = raw.get("type")
    node.preserve_unknown = bool(raw.get("x-kubernetes-preserve-unknown-fields"))
    node.embedded = bool(raw.get("x-kubernetes-embedded-resource"))
    node.int_or_string = bool(raw.get("x-kubernetes-int-or-string"))
    node.nullable = bool(raw.get("nullable"))
    if "default" in raw:
        node.has_default, node.default = True, raw["default"]
    if "enum" in raw:
        node.enum = list(raw["enum"])
    if "pattern" in raw:
        node.pattern_src = str(raw["pattern"])
        try:
            node.pattern = re.compile(node.pattern_src)
        except re.error as exc:
            errors.append(
                FieldError(ErrorType.INVALID, f"{path}.pattern", node.pattern_src, str(exc))
            )
    node.format = raw.get("format")
    for key, attr in (
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("multipleOf", "multiple_of"),
    ):
        if key in raw:
            setattr(node, attr, float(raw[key]))
    node.exclusive_minimum = bool(raw.get("exclusiveMinimum"))
    node.exclusive_maximum = bool(raw.get("exclusiveMaximum"))
    for key, attr in (
        ("minLength", "min_length"),
        ("maxLength", "max_length"),
        ("minItems", "min_items"),
        ("maxItems", "max_items"),
        ("minProperties", "min_properties"),
        ("maxProperties", "max_properties"),
    ):
        if key in raw:
            setattr(node, attr, int(raw[key]))
    node.required = [str(r) for r in raw.get("required", [])]
    node.list_type = raw.get("x-kubernetes-list-type")
    node.list_map_keys = [str(k) for k in raw.get("x-kubernetes-list-map-keys", [])]
    for name, sub in (raw.get("properties") or {}).items():
        node.properties[name] = _compile_node(sub, f"{path}.properties[{name}]", errors)
    if isinstance(raw.get("items"), Mapping):
        node.items = _compile_node(raw["items"], f"{path}.items", errors)
    additional = raw.get("additionalProperties")
    if isinstance(additional, Mapping):
        node.additional = _compile_node(additional, f"{path}.additionalProperties", errors)
    elif isinstance(additional, bool):
        node.additional_allowed = additional
    for i, spec in enumerate(raw.get("x-kubernetes-validations") or []):
        rule = _compile_rule(spec, f"{path}.x-kubernetes-validations[{i}]", errors)
        if rule is not None:
            node.rules.append(rule)
    return node


# The only reasons a rule may give (apiextensions validation: supportedValidationReason).
_REASONS = {
    "FieldValueDuplicate": ErrorType.DUPLICATE,
    "FieldValueForbidden": ErrorType.FORBIDDEN,
    "FieldValueInvalid": ErrorType.INVALID,
    "FieldValueRequired": ErrorType.REQUIRED,
}


def _compile_rule(spec: Mapping[str, Any], path: str, errors: list[FieldError]) -> _Rule | None:
    source = str(spec.get("rule", ""))
    try:
        program = _CEL_ENV.program(_CEL_ENV.compile(source), functions=CEL_QUANTITY_FUNCTIONS)
    except Exception as exc:  # celpy raises its parser's own exception types
        errors.append(
            FieldError(ErrorType.INVALID, f"{path}.rule", source, f"compilation failed: {exc}")
        )
        return None
    message_program = None
    if spec.get("messageExpression"):
        expr = str(spec["messageExpression"])
        try:
            message_program = _CEL_ENV.program(
                _CEL_ENV.compile(expr), functions=CEL_QUANTITY_FUNCTIONS
            )
        except Exception as exc:
            errors.append(
                FieldError(
                    ErrorType.INVALID,
                    f"{path}.messageExpression",
                    expr,
                    f"messageExpression compilation failed: {exc}",
                )
            )
            return None
    reason_name = spec.get("reason") or "FieldValueInvalid"
    if reason_name not in _REASONS:
        errors.append(
            FieldError(
                ErrorType.NOT_SUPPORTED,
                f"{path}.reason",
                reason_name,
                "supported values: " + ", ".join(json.dumps(r) for r in _REASONS),
            )
        )
        return None
    field_path: list[tuple[str, str]] = []
    if spec.get("fieldPath"):
        parsed = _parse_field_path(str(spec["fieldPath"]))
        if parsed is None:
            errors.append(
                FieldError(
                    ErrorType.INVALID, f"{path}.fieldPath", spec["fieldPath"], "is an invalid path"
                )
            )
            return None
        field_path = parsed
    return _Rule(
        rule=source,
        program=program,
        message=str(spec.get("message") or ""),
        message_program=message_program,
        field_path=field_path,
        reason=_REASONS[reason_name],
        transition=bool(_OLD_SELF.search(source)),
    )


_FIELD_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\['([^']*)'\]|\[(\d+)\]")


def _parse_field_path(text: str) -> list[tuple[str, str]] | None:
    """Parse a rule's relative JSONPath (``.spec.end``, ``.map['key']``, ``.list[0]``)."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _FIELD_PATH_TOKEN.match(text, pos)
        if m is None:
            return None
        if m.group(1) is not None:
            out.append(("child", m.group(1)))
        elif m.group(2) is not None:
            out.append(("child", m.group(2)))
        else:
            out.append(("index", m.group(3)))
        pos = m.end()
    return out


# --------------------------------------------------------------------------------------------
# Formats (those kube-openapi's strfmt registry knows and Kubernetes keeps).

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w))+$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$"
)


def _is_date_time(s: str) -> bool:
    m = _DATE_TIME.match(s)
    if m is None:
        return False
    try:
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
        dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _is_date(s: str) -> bool:
    try:
        dt.date.fromisoformat(s)
    except ValueError:
        return False
    return len(s) == 10


def _is_uuid(s: str) -> bool:
    try:
        uuid.UUID(s)
    except ValueError:
        return False
    return len(s) == 36


def _is_byte(s: str) -> bool:
    try:
        base64.b64decode(s, validate=True)
    except ValueError:
        return False
    return True


def _is_ip(version: int) -> Callable[[str], bool]:
    def check(s: str) -> bool:
        try:
            return ipaddress.ip_address(s).version == version
        except ValueError:
            return False

    return check


def _is_cidr(s: str) -> bool:
    try:
        ipaddress.ip_network(s, strict=False)
    except ValueError:
        return False
    return "/" in s


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _is_date_time,
    "datetime": _is_date_time,
    "date": _is_date,
    "duration": lambda s: bool(_DURATION.match(s)),
    "uuid": _is_uuid,
    "byte": _is_byte,
    "ipv4": _is_ip(4),
    "ipv6": _is_ip(6),
    "cidr": _is_cidr,
    "hostname": lambda s: bool(_HOSTNAME.match(s)),
}

# --------------------------------------------------------------------------------------------
# Metadata checks every object gets (apimachinery ValidateObjectMeta, the part that matters).

_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def validate_object_name(name: Any, *, generated: bool = False) -> list[FieldError]:
    """``metadata.name`` must be a DNS-1123 subdomain (at most 253 characters)."""
    path = "metadata.generateName" if generated else "metadata.name"
    if not isinstance(name, str) or not name:
        if generated:
            return []
        return [FieldError(ErrorType.REQUIRED, path, OMIT, "name or generateName is required")]
    errors: list[FieldError] = []
    checked = name.rstrip("-") + "x" if generated else name
    if len(checked) > 253:
        errors.append(
            FieldError(ErrorType.INVALID, path, name, "must be no more than 253 characters")
        )
    if not _DNS1123_SUBDOMAIN.match(checked):
        errors.append(FieldError(ErrorType.INVALID, path, name, _DNS1123_SUBDOMAIN_MSG))
    return errors


_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _qualified_name_errors(key: str, path: str) -> list[FieldError]:
    """apimachinery ``IsQualifiedName``: an optional DNS-subdomain prefix, then a name part."""
    prefix, _, name = key.rpartition("/")
    errors: list[FieldError] = []
    if "/" in prefix:
        return [
            FieldError(
                ErrorType.INVALID,
                path,
                key,
                "a qualified name must consist of "
                "alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                "'123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS "
                "subdomain prefix and '/' (e.g. 'example.com/MyName')",
            )
        ]
    if "/" in key:
        if not prefix:
            errors.append(FieldError(ErrorType.INVALID, path, key, "prefix part must be non-empty"))
        elif len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix):
            errors.append(
                FieldError(ErrorType.INVALID, path, key, "prefix part " + _DNS1123_SUBDOMAIN_MSG)
            )
    if not name:
        errors.append(FieldError(ErrorType.INVALID, path, key, "name part must be non-empty"))
    elif len(name) > 63:
        errors.append(
            FieldError(ErrorType.INVALID, path, key, "name part must be no more than 63 characters")
        )
    elif not _QUALIFIED_NAME.match(name):
        errors.append(FieldError(ErrorType.INVALID, path, key, _QUALIFIED_NAME_MSG))
    return errors


def validate_labels(labels: Mapping[str, str]) -> list[FieldError]:
    """Label keys are qualified names; values at most 63 characters of the label alphabet."""
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors.extend(_qualified_name_errors(key, "metadata.labels"))
        if len(value) > 63:
            errors.append(
                FieldError(
                    ErrorType.INVALID,
                    "metadata.labels",
                    value,
                    "must be no more than 63 characters",
                )
            )
        elif not _LABEL_VALUE.match(value):
            errors.append(FieldError(ErrorType.INVALID, "metadata.labels", value, _LABEL_VALUE_MSG))
    return errors


def validate_annotations(annotations: Mapping[str, str]) -> list[FieldError]:
    """Annotation keys are qualified names; all of them together at most 256 KiB."""
    errors: list[FieldError] = []
    total = 0
    for key, value in annotations.items():
        errors.extend(_qualified_name_errors(key.lower(), "metadata.annotations"))
        total += len(key) + len(value)
    if total > 256 * 1024:
        errors.append(
            FieldError(
                ErrorType.TOO_LONG,
                "metadata.annotations",
                OMIT,
                "may not be more than 262144 bytes",
            )
        )
    return errors


# --------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return '"null"'  # Go substitutes the string "null" for a nil value, then quotes it
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _matches_type(node: _Node, value: Any) -> bool:
    if node.int_or_string:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    t = node.type
    if t is None:
        return True
    if t == "object":
        return isinstance(value, Mapping)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


class CustomResourceSchema:
    """One served version of a CRD, compiled once, validating any number of objects."""

    def __init__(
        self,
        *,
        group: str,
        kind: str,
        version: str,
        root: _Node,
        crd_name: str = "",
    ) -> None:
        self.group = group
        self.kind = kind
        self.version = version
        self.crd_name = crd_name
        self._root = root
        self._outcomes: dict[
            int, collections.OrderedDict[tuple[str, str], tuple[bool, str] | None]
        ] = {}

    @classmethod
    def from_crd(cls, crd: Mapping[str, Any], version: str) -> CustomResourceSchema:
        """Compile ``crd``'s schema for ``version``.

        Raises :class:`CRDSchemaError` when the version is not in the CRD, has no
        ``openAPIV3Schema``, or a pattern or CEL rule does not compile.
        """
        name = str((crd.get("metadata") or {}).get("name", ""))
        spec = crd.get("spec") or {}
        versions = spec.get("versions") or []
        found = [(i, v) for i, v in enumerate(versions) if v.get("name") == version]
        if not found:
            raise CRDSchemaError(
                name,
                [
                    FieldError(
                        ErrorType.NOT_FOUND,
                        "spec.versions",
                        version,
                        "no such version in the CustomResourceDefinition",
                    )
                ],
            )
        i, entry = found[0]
        base = f"spec.versions[{i}].schema.openAPIV3Schema"
        raw = ((entry.get("schema") or {}).get("openAPIV3Schema")) or None
        if not isinstance(raw, Mapping):
            raise CRDSchemaError(name, [FieldError(ErrorType.REQUIRED, base, OMIT, "")])
        errors: list[FieldError] = []
        root = _compile_node(raw, base, errors)
        if errors:
            raise CRDSchemaError(name, errors)
        names = spec.get("names") or {}
        return cls(
            group=str(spec.get("group", "")),
            kind=str(names.get("kind", "")),
            version=version,
            root=root,
            crd_name=name,
        )

    # -- public -------------------------------------------------------------------------

    def prune_and_default(
        self, obj: Mapping[str, Any], dropped: list[str] | None = None
    ) -> dict[str, Any]:
        """A pruned, defaulted deep copy of ``obj`` (what the API server would store).

        The paths of the unknown fields pruned are appended to ``dropped`` when given.
        """
        out = copy.deepcopy(dict(obj))
        self._prune(self._root, out, is_root=True, dropped=dropped)
        self._default(self._root, out)
        return out

    def validate(
        self, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None
    ) -> ValidationResult:
        """Prune, default and validate ``obj``; ``old`` is the stored object on an update."""
        unknown: list[str] = []
        pruned = self.prune_and_default(obj, unknown)
        errors: list[FieldError] = []
        meta = pruned.get("metadata") or {}
        if isinstance(meta, Mapping):
            labels, annotations = meta.get("labels"), meta.get("annotations")
            if isinstance(labels, Mapping) and all(isinstance(v, str) for v in labels.values()):
                errors.extend(validate_labels(labels))
            if isinstance(annotations, Mapping) and all(
                isinstance(v, str) for v in annotations.values()
            ):
                errors.extend(validate_annotations(annotations))
            if meta.get("name"):
                errors.extend(validate_object_name(meta.get("name")))
            elif meta.get("generateName"):
                errors.extend(validate_object_name(meta.get("generateName"), generated=True))
            else:
                errors.extend(validate_object_name(None))
        self._check(self._root, pruned, _ROOT, errors, is_root=True)
        if any(e.type in _BLOCKING for e in errors):
            if self._has_rules(self._root):
                errors.append(
                    FieldError(
                        ErrorType.INVALID,
                        "<nil>",
                        None,
                        "some validation rules were not checked because the object was "
                        "invalid; correct the existing errors to complete validation",
                    )
                )
        else:
            old_pruned = self.prune_and_default(old) if old is not None else None
            self._cel(self._root, pruned, old_pruned, _ROOT, errors, is_root=True)
        return ValidationResult(
            object=pruned, errors=errors, kind=self.kind, group=self.group, unknown_fields=unknown
        )

    # -- pruning and defaulting ---------------------------------------------------------

    def _prune(
        self,
        node: _Node,
        value: Any,
        *,
        is_root: bool = False,
        path: _Path = _ROOT,
        dropped: list[str] | None = None,
    ) -> None:
        if isinstance(value, dict):
            keep_meta = is_root or node.embedded
            for key in list(value):
                sub_value = value[key]
                if keep_meta and key in ("apiVersion", "kind", "metadata"):
                    if key == "metadata" and isinstance(sub_value, dict) and node.embedded:
                        self._prune_embedded_meta(sub_value)
                    continue
                sub = node.properties.get(key)
                if sub is None:
                    sub = node.additional
                if sub is None:
                    if node.preserve_unknown or node.additional_allowed:
                        continue
                    del value[key]
                    if dropped is not None:
                        dropped.append(str(path.child(key)))
                    continue
                if sub_value is None and not sub.nullable:
                    # Kubernetes drops nulls of non-nullable fields before defaulting.
                    del value[key]
                    continue
                self._prune(sub, sub_value, path=path.child(key), dropped=dropped)
        elif isinstance(value, list) and node.items is not None:
            for i, item in enumerate(value):
                self._prune(node.items, item, path=path.index(i), dropped=dropped)

    @staticmethod
    def _prune_embedded_meta(meta: dict[str, Any]) -> None:
        allowed = {
            "name",
            "generateName",
            "namespace",
            "labels",
            "annotations",
            "finalizers",
            "ownerReferences",
        }
        for key in list(meta):
            if key not in allowed:
                del meta[key]

    def _default(self, node: _Node, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in node.properties.items():
                if key not in value and sub.has_default:
                    value[key] = copy.deepcopy(sub.default)
            for key, sub_value in value.items():
                target = node.properties.get(key) or node.additional
                if target is not None:
                    self._default(target, sub_value)
        elif isinstance(value, list) and node.items is not None:
            for item in value:
                self._default(node.items, item)

    # -- OpenAPI checks -----------------------------------------------------------------

    def _check(
        self,
        node: _Node,
        value: Any,
        path: _Path,
        errors: list[FieldError],
        *,
        is_root: bool = False,
    ) -> None:
        name = path.openapi()
        if value is None:
            if node.nullable:
                return
            errors.append(
                FieldError(
                    ErrorType.TYPE_INVALID,
                    str(path),
                    "null",
                    f'{name} in body must be of type {node.type or "object"}: "null"',
                )
            )
            return
        if not _matches_type(node, value):
            wanted = "integer,string" if node.int_or_string else str(node.type)
            actual = _type_name(value)
            errors.append(
                FieldError(
                    ErrorType.TYPE_INVALID,
                    str(path),
                    actual,
                    f'{name} in body must be of type {wanted}: "{actual}"',
                )
            )
            return
        if node.enum is not None and value not in node.enum:
            allowed = [v if isinstance(v, str) else json.dumps(v) for v in node.enum]
            errors.append(
                FieldError(
                    ErrorType.NOT_SUPPORTED,
                    str(path),
                    value,
                    "supported values: " + ", ".join(json.dumps(a) for a in allowed),
                )
            )
        if isinstance(value, str):
            self._check_string(node, value, path, errors)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._check_number(node, value, path, errors)
        elif isinstance(value, list):
            self._check_list(node, value, path, errors)
        elif isinstance(value, Mapping):
            self._check_object(node, value, path, errors, is_root=is_root)

    def _check_string(self, node: _Node, value: str, path: _Path, errors: list[FieldError]) -> None:
        name = path.openapi()
        length = len(value)  # go-openapi counts runes, as Python counts code points
        if node.max_length is not None and length > node.max_length:
            errors.append(
                FieldError(
                    ErrorType.TOO_LONG,
                    str(path),
                    value,
                    f"may not be more than {node.max_length} bytes",
                )
            )
        if node.min_length is not None and length < node.min_length:
            errors.append(
                FieldError(
                    ErrorType.INVALID,
                    str(path),
                    value,
                    f"{name} in body should be at least {node.min_length} chars long",
                )
            )
        if node.pattern is not None and not node.pattern.search(value):
            errors.append(
                FieldError(
                    ErrorType.INVALID,
                    str(path),
                    value,
                    f"{name} in body should match '{node.pattern_src}'",
                )
            )
        check = _FORMATS.get(node.format or "")
        if check is not None and not check(value):
            errors.append(
                FieldError(
                    ErrorType.TYPE_INVALID,
                    str(path),
                    value,
                    f"{name} in body must be of type {node.format}: {json.dumps(value)}",
                )
            )

    def _check_number(
        self, node: _Node, value: float, path: _Path, errors: list[FieldError]
    ) -> None:
        name = path.openapi()
        if node.maximum is not None:
            bound = _go_number(node.maximum)
            if node.exclusive_maximum and value >= node.maximum:
                msg = f"{name} in body should be less than {bound}"
                errors.append(FieldError(ErrorType.INVALID, str(path), value, msg))
            elif value > node.maximum:
                msg = f"{name} in body should be less than or equal to {bound}"
                errors.append(FieldError(ErrorType.INVALID, str(path), value, msg))
        if node.minimum is not None:
            bound = _go_number(node.minimum)
            if node.exclusive_minimum and value <= node.minimum:
                msg = f"{name} in body should be greater than {bound}"
                errors.append(FieldError(ErrorType.INVALID, str(path), value, msg))
            elif value < node.minimum:
                msg = f"{name} in body should be greater than or equal to {bound}"
                errors.append(FieldError(ErrorType.INVALID, str(path), value, msg))
        if node.multiple_of:
            quotient = value / node.multiple_of
            if not math.isclose(quotient, round(quotient), abs_tol=1e-9):
                msg = f"{name} in body should be a multiple of {_go_number(node.multiple_of)}"
                errors.append(FieldError(ErrorType.INVALID, str(path), value, msg))

    def _check_list(
        self, node: _Node, value: list[Any], path: _Path, errors: list[FieldError]
    ) -> None:
        name = path.openapi()
        if node.max_items is not None and len(value) > node.max_items:
            noun = "item" if node.max_items == 1 else "items"
            errors.append(
                FieldError(
                    ErrorType.TOO_MANY,
                    str(path),
                    len(value),
                    f"must have at most {node.max_items} {noun}",
                )
            )
        if node.min_items is not None and len(value) < node.min_items:
            errors.append(
                FieldError(
                    ErrorType.INVALID,
                    str(path),
                    len(value),
                    f"{name} in body should have at least {node.min_items} items",
                )
            )
        if node.items is not None:
            for i, item in enumerate(value):
                self._check(node.items, item, path.index(i), errors)
        if node.list_type == "set":
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    errors.append(FieldError(ErrorType.DUPLICATE, str(path.index(i)), item))
                else:
                    seen.append(item)
        elif node.list_type == "map" and node.list_map_keys:
            keys_seen: set[str] = set()
            for i, item in enumerate(value):
                if not isinstance(item, Mapping):
                    continue
                key_value = {k: item.get(k) for k in node.list_map_keys if k in item}
                marker = json.dumps(key_value, sort_keys=True)
                if marker in keys_seen:
                    errors.append(FieldError(ErrorType.DUPLICATE, str(path.index(i)), key_value))
                keys_seen.add(marker)

    def _check_object(
        self,
        node: _Node,
        value: Mapping[str, Any],
        path: _Path,
        errors: list[FieldError],
        *,
        is_root: bool,
    ) -> None:
        name = path.openapi()
        count = len(value)
        if node.max_properties is not None and count > node.max_properties:
            errors.append(
                FieldError(
                    ErrorType.TOO_MANY,
                    str(path),
                    count,
                    f"must have at most {node.max_properties} items",
                )
            )
        if node.min_properties is not None and count < node.min_properties:
            msg = f"{name} in body should have at least {node.min_properties} properties"
            errors.append(FieldError(ErrorType.INVALID, str(path), count, msg))
        for req in node.required:
            if req not in value:
                errors.append(FieldError(ErrorType.REQUIRED, str(path.child(req)), OMIT))
        for key in sorted(value):
            if is_root and key in ("apiVersion", "kind", "metadata") and key not in node.properties:
                continue
            sub = node.properties.get(key)
            if sub is not None:
                self._check(sub, value[key], path.child(key), errors)
            elif node.additional is not None:
                self._check(node.additional, value[key], path.key(key), errors)

    # -- CEL ----------------------------------------------------------------------------

    def _has_rules(self, node: _Node) -> bool:
        if node.rules:
            return True
        subs = [*node.properties.values(), node.items, node.additional]
        return any(s is not None and self._has_rules(s) for s in subs)

    def _cel(
        self,
        node: _Node,
        value: Any,
        old: Any,
        path: _Path,
        errors: list[FieldError],
        *,
        is_root: bool = False,
    ) -> None:
        if value is None:
            return
        if node.rules:
            self._run_rules(node, value, old, path, errors, is_root=is_root)
        if isinstance(value, Mapping):
            old_map = old if isinstance(old, Mapping) else None
            for key in sorted(value):
                sub = node.properties.get(key)
                child = path.child(key)
                if sub is None and node.additional is not None:
                    sub, child = node.additional, path.key(key)
                if sub is None:
                    continue
                old_sub = old_map.get(key) if old_map is not None else None
                self._cel(sub, value[key], old_sub, child, errors)
        elif isinstance(value, list) and node.items is not None:
            # Old items correlate only through map lists' keys (as in Kubernetes).
            old_by_key: dict[str, Any] = {}
            if node.list_type == "map" and node.list_map_keys and isinstance(old, list):
                for item in old:
                    if isinstance(item, Mapping):
                        key = json.dumps([item.get(k) for k in node.list_map_keys])
                        old_by_key[key] = item
            for i, item in enumerate(value):
                old_item = None
                if old_by_key and isinstance(item, Mapping):
                    old_item = old_by_key.get(json.dumps([item.get(k) for k in node.list_map_keys]))
                self._cel(node.items, item, old_item, path.index(i), errors)

    def _run_rules(
        self,
        node: _Node,
        value: Any,
        old: Any,
        path: _Path,
        errors: list[FieldError],
        *,
        is_root: bool,
    ) -> None:
        type_word = node.type or ("object" if isinstance(value, Mapping) else _type_name(value))
        # Rules are pure functions of self (and oldSelf): their outcomes are memoised on the
        # values they see, so a status write does not re-run the spec's rules (cel-python is
        # slow, and transition rules over the whole spec run on every write).
        self_key = _canonical(_cel_visible(value, is_root))
        old_key = _canonical(_cel_visible(old, is_root)) if old is not None else ""
        activation: dict[str, Any] = {}
        for rule in node.rules:
            if rule.transition and old is None:
                continue
            # One cache per rule, so rules over volatile values (the root's, which sees status)
            # do not evict the outcomes of rules over stable ones (the spec's).
            cache = self._outcomes.setdefault(id(rule), collections.OrderedDict())
            key = (self_key, old_key if rule.transition else "")
            outcome = cache.get(key, _MISS)
            if outcome is _MISS:
                if not activation:
                    activation["self"] = self._to_cel(node, value, is_root=is_root)
                    if old is not None:
                        activation["oldSelf"] = self._to_cel(node, old, is_root=is_root)
                outcome = self._outcome(rule, activation)
                cache[key] = outcome
                if len(cache) > _OUTCOME_CACHE_SIZE:
                    cache.popitem(last=False)
            else:
                cache.move_to_end(key)
            if outcome is None:
                continue
            failed, message = outcome
            err_path = path
            for kind, part in rule.field_path:
                err_path = err_path.child(part) if kind == "child" else err_path.index(int(part))
            if not failed or rule.reason is ErrorType.INVALID:
                errors.append(FieldError(ErrorType.INVALID, str(err_path), type_word, message))
            elif rule.reason in (ErrorType.REQUIRED, ErrorType.FORBIDDEN):
                errors.append(FieldError(rule.reason, str(err_path), OMIT, message))
            else:
                errors.append(FieldError(rule.reason, str(err_path), type_word, message))

    def _outcome(self, rule: _Rule, activation: dict[str, Any]) -> tuple[bool, str] | None:
        """None when the rule holds; else (failed, message): failed False for an eval error."""
        result = self._evaluate(rule.program, activation)
        if isinstance(result, Exception):
            return False, f"{_cel_error_text(result)} evaluating rule: {_rule_text(rule.rule)}"
        if result is True or (isinstance(result, celtypes.BoolType) and bool(result)):
            return None
        message = rule.message or f"failed rule: {_rule_text(rule.rule)}"
        if rule.message_program is not None:
            produced = self._evaluate(rule.message_program, activation)
            if isinstance(produced, str) and produced.strip():
                message = str(produced)
        return True, message

    @staticmethod
    def _evaluate(program: celpy.Runner, activation: dict[str, Any]) -> Any:
        try:
            result = program.evaluate(activation)
        except Exception as exc:  # celpy raises CELEvalError and, rarely, Python errors
            return exc
        if isinstance(result, Exception):
            return result
        return result

    def _to_cel(self, node: _Node, value: Any, *, is_root: bool = False) -> Any:
        """JSON -> CEL, giving date-time and duration strings their CEL types (as Kubernetes)."""
        if value is None:
            return None
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, sub_value in value.items():
                if is_root and key == "metadata" and isinstance(sub_value, Mapping):
                    # Only name and generateName are visible to rules at the root.
                    meta = {k: sub_value[k] for k in ("name", "generateName") if k in sub_value}
                    out[celtypes.StringType(key)] = json_to_cel(meta)
                    continue
                sub = node.properties.get(key) or node.additional
                if sub is None:
                    out[celtypes.StringType(key)] = json_to_cel(sub_value)
                else:
                    out[celtypes.StringType(key)] = self._to_cel(sub, sub_value)
            return celtypes.MapType(out)
        if isinstance(value, list):
            items = node.items
            if items is None:
                return json_to_cel(value)
            return celtypes.ListType([self._to_cel(items, v) for v in value])
        if isinstance(value, str) and node.format in ("date-time", "datetime"):
            try:
                return celtypes.TimestampType(value)
            except Exception:  # an invalid string was already reported; keep it a string
                return celtypes.StringType(value)
        if isinstance(value, str) and node.format == "duration":
            try:
                return celtypes.DurationType(value)
            except Exception:
                return celtypes.StringType(value)
        if isinstance(value, int) and not isinstance(value, bool) and node.type == "number":
            return celtypes.DoubleType(float(value))
        return json_to_cel(value)


_MISS: Any = object()
_OUTCOME_CACHE_SIZE = 4096


def _cel_visible(value: Any, is_root: bool) -> Any:
    """What a rule sees as ``self`` (at the root, metadata is only name and generateName)."""
    if is_root and isinstance(value, Mapping) and isinstance(value.get("metadata"), Mapping):
        meta = value["metadata"]
        visible = {k: v for k, v in value.items() if k != "metadata"}
        visible["metadata"] = {k: meta[k] for k in ("name", "generateName") if k in meta}
        return visible
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _rule_text(rule: str) -> str:
    """``ruleErrorString``: the rule with surrounding whitespace trimmed."""
    return rule.strip()


def _cel_error_text(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str):
        return args[0]
    return str(exc)
