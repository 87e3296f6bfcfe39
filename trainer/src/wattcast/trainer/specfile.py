"""Reading a standalone spec file (`wattcast-trainer --spec FILE`) without trusting it.

A spec file is a few hundred bytes of YAML. Whatever else is passed — a device (/dev/zero,
/dev/urandom), a FIFO, a directory, a huge file, bytes that are not UTF-8, YAML that nests
without end or multiplies itself through aliases ("billion laughs") — is refused with an
InvalidConfigError that names the reason (exit 2: reading it again cannot help), before more
than MAX_SPEC_BYTES are read and before any recursion can run deep.

- Only a regular file is read; it is opened non-blocking, so a FIFO with no writer cannot
  hang the trainer, and its type is checked on the open descriptor (no race with a rename).
- At most MAX_SPEC_BYTES + 1 bytes are read.
- The text must be UTF-8 (YAML's own encoding in practice; Kubernetes takes nothing else).
- YAML anchors and aliases are refused (a TrainingJob never needs them, and they are how a
  small file becomes an enormous object), and so is nesting deeper than MAX_SPEC_DEPTH.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

from wattcast.forecasting.errors import InvalidConfigError

# A TrainingJob spec is under 4 KiB; Kubernetes itself stores no object over about 1.5 MiB.
MAX_SPEC_BYTES = 1024 * 1024
# A TrainingJob nests four levels (spec.resources.limits.cpu); room for a document around it.
MAX_SPEC_DEPTH = 32


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases and deep nesting while it composes nodes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._refuse("YAML aliases are not accepted in a spec file")
        node_starts = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
        if self.check_event(*node_starts) and getattr(self._next_event(), "anchor", None):
            self._refuse("YAML anchors are not accepted in a spec file")
        self._depth += 1
        try:
            if self._depth > MAX_SPEC_DEPTH:
                self._refuse(f"the document nests deeper than {MAX_SPEC_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_event(self) -> Any:
        return self.peek_event()  # type: ignore[no-untyped-call]

    def _refuse(self, problem: str) -> NoReturn:
        raise ComposerError(None, None, problem, self._next_event().start_mark)


def read_spec_bytes(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_SPEC_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as error:
        raise InvalidConfigError(f"cannot read {path}: {error.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _file_kind(mode)
            raise InvalidConfigError(f"{path} is {kind}, not a regular file: pass a YAML file")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SPEC_BYTES:
            chunk = os.read(fd, MAX_SPEC_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise InvalidConfigError(f"cannot read {path}: {error.strerror}") from None
    finally:
        os.close(fd)
    if size > MAX_SPEC_BYTES:
        raise InvalidConfigError(
            f"{path} is larger than {MAX_SPEC_BYTES} bytes; a TrainingJob spec needs a few hundred"
        )
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def load_spec_document(path: Path) -> Any:
    """The YAML document of a spec file (see the module doc for what is refused)."""
    data = read_spec_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidConfigError(
            f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None
    try:
        loader = _SpecLoader(text)  # the reader refuses control characters right here
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise InvalidConfigError(f"{path} is not valid YAML: {_one_line(error)}") from None


def _one_line(error: yaml.YAMLError) -> str:
    """PyYAML's message without the quoted snippet of the input (which may be anything)."""
    if isinstance(error, yaml.MarkedYAMLError):
        where = error.problem_mark
        problem = ", ".join(p for p in (error.context, error.problem) if p) or "invalid YAML"
        if where is not None:
            return f"{problem} (line {where.line + 1}, column {where.column + 1})"
        return problem
    return str(error).splitlines()[0] if str(error) else "invalid YAML"
