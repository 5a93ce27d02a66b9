"""The process-engine decision node: inside a real BPMN process run by SpiffWorkflow, and its contract."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.capabilities.world import KNOWN_IDS
from tests.gateway.conftest import served_world
from zhongtai.integrate.process_node import job_decision_id

pytestmark = pytest.mark.integration
BPMN = Path(__file__).parent / "bpmn" / "churn_review.bpmn"
PROCESS = {"outcomes": [{"outcome": "HUMAN_REVIEW", "min_score": 0.5}, {"outcome": "AUTO_APPROVE"}]}


def _with_process_bands(world) -> None:
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project

    folder = world.settings.home.parent / "project"
    specs = folder / "churn.yaml"
    declared = "    explain_top: 3\n"
    specs.write_text(
        specs.read_text().replace(declared, f"{declared}    process: {json.dumps(PROCESS)}\n", 1)
    )
    apply_plan(build_plan(load_project(folder), world.store), world.store)


def _engine(url: str, key: str):
    """SpiffWorkflow's script engine with a restricted environment (no builtins) whose service tasks call
    the gateway: `zhongtai/decide` the decision node, `zhongtai/feedback` the feedback route."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

    class Zhongtai(TaskDataEnvironment):
        def call_service(self, context, operation_name, operation_params):
            params = {name: p["value"] for name, p in operation_params.items()}
            headers = {"Authorization": f"Bearer {key}"}
            if operation_name == "zhongtai/decide":
                capability = params.pop("capability")
                response = httpx.post(
                    f"{url}/v1/capabilities/{capability}/node", json=params, headers=headers
                )
            else:
                decision = params.pop("decision_id")
                response = httpx.post(f"{url}/v1/decisions/{decision}/feedback", json=params, headers=headers)
            response.raise_for_status()
            return response.text

    return PythonScriptEngine(environment=Zhongtai({"__builtins__": {}}))


def _run(engine, customer_id: str, job_key: str, verdict: str = "retain"):
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(BPMN))
    workflow = BpmnWorkflow(parser.get_spec("churn_review"), script_engine=engine)
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.data.update({"customer_id": customer_id, "job_key": job_key, "business_key": f"case-{customer_id}"})
    workflow.do_engine_steps()
    reviewed = False
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        task.data["verdict"] = verdict  # the person's decision in the user task
        task.run()
        reviewed = True
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow.last_task.data, reviewed


def test_a_bpmn_process_branches_on_the_node_and_posts_the_review_verdict(tmp_path):
    with served_world(
        tmp_path, f"sqlite:///{tmp_path / 'online.db'}", prepare=_with_process_bands
    ) as gateway:
        engine = _engine(gateway.url, gateway.key)
        outcomes = {}
        for customer in KNOWN_IDS[:12]:
            data, reviewed = _run(engine, customer, job_key=f"job-{customer}")
            answer = data["answer"]
            assert answer["outcome"] == ("HUMAN_REVIEW" if answer["score"] >= 0.5 else "AUTO_APPROVE")
            assert reviewed == (answer["outcome"] == "HUMAN_REVIEW")
            assert answer["model"]["version"] == 1 and answer["deadline"] and answer["reasons"]
            if reviewed:
                assert data["feedback"]["kind"] == "verdict" and data["feedback"]["value"] == "retain"
            outcomes[customer] = answer
        assert {a["outcome"] for a in outcomes.values()} == {"HUMAN_REVIEW", "AUTO_APPROVE"}
        # The engine redelivers a job (a worker timed out): same answer, one record.
        again, _ = _run(engine, KNOWN_IDS[0], job_key=f"job-{KNOWN_IDS[0]}")
        first = outcomes[KNOWN_IDS[0]]
        assert again["answer"]["repeated"] is True
        assert {k: again["answer"][k] for k in ("decision_id", "outcome", "score", "model", "deadline")} == {
            k: first[k] for k in ("decision_id", "outcome", "score", "model", "deadline")
        }
        store = gateway.world.store
        assert len(store.decisions.by_ids([job_decision_id("churn-risk", f"job-{KNOWN_IDS[0]}")])) == 1
        reviewed_ids = [a["decision_id"] for a in outcomes.values() if a["outcome"] == "HUMAN_REVIEW"]
        assert all(store.feedback.get(d, "verdict").value == "retain" for d in reviewed_ids)


def test_feedback_refuses_unknown_decisions_and_conflicting_outcomes(tmp_path):
    with served_world(tmp_path, f"sqlite:///{tmp_path / 'online.db'}") as gateway:
        headers = {"Authorization": f"Bearer {gateway.key}"}
        job = {"job_key": "j-1", "business_key": "order-1", "inputs": {"customer_id": KNOWN_IDS[3]}}
        answer = httpx.post(
            f"{gateway.url}/v1/capabilities/churn-risk/node", json=job, headers=headers
        ).json()
        url = f"{gateway.url}/v1/decisions/{answer['decision_id']}/feedback"
        first = httpx.post(url, json={"kind": "churned", "value": True}, headers=headers)
        assert first.status_code == 200 and first.json()["duplicate"] is False
        repeat = httpx.post(url, json={"kind": "churned", "value": True}, headers=headers)
        assert repeat.json()["duplicate"] is True
        conflict = httpx.post(url, json={"kind": "churned", "value": False}, headers=headers)
        assert conflict.status_code == 409 and "already has churned feedback" in conflict.json()["message"]
        unknown = httpx.post(
            f"{gateway.url}/v1/decisions/00000000-0000-0000-0000-000000000000/feedback",
            json={"kind": "clicked", "value": True},
            headers=headers,
        )
        assert unknown.status_code == 404 and "not in the decision log" in unknown.json()["message"]
        bad = httpx.post(url, json={"kind": "liked", "value": True}, headers=headers)
        assert bad.status_code == 422 and "kind: Input should be 'clicked'" in bad.json()["message"]
        missing = httpx.post(
            f"{gateway.url}/v1/capabilities/churn-risk/node", json={"job_key": "x"}, headers=headers
        )
        assert missing.status_code == 422 and "business_key" in missing.json()["message"]
