"""The Airflow DAG file `zhongtai export airflow` writes (loaded by Airflow itself in bench/airflow_check.py)."""

from __future__ import annotations

import ast

import pytest

from zhongtai.scheduler.airflow import dag_source, write_dag
from zhongtai.spec.schedule import ScheduleSpec

pytestmark = pytest.mark.unit

JOBS = {
    "nightly": ScheduleSpec(name="nightly", job="ingest", target="orders", cron="0 2 * * *"),
    "drift": ScheduleSpec(
        name="drift",
        job="drift",
        target="churn-risk",
        every="6h",
        args=["--window", "{{ ds }}"],
        description='says "hi"\nand then """ breaks out',
    ),
}


def _calls(source: str) -> dict[str, dict[str, object]]:
    """Each DAG's keywords and its one task's keywords, read back as literals (no code is run)."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.With):
            dag = node.items[0].context_expr
            assert isinstance(dag, ast.Call)
            keys = {k.arg: k.value for k in dag.keywords}
            [statement] = node.body
            assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            task = {k.arg: ast.literal_eval(k.value) for k in statement.value.keywords}
            found[ast.literal_eval(keys["dag_id"])] = {
                "schedule": ast.unparse(keys["schedule"]),
                "description": ast.literal_eval(keys["description"]),
                **task,
            }
    return found


def test_one_dag_per_job_with_its_schedule_and_command():
    found = _calls(dag_source(JOBS, "/opt/zt/bin/zhongtai"))
    assert found["zhongtai_nightly"] == {
        "schedule": "'0 2 * * *'",
        "description": "zhongtai ingest",
        "task_id": "nightly",
        "bash_command": "/opt/zt/bin/zhongtai ingest orders",
        "append_env": True,
    }
    drift = found["zhongtai_drift"]
    assert drift["schedule"] == "timedelta(seconds=21600)"
    assert drift["description"] == 'says "hi"\nand then """ breaks out'  # a literal, never code
    assert drift["bash_command"] == (
        "{% raw %}/opt/zt/bin/zhongtai monitor drift churn-risk --window '{{ ds }}'{% endraw %}"
    )


def test_the_file_is_written_whole(tmp_path):
    out = tmp_path / "dags" / "zhongtai.py"
    write_dag(JOBS, out)
    assert out.read_text(encoding="utf-8") == dag_source(JOBS)
    assert [p.name for p in out.parent.iterdir()] == ["zhongtai.py"]
