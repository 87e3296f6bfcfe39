"""The versioned model store (docs/design.md §6, where the layout is the contract).

    <root>/<meterType>/<meterId>/versions/<version>/model.keras + metadata.json
    <root>/<meterType>/<meterId>/current -> versions/<version>

A new training writes into a hidden staging directory next to the versions, loads the model
back and checks it forecasts as the one in memory, then renames the directory into place (an
atomic rename on one file system) and only then swaps `current`: a temporary symlink renamed
over the old one with `os.replace`, so readers see the old model or the new one, never none.
A crash at any point leaves the previous current model untouched; stale staging directories
are removed by a later training. The last N versions are kept (the current one always).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wattcast.crd import MeterType
from wattcast.crd.modelstore import CURRENT, METADATA_FILE, MODEL_FILE, VERSION_PATTERN, VERSIONS
from wattcast.forecasting.datasource import check_meter_id
from wattcast.forecasting.errors import TrainerError

_STAGING_PREFIX = ".staging-"
# A staging directory untouched this long belongs to a training that died.
STALE_STAGING_SECONDS = 6 * 3600
_VERSION = re.compile(VERSION_PATTERN)


class StoreError(TrainerError):
    """The model store could not be written (disk full, permissions): retriable."""


def new_version(now: datetime | None = None) -> str:
    """A sortable, unique version name: UTC time to the microsecond plus a random suffix."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class SavedModel:
    version: str
    directory: Path
    model_path: str  # relative to the store's root: status.result.modelPath


class ModelStore:
    """One store root; see the module doc."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def meter_dir(self, meter_type: MeterType, meter_id: str) -> Path:
        return self.root / MeterType(meter_type).value / check_meter_id(meter_id)

    def versions(self, meter_type: MeterType, meter_id: str) -> list[str]:
        """Finished versions, oldest first."""
        directory = self.meter_dir(meter_type, meter_id) / VERSIONS
        if not directory.is_dir():
            return []
        return sorted(p.name for p in directory.iterdir() if _VERSION.match(p.name))

    def current(self, meter_type: MeterType, meter_id: str) -> str | None:
        """The version `current` points to, or None."""
        link = self.meter_dir(meter_type, meter_id) / CURRENT
        if not link.is_symlink():
            return None
        return Path(os.readlink(link)).name

    def save(
        self,
        meter_type: MeterType,
        meter_id: str,
        *,
        write: Callable[[Path], None],
        verify: Callable[[Path], None],
        metadata: dict[str, Any],
        keep: int,
        version: str | None = None,
        promote: bool = True,
    ) -> SavedModel:
        """Write a new version and, if `promote` (the promotion gate's decision), make it
        current.

        `write(path)` saves the model file at `path`; `verify(path)` loads it back and raises
        if it does not match. Only after both succeed is the version moved into place and made
        current; then older versions beyond `keep` are deleted.
        """
        version = version or new_version()
        versions_dir = self.meter_dir(meter_type, meter_id) / VERSIONS
        staging = versions_dir / f"{_STAGING_PREFIX}{version}"
        final = versions_dir / version
        try:
            versions_dir.mkdir(parents=True, exist_ok=True)
            self._sweep_staging(versions_dir)
            staging.mkdir()
            write(staging / MODEL_FILE)
            verify(staging / MODEL_FILE)
            (staging / METADATA_FILE).write_text(
                json.dumps({**metadata, "version": version}, indent=1, allow_nan=False)
            )
            _fsync_dir(staging)
            staging.rename(final)
            _fsync_dir(versions_dir)
            if promote:
                self._promote(meter_type, meter_id, version)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            raise StoreError(f"could not write the model to {versions_dir}: {error}") from error
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.prune(meter_type, meter_id, keep=keep)
        relative = final.relative_to(self.root) / MODEL_FILE
        return SavedModel(version=version, directory=final, model_path=relative.as_posix())

    def _promote(self, meter_type: MeterType, meter_id: str, version: str) -> None:
        meter_dir = self.meter_dir(meter_type, meter_id)
        temporary = meter_dir / f".{CURRENT}-{uuid.uuid4().hex[:8]}"
        os.symlink(Path(VERSIONS) / version, temporary)
        try:
            os.replace(temporary, meter_dir / CURRENT)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_dir(meter_dir)

    def prune(self, meter_type: MeterType, meter_id: str, *, keep: int) -> list[str]:
        """Delete the oldest versions beyond `keep`, never the current one; returns them."""
        if keep < 1:
            raise ValueError("keep must be at least 1")
        current = self.current(meter_type, meter_id)
        versions = self.versions(meter_type, meter_id)
        removable = [v for v in versions if v != current]
        excess = len(versions) - keep
        doomed = removable[: max(0, excess)]
        directory = self.meter_dir(meter_type, meter_id) / VERSIONS
        for version in doomed:
            shutil.rmtree(directory / version, ignore_errors=True)
        return doomed

    @staticmethod
    def _sweep_staging(versions_dir: Path) -> None:
        """Remove staging directories a crashed training left (old enough that no training
        of the same meter running right now can own them)."""
        cutoff = time.time() - STALE_STAGING_SECONDS
        for stale in versions_dir.glob(f"{_STAGING_PREFIX}*"):
            with contextlib.suppress(OSError):
                if stale.stat().st_mtime < cutoff:
                    shutil.rmtree(stale, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entry in `path` durable (best effort where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
