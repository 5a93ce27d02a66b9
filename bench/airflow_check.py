"""Check `zhongtai export airflow` against Airflow itself: its DagBag loads the written file without errors.

    python bench/airflow_check.py

Airflow is not a dependency of Zhongtai: this script makes its own virtual environment under
bench/airflow_env/ (gitignored; reused when present) and installs the pinned Airflow there. Then it writes a
small project with one job of every type and `every` and `cron` schedules, exports it with the platform's
own CLI, and loads the DAG folder with `DagBag` in Airflow's environment, checking the import errors (none),
the DAG ids, each DAG's schedule and its task's command. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ENV = Path(__file__).parent / "airflow_env"
AIRFLOW = ["apache-airflow==3.3.2", "apache-airflow-providers-standard==1.21.0"]
PROJECT = """\
sources:
  - {name: files, type: files, url: data}
datasets:
  - {name: orders, source: files, path: orders.csv, primary_key: [id]}
schedules:
  - {name: nightly_orders, job: ingest, target: orders, cron: "0 2 * * *"}
  - {name: flywheel, job: flywheel, every: 1d}
  - {name: escalate, job: review_escalate, every: 5m, args: ["--to", "churn=lead"]}
"""
# Run inside Airflow's environment: load the folder, report what Airflow saw.
LOAD = """
import json, sys
try:  # Airflow 3.1 and later
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "import_errors": {str(k): str(v)[-400:] for k, v in bag.import_errors.items()},
    "dags": {
        dag_id: {
            "schedule": repr(dag.timetable),
            "tasks": {t.task_id: t.bash_command for t in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
}))
"""


def airflow_python() -> Path:
    """Airflow's interpreter, installing it on first use."""
    python = ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {ENV} and installing {', '.join(AIRFLOW)} (a few minutes)", file=sys.stderr)
        venv.create(ENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *AIRFLOW], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    python = airflow_python()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "p" / "data").mkdir(parents=True)
        (root / "p" / "data" / "orders.csv").write_text("id,amount\n1,2.5\n")
        (root / "p" / "specs.yaml").write_text(PROJECT)
        dags = root / "dags"
        export = [sys.executable, "-m", "zhongtai", "export", "airflow", "-p", str(root / "p")]
        subprocess.run([*export, "--out", str(dags / "zhongtai.py")], check=True)
        env = {"AIRFLOW_HOME": str(root / "airflow"), "PATH": "/usr/bin:/bin"}
        loaded = subprocess.run([str(python), "-c", LOAD, str(dags)], capture_output=True, text=True, env=env)
        if loaded.returncode != 0:
            sys.exit(f"Airflow could not load the DAG folder:\n{loaded.stderr[-3000:]}")
    seen = json.loads(loaded.stdout.strip().splitlines()[-1])
    expected = {  # DAG id: (what its timetable's repr holds, its one task and command)
        "zhongtai_nightly_orders": ("expression='0 2 * * *'", {"nightly_orders": "zhongtai ingest orders"}),
        "zhongtai_flywheel": ("delta=datetime.timedelta(days=1)", {"flywheel": "zhongtai flywheel check"}),
        "zhongtai_escalate": (
            "delta=datetime.timedelta(seconds=300)",
            {"escalate": "zhongtai review escalate --to churn=lead"},
        ),
    }
    problems = [f"import error: {e}" for e in seen["import_errors"].values()]
    for dag_id, (schedule, tasks) in expected.items():
        got = seen["dags"].get(dag_id)
        if got is None or got["tasks"] != tasks or schedule not in got["schedule"]:
            problems.append(f"{dag_id}: expected {schedule} and tasks {tasks}, Airflow saw {got}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(json.dumps({"airflow": AIRFLOW[0], "dags": seen["dags"], "problems": problems}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
