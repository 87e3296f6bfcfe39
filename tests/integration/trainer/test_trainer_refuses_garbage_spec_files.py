"""`wattcast-trainer --spec FILE` with anything but a small YAML file: exit 2 (permanent), one
log line naming the reason, no traceback, and the reason in the termination log.

Every case is read by the spec-file loader in this process (fast); one case of each class also
runs the installed console script as a process, as a user would (all at once, so the slow
start-up of the trainer's imports is paid once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wattcast.forecasting.errors import InvalidConfigError
from wattcast.trainer.job_loading import load_spec_file
from wattcast.trainer.specfile import MAX_SPEC_BYTES, MAX_SPEC_DEPTH

TRAINER = Path(sys.executable).with_name("wattcast-trainer")
SPEC_TEXT = (
    "apiVersion: wattcast.dev/v1alpha1\nkind: TrainingJob\nmetadata: {name: tj}\nspec:\n"
    "  meterId: m1\n  meterType: electricity\n"
    '  start: "2024-01-01T00:00:00Z"\n  end: "2024-03-01T00:00:00Z"\n'
)


def _write(data: bytes) -> Callable[[Path], Path]:
    def make(directory: Path) -> Path:
        path = directory / "spec.yaml"
        path.write_bytes(data)
        return path

    return make


def _huge(directory: Path) -> Path:
    path = directory / "huge.yaml"
    with path.open("wb") as out:  # sparse: 4 GiB of NULs on no disk at all
        out.truncate(4 * 1024**3)
    return path


def _just_over(directory: Path) -> Path:
    path = directory / "over.yaml"
    path.write_bytes(SPEC_TEXT.encode() + b"#" * (MAX_SPEC_BYTES - len(SPEC_TEXT) + 1))
    return path


def _fifo(directory: Path) -> Path:
    path = directory / "spec.fifo"
    os.mkfifo(path)
    return path


def _directory(directory: Path) -> Path:
    path = directory / "specs"
    path.mkdir()
    return path


def _device(name: str) -> Callable[[Path], Path]:
    return lambda directory: Path(name)


def _billion_laughs() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join([f'*{prev}'] * 9)}]")
    return (SPEC_TEXT + "  model: *i\n").encode() + ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], Path]
    words: str


CASES = [
    Case("invalid-utf8", _write(b"spec:\n  meterId: m\xff\xfe1\n"), "is not UTF-8 text"),
    Case("latin1-file", _write("spec: {meterId: zähler}".encode("latin-1")), "is not UTF-8"),
    Case("deep-flow-nesting", _write(b"[" * 200_000 + b"]" * 200_000), "nests deeper than"),
    Case(
        "deep-block-nesting",
        _write("".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_SPEC_DEPTH + 5)).encode()),
        "nests deeper than",
    ),
    Case("billion-laughs", _write(_billion_laughs()), "not accepted in a spec file"),
    Case("one-alias", _write((SPEC_TEXT + "  model: &m {epochs: 3}\n").encode()), "anchors"),
    Case("huge-sparse-file", _huge, f"larger than {MAX_SPEC_BYTES} bytes"),
    Case("one-byte-too-many", _just_over, f"larger than {MAX_SPEC_BYTES} bytes"),
    Case("dev-zero", _device("/dev/zero"), "is a character device, not a regular file"),
    Case("dev-urandom", _device("/dev/urandom"), "is a character device, not a regular file"),
    Case("dev-null", _device("/dev/null"), "is a character device, not a regular file"),
    Case("directory", _directory, "is a directory, not a regular file"),
    Case("fifo-without-writer", _fifo, "is a FIFO, not a regular file"),
    Case("missing-file", lambda d: d / "absent.yaml", "No such file or directory"),
    Case("nul-bytes", _write(b"spec:\x00\x00\x00"), "not valid YAML"),
    Case("yaml-python-tag", _write(b"spec: !!python/object/apply:os.system [id]\n"), "valid"),
    Case("two-documents", _write((SPEC_TEXT + "---\n" + SPEC_TEXT).encode()), "single document"),
    Case("a-list", _write(b"- 1\n- 2\n"), "is not a TrainingJob object"),
]


# One of each class (encoding, nesting, aliases, size, devices, directories, FIFOs).
PROCESS_CASES = [
    c
    for c in CASES
    if c.id
    in {
        "invalid-utf8",
        "deep-flow-nesting",
        "billion-laughs",
        "huge-sparse-file",
        "dev-zero",
        "dev-urandom",
        "directory",
        "fifo-without-writer",
    }
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_garbage_spec_file_is_refused_with_a_named_reason(case: Case, tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError) as refused:
        load_spec_file(case.make(tmp_path))
    assert refused.value.exit_code == 2
    assert case.words in refused.value.message
    assert len(refused.value.message) < 400


def test_a_good_spec_file_still_loads(tmp_path: Path) -> None:
    job = load_spec_file(_write(SPEC_TEXT.encode())(tmp_path))
    assert job.spec.meter_id == "m1"


@dataclass
class Finished:
    returncode: int
    stderr: str
    termination: dict[str, object] | None


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Finished]]:
    running = {}
    for case in PROCESS_CASES:
        directory = tmp_path_factory.mktemp(case.id)
        spec = case.make(directory)
        term = directory / "termination.json"
        process = subprocess.Popen(
            [str(TRAINER), "--spec", str(spec), "--termination-log", str(term), "--no-progress"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "INFLUX_URL": "http://127.0.0.1:9"},
        )
        running[case.id] = (process, term)
    results = {}
    try:
        for case_id, (process, term) in running.items():
            _, err = process.communicate(timeout=240)
            termination = json.loads(term.read_bytes()) if term.exists() else None
            stderr = err.decode(errors="replace")
            results[case_id] = Finished(process.returncode, stderr, termination)
        yield results
    finally:
        for process, _ in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("case", PROCESS_CASES, ids=[c.id for c in PROCESS_CASES])
def test_garbage_spec_file_exits_permanent_with_one_named_reason(
    case: Case, finished: dict[str, Finished]
) -> None:
    run = finished[case.id]
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert "training failed (InvalidConfig)" in lines[0]
    assert case.words in lines[0]
    assert len(lines[0]) < 400  # the reason, never a dump of the input
    assert run.termination is not None
    assert run.termination["reason"] == "InvalidConfig"
    assert case.words in str(run.termination["message"])
