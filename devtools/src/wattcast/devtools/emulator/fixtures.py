"""Pytest fixtures for the emulated API server (registered as a plugin in tests/conftest.py).

- ``emulator`` (session): one server for the whole run, in a background thread with its own
  event loop, on a free loopback port, with the TrainingJob CRD (``crds/trainingjob.yaml``)
  installed. A :class:`RunningEmulator`: ``.url``, ``.kubeconfig_path``,
  ``.install_crd(path_or_dict)``, ``.create_namespace(name)``, ``.delete_namespace(name)``,
  ``.call(fn, *args)`` (run ``fn(store, *args)`` on the server's loop, the only safe way to
  touch its :class:`~.store.Store` directly).
- ``kubeconfig`` (session): the path of the emulator's kubeconfig, for the kubernetes client,
  kubectl and subprocesses (``KUBECONFIG``).
- ``namespace`` (function): a fresh uniquely named namespace, deleted afterwards.
- ``fresh_emulator`` (function): a factory ``fresh_emulator(**options) -> RunningEmulator``
  for tests that need a clean server (options: ``history_size``, ``bookmark_interval_s``,
  ``crds``, ``with_trainingjob_crd``); each is stopped at the end of the test.

The repository root (for ``crds/``) is ``$WATTCAST_REPO_ROOT`` if set, else found upwards from
the working directory, else from this file's location in the source tree.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from wattcast.devtools.emulator.kubeconfig import write_kubeconfig
from wattcast.devtools.emulator.main import load_crds, prepare_store
from wattcast.devtools.emulator.server import EmulatorServer
from wattcast.devtools.emulator.store import DeleteOptions, Store

T = TypeVar("T")
TRAININGJOB_CRD = Path("crds") / "trainingjob.yaml"


def repo_root() -> Path:
    """The wattcast repository root (see the module docstring)."""
    env = os.environ.get("WATTCAST_REPO_ROOT")
    if env:
        return Path(env)
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / "crds").is_dir() and (base / "devtools").is_dir():
            return base
    return Path(__file__).resolve().parents[5]


class RunningEmulator:
    """An emulator served from a daemon thread; stop() ends the thread."""

    def __init__(
        self,
        workdir: Path,
        *,
        history_size: int = 10_000,
        bookmark_interval_s: float = 5.0,
    ) -> None:
        self.workdir = workdir
        self.store = Store(history_size=history_size)
        self._server = EmulatorServer(store=self.store, bookmark_interval_s=bookmark_interval_s)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="wattcast-emulator", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.url = ""
        self.kubeconfig_path = workdir / "kubeconfig"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.url = self._loop.run_until_complete(self._server.start())
        except BaseException as exc:  # report start failures to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._server.stop())
        self._loop.close()

    def start(self) -> RunningEmulator:
        prepare_store(self.store)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"the emulator did not start: {self._error}") from self._error
        write_kubeconfig(self.kubeconfig_path, self.url)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(store, *args)`` on the server's loop and return its result."""
        if not self._thread.is_alive():
            return fn(self.store, *args)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn(self.store, *args))
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(30)

    def install_crd(self, crd: Path | str | dict[str, Any]) -> None:
        """Install (or update) CRDs from a YAML file or a CRD dict."""
        docs = [crd] if isinstance(crd, dict) else load_crds(Path(crd))
        for doc in docs:
            self.call(lambda store, d=doc: store.install_crd(d))

    def create_namespace(self, name: str) -> None:
        def create(store: Store) -> None:
            rtype = store.lookup("", "v1", "namespaces")
            assert rtype is not None
            if store.find(rtype, None, name) is None:
                store.create(rtype, None, {"metadata": {"name": name}})

        self.call(create)

    def delete_namespace(self, name: str) -> None:
        def delete(store: Store) -> None:
            rtype = store.lookup("", "v1", "namespaces")
            assert rtype is not None
            if store.find(rtype, None, name) is not None:
                store.delete(rtype, None, name, DeleteOptions())

        self.call(delete)


def start_emulator(
    workdir: Path,
    *,
    with_trainingjob_crd: bool = True,
    crds: tuple[Path | dict[str, Any], ...] = (),
    **options: Any,
) -> RunningEmulator:
    """Start an emulator serving from ``workdir`` (its kubeconfig goes there); stop() it."""
    running = RunningEmulator(workdir, **options).start()
    try:
        crd_path = repo_root() / TRAININGJOB_CRD
        if with_trainingjob_crd and crd_path.exists():
            running.install_crd(crd_path)
        for crd in crds:
            running.install_crd(crd)
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One emulated API server for the session, with the TrainingJob CRD installed."""
    running = start_emulator(tmp_path_factory.mktemp("emulator"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def kubeconfig(emulator: RunningEmulator) -> Path:
    """Path of the session emulator's kubeconfig."""
    return emulator.kubeconfig_path


@pytest.fixture
def namespace(emulator: RunningEmulator) -> Iterator[str]:
    """A unique namespace on the session emulator, deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    emulator.create_namespace(name)
    try:
        yield name
    finally:
        emulator.delete_namespace(name)


@pytest.fixture
def fresh_emulator(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningEmulator]]:
    """A factory of clean emulators (each stopped after the test)."""
    started: list[RunningEmulator] = []

    def factory(**options: Any) -> RunningEmulator:
        running = start_emulator(tmp_path_factory.mktemp("fresh-emulator"), **options)
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            running.stop()
