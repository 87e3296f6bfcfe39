"""`make demo`: the whole system on this machine, from an HTTP request to a saved model.

    python -m wattcast.devtools.demo [--influx 2|1] [--keep] [--workdir DIR]

Starts a real InfluxDB (by default InfluxDB 2 with Flux, the seed's store; `--influx 1`, i.e.
`make demo INFLUX=1`: Debian's 1.6 with InfluxQL), a real one-node Kubernetes cluster (upstream
etcd, kube-apiserver and kube-controller-manager, and the process kubelet) with the TrainingJob
CRD and the chart's ServiceAccounts and RBAC, the operator (its default source that InfluxDB,
trainers reading it with a read-only token) and the REST API each under its own
ServiceAccount (:class:`~wattcast.devtools.stack.LocalStack`); loads synthetic readings for a
few meters in the seed's format; submits one training per meter through the seed's
`POST /trainmodel/v2/`; shows live progress; prints the seed-shaped status JSON of each task
and where its model is; prints each meter's day-ahead forecast from
`GET /v1/forecasts/...`; shows `kubectl get tj` against that cluster; then stops everything
it started. Exit code 0 when every task ended in SUCCESS.

With `--keep` (`make demo KEEP=1`) the stack stays up after the trainings, with the usage
printed (URLs, token, KUBECONFIG, kubectl/curl/wattcast commands), until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from wattcast.cli.client import ApiClient, CliError
from wattcast.cli.render import bar_fields, is_finished, progress_bar
from wattcast.devtools.processes import repo_root
from wattcast.devtools.stack import LocalStack, StackOptions, StartError
from wattcast.devtools.testbed.influx import InfluxError
from wattcast.devtools.testbed.instance import Flavor
from wattcast.devtools.testbed.synthetic import generate_meter

# The demo's meters: (meter id, meter type, synthetic profile). Eight weeks of hourly data
# each: enough for the trainer's defaults (14 days minimum, 14 days of holdout).
METERS: tuple[tuple[str, str, str], ...] = (
    ("meter1", "electricity", "household"),
    ("meter2", "electricity", "commercial"),
    ("water1", "water", "water"),
)
START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 56
PREFERRED_API_PORT = 8000  # the seed's curl examples use it; another is taken if busy
TRAINING_TIMEOUT_S = 600.0


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _default_workdir() -> Path:
    try:
        return repo_root() / ".work" / "demo"
    except FileNotFoundError:
        return Path.home() / ".cache" / "wattcast-demo"


class Demo:
    """One run of the demo (see the module docstring)."""

    def __init__(self, console: Console, workdir: Path, keep: bool, influx: Flavor = 2) -> None:
        self.console = console
        self.workdir = workdir
        self.keep = keep
        api_port = PREFERRED_API_PORT if _port_free(PREFERRED_API_PORT) else None
        self.stack = LocalStack(
            StackOptions(
                workdir=workdir,
                capacity=2,
                api_port=api_port,
                influx_flavor=influx,
            )
        )
        self.started = time.monotonic()

    def elapsed(self) -> str:
        return f"[dim]{time.monotonic() - self.started:5.1f}s[/dim]"

    def step(self, text: str) -> None:
        self.console.print(f"{self.elapsed()}  {text}")

    # --- the story ---------------------------------------------------------------------------

    def run(self) -> int:
        self.console.rule("[bold]wattcast demo[/bold]")
        self.start_stack()
        self.load_data()
        tasks = self.submit()
        finished = self.follow(tasks)
        ok = self.report({name: finished[name] for name in tasks if name in finished})
        self.show_forecasts()
        self.show_kubectl()
        if self.keep:
            self.show_usage()
            self.wait_for_interrupt()
        return 0 if ok else 1

    def start_stack(self) -> None:
        stack = self.stack
        flavor = stack.options.influx_flavor
        with self.console.status(f"starting InfluxDB {flavor}"):
            stack.workdir.mkdir(parents=True, exist_ok=True)
            stack.start_influx()
        connection = stack.connection
        where = (
            f"org {connection.org}, bucket {connection.bucket}, Flux"
            if connection.dialect == "flux"
            else f"database {connection.database}, InfluxQL"
        )
        self.step(f"InfluxDB {connection.version:<9} {connection.url} ({where}, auth on)")
        with self.console.status(
            "starting Kubernetes (etcd, kube-apiserver, controllers, kubelet)"
        ):
            stack.start_cluster()
        self.step(f"Kubernetes         {stack.cluster.server} (v1.34, TrainingJob CRD, chart RBAC)")
        self.step("kubelet            2 pods at a time, each a local process in its own mounts")
        with self.console.status("starting the operator"):
            stack.start_operator()
        self.step(
            "operator           wattcast-operator (Kopf), source = that InfluxDB (read-only token)"
        )
        with self.console.status("starting the REST API"):
            stack.start_api()
        self.step(f"REST API           {stack.api_url} (bearer token generated)")

    def load_data(self) -> None:
        table = Table(box=None, header_style="bold")
        for column in ("meter_id", "measurement", "points", "range"):
            table.add_column(column)
        end = START + timedelta(days=DAYS)
        with self.console.status("writing synthetic readings"):
            for meter_id, meter_type, profile in METERS:
                frame = generate_meter(profile, start=START, end=end, seed=len(meter_id))
                points = self.stack.write_meter(meter_type, meter_id, frame)
                table.add_row(
                    meter_id,
                    f"{meter_type}_consumption",
                    str(points),
                    f"{START:%Y-%m-%d} .. {end:%Y-%m-%d} hourly",
                )
        self.step(
            "loaded synthetic readings in the seed's format (tag meter_id, fields "
            "consumption, temperature):"
        )
        self.console.print(table)

    def submit(self) -> list[str]:
        end = START + timedelta(days=DAYS)
        tasks: list[str] = []
        headers = {"Authorization": f"Bearer {self.stack.token}"}
        for meter_id, meter_type, _ in METERS:
            body = {
                "meter_id": meter_id,
                "meter_type": meter_type,
                "start_date": START.isoformat().replace("+00:00", "Z"),
                "end_date": end.isoformat().replace("+00:00", "Z"),
            }
            response = httpx.post(
                f"{self.stack.api_url}/trainmodel/v2/", json=body, headers=headers, timeout=30
            )
            response.raise_for_status()
            answer = response.json()
            tasks.append(str(answer["task_id"]))
            if len(tasks) == 1:
                self.step("POST /trainmodel/v2/ " + json.dumps(body))
                self.console.print_json(data=answer)
        self.step(f"submitted {len(tasks)} trainings (one TrainingJob each)")
        return tasks

    def follow(self, tasks: list[str]) -> dict[str, dict[str, Any]]:
        """Live progress of every task until all finished (or the timeout)."""
        finished: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + TRAINING_TIMEOUT_S
        progress = progress_bar(self.console)
        ids: dict[str, Any] = {}
        with ApiClient(self.stack.api_url, token=self.stack.token) as client, progress:
            while len(finished) < len(tasks) and time.monotonic() < deadline:
                for name in tasks:
                    if name in finished:
                        continue
                    try:
                        job = client.get(name)
                    except CliError:
                        continue
                    fields = bar_fields(job)
                    completed = fields.pop("completed")
                    meter = (job.get("spec") or {}).get("meterId", name[:8])
                    if name not in ids:
                        ids[name] = progress.add_task("", total=100, name=meter, **fields)
                    progress.update(ids[name], completed=completed, **fields)
                    if is_finished(job):
                        finished[name] = job
                time.sleep(0.5)
        return finished

    def report(self, finished: dict[str, dict[str, Any]]) -> bool:
        headers = {"Authorization": f"Bearer {self.stack.token}"}
        ok = True
        for name, job in finished.items():
            seed = httpx.get(
                f"{self.stack.api_url}/trainmodel/status/{name}", headers=headers, timeout=30
            ).json()
            self.step(f"GET /trainmodel/status/{name}")
            self.console.print_json(data=seed)
            result = ((job.get("status") or {}).get("result")) or {}
            if seed.get("status") == "SUCCESS" and result.get("modelPath"):
                model = self.stack.models_dir / str(result["modelPath"])
                metrics = (result.get("metrics") or {}).get("model") or {}
                self.console.print(
                    f"   model: [bold]{model}[/bold]"
                    + (f"  (holdout MAE {metrics['mae']:.3f})" if "mae" in metrics else ""),
                    soft_wrap=True,
                )
            else:
                ok = False
        missing = len(METERS) - len(finished)
        if missing:
            ok = False
            self.console.print(f"[red]{missing} training(s) did not finish in time[/red]")
            self.console.print(self.stack.logs())
        elif not ok:
            self.console.print(self.stack.logs())
        verdict = "[green]SUCCESS[/green]" if ok else "[red]FAILURE[/red]"
        self.step(f"all trainings ended: {verdict}")
        return ok

    def show_forecasts(self) -> None:
        """Each meter's day-ahead forecast from its current model, through the REST API."""
        headers = {"Authorization": f"Bearer {self.stack.token}"}
        self.console.rule("day-ahead forecasts (GET /v1/forecasts/{meterType}/{meterId})")
        for meter_id, meter_type, _profile in METERS:
            url = f"{self.stack.api_url}/v1/forecasts/{meter_type}/{meter_id}"
            answer = httpx.get(url, params={"hours": 24}, headers=headers, timeout=120)
            if answer.status_code == 404:
                # The promotion gate kept this version from becoming current (its result said
                # why, above): there is no model to forecast with, and the demo says so.
                self.console.print(f"{meter_type}/{meter_id}: no current model (not promoted)")
                continue
            if answer.status_code != 200:
                self.console.print(f"{meter_id}: no forecast ({answer.status_code}): {answer.text}")
                continue
            forecast = answer.json()
            self.console.print(
                f"{meter_type}/{meter_id}  model {forecast['modelVersion']}  "
                f"from {forecast['origin']}",
                soft_wrap=True,
            )
            table = Table(box=None, header_style="bold")
            for column in ("time", "forecast", "lower", "upper"):
                table.add_column(column, justify="left" if column == "time" else "right")
            for point in forecast["points"][::3]:  # every third hour keeps it on one screen
                table.add_row(
                    point["time"], *(f"{point[key]:.3f}" for key in ("forecast", "lower", "upper"))
                )
            self.console.print(table)

    def show_kubectl(self) -> None:
        kubectl = Path(sys.executable).with_name("kubectl")
        command = [str(kubectl), "--kubeconfig", str(self.stack.kubeconfig), "get", "tj"]
        self.step(f"KUBECONFIG={self.stack.kubeconfig} kubectl get tj")
        if not kubectl.exists():
            self.console.print("   (kubectl is not installed: run `make setup`)")
            return
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        self.console.print(
            done.stdout.rstrip() or done.stderr.rstrip(), markup=False, soft_wrap=True
        )

    def show_usage(self) -> None:
        stack = self.stack
        env = stack.env()
        exports = "\n".join(f"export {k}={v}" for k, v in env.items())
        body = json.dumps(
            {
                "meter_id": "meter1",
                "meter_type": "electricity",
                "start_date": "2024-01-01T00:00:00Z",
                "end_date": "2024-02-26T00:00:00Z",
            }
        )
        text = f"""[bold]The stack keeps running until you press Ctrl-C.[/bold]

In another terminal:
{exports}
export PATH={Path(sys.executable).parent}:$PATH

[bold]REST API[/bold]  {stack.api_url}/docs   (dashboard: {stack.api_url}/)
curl -s -X POST {stack.api_url}/trainmodel/v2/ -H "Authorization: Bearer $WATTCAST_API_TOKEN" \\
     -H 'Content-Type: application/json' \\
     -d '{body}'
curl -s {stack.api_url}/trainmodel/status/<task_id> -H "Authorization: Bearer $WATTCAST_API_TOKEN"

[bold]CLI[/bold]
wattcast train meter2 --start 2024-01-01T00:00:00Z --end 2024-02-26T00:00:00Z --wait
wattcast list
wattcast result <name>

[bold]kubectl[/bold]
kubectl get tj
kubectl describe tj <name>
kubectl apply -f examples/meter1-electricity.yaml   (no data for 2023 here: fails fast)
kubectl get jobs,pods

[bold]InfluxDB[/bold]  {stack.connection.url}  (url, tokens: {stack.workdir / "influx"})

Models: {stack.models_dir}
Logs:   {stack.workdir / "logs"}   trainer pods: {stack.cluster.workdir / "kubelet" / "logs"}"""
        self.console.print(Panel(text, title="wattcast local stack", expand=False))

    def wait_for_interrupt(self) -> None:
        stop = threading.Event()

        def handler(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        self.console.print("stopping the stack")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wattcast.devtools.demo",
        description="Run the whole wattcast system on this machine and train a few models.",
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the stack running until Ctrl-C (KEEP=1)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where models, logs and kubeconfig go"
    )
    parser.add_argument(
        "--influx",
        type=int,
        choices=(2, 1),
        default=2,
        help="2: InfluxDB 2 with Flux (the seed's, default); 1: InfluxDB 1.6 with InfluxQL",
    )
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    workdir = (args.workdir or _default_workdir()).resolve()
    # A fresh stack each run: the previous run's models and logs go.
    shutil.rmtree(workdir, ignore_errors=True)
    demo = Demo(console, workdir, keep=args.keep, influx=args.influx)
    try:
        code = demo.run()
    except KeyboardInterrupt:
        console.print("interrupted: stopping the stack")
        code = 130
    except (StartError, InfluxError, httpx.HTTPError, OSError) as error:
        console.print(f"[red]the demo failed:[/red] {error}")
        console.print(demo.stack.logs(), markup=False)
        code = 1
    finally:
        demo.stack.stop()
    console.print(f"{demo.elapsed()}  stopped everything the demo started (work dir {workdir})")
    return code


if __name__ == "__main__":
    sys.exit(main())
