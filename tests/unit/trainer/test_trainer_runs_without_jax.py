"""The trainer image holds no JAX (nor scipy, which only JAX needs): the trainer runs Keras on
TensorFlow, and only Keras' numpy backend (the API's forecasts) imports JAX, so the JAX
packages are an extra of the forecasting package that only the API asks for. This imports the
trainer's whole entry point and fits and runs a small model with `jax`, `jaxlib` and `scipy`
made unimportable, as they are in the trainer image."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BLOCKED = ("jax", "jaxlib", "scipy")

PROGRAM = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # `import jax` now raises ImportError
import numpy as np
import wattcast.trainer.main  # noqa: F401 - every module the entry point imports
from wattcast.trainer.keras_backend import load_keras
keras, _ = load_keras()
assert keras.backend.backend() == "tensorflow", keras.backend.backend()
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
x = np.ones((8, 3), dtype="float32")
model.fit(x, x[:, :1], epochs=1, verbose=0)
print(model.predict(x, verbose=0).shape)
"""


def test_the_trainer_imports_and_fits_without_jax(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("(8, 1)")


def dependencies(member: str) -> list[str]:
    project = tomllib.loads((ROOT / member / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def test_only_the_api_asks_for_the_numpy_backends_jax() -> None:
    forecasting = tomllib.loads((ROOT / "forecasting" / "pyproject.toml").read_text())
    assert not [d for d in dependencies("forecasting") if d.startswith("jax")]
    assert forecasting["project"]["optional-dependencies"]["numpy-backend"] == [
        "jax==0.10.2",
        "jaxlib==0.10.2",
    ]
    assert "wattcast-forecasting[numpy-backend]" in dependencies("api")
    assert "wattcast-forecasting" in dependencies("trainer")
