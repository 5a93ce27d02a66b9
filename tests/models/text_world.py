"""A tiny ticket desk for text classification tests: a files source with tickets (zh and en, from the retail
generator's templates) and a customer profile, applied as a project, ingested into a real lake, its view built.

Four intents with their own words; customers 1-20 spend a lot, the rest little, so an escalation rule over
the profile has someone to catch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from zhongtai.features.offline import build_view
from zhongtai.lake.ingest import ingest
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore
from zhongtai.scenarios.retail import service_text
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.project import load_project

INTENTS = ("order_status", "refund_request", "product_inquiry", "complaint")
CUSTOMERS = 60
SPECS = """\
sources:
  - {{name: desk, type: files, url: "{folder}"}}
datasets:
  - name: tickets
    source: desk
    path: tickets.jsonl
    format: jsonl
    primary_key: [ticket_id]
    fields:
      - {{name: customer_id, type: int64}}
      - {{name: created_at, type: timestamp}}
  - name: profiles
    source: desk
    path: profiles.jsonl
    format: jsonl
    primary_key: [customer_id]
    fields:
      - {{name: customer_id, type: int64}}
      - {{name: since, type: timestamp}}
      - {{name: spend_90d, type: float64}}
entities:
  - {{name: customer, join_keys: [customer_id], key_types: {{customer_id: int64}}}}
feature_views:
  - name: profile
    entity: customer
    ttl: 3650d
    sql: SELECT customer_id, since AS ts, spend_90d FROM profiles
    features: [{{name: spend_90d, type: float64}}]
models:
  - name: intent
    task: text_classification
    entity: customer
    label:
      sql: SELECT customer_id, created_at AS ts, {text} AS text, category AS label FROM tickets
    feature_views: [profile]
    text: {{column: text, languages: [{languages}], other: {{label: other, held_out_classes: 1, rounds: 2}}}}
capabilities:
  - name: intent
    model: intent
    input: customer_id
    fallback: {{decision: other}}
    routing:
      min_confidence: 0.4
      queues: {{refund_request: refunds, complaint: care}}
      escalate:
        - {{name: angry_high_value, when: "intent = 'complaint' AND profile.spend_90d >= 5000", queue: vip_care}}
"""


@dataclass
class Desk:
    store: MetadataStore
    lake: LakeStorage
    folder: Path


def _slots(rng: np.random.Generator, english: bool) -> dict[str, str]:
    return {
        "order_no": f"SO2024{int(rng.integers(10**8)):08d}",
        "product": str(rng.choice(["蓝牙耳机", "面膜", "running shoes", "猫砂"])),
        "days": str(int(rng.integers(3, 15))),
        "amount": str(int(rng.integers(20, 2000))),
        "city": "Shanghai" if english else "上海",
        "phone": "13812345678",
        "member": "M1234567",
    }


def tickets(rows: int, seed: int = 3) -> list[dict]:
    """Ticket records over 60 days, a third in English, their category the intent they were written for."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    out = []
    for k in range(rows):
        intent = INTENTS[int(rng.integers(len(INTENTS)))]
        english = rng.random() < 0.35
        templates = (service_text.EN if english else service_text.ZH)[intent]
        text = templates[int(rng.integers(len(templates)))].format(**_slots(rng, english))
        out.append(
            {
                "ticket_id": f"T{k:05d}",
                "customer_id": int(rng.integers(1, CUSTOMERS + 1)),
                "created_at": (start + timedelta(minutes=int(k * 60 * 24 * 60 / rows))).isoformat(),
                "text": text,
                "category": intent,
            }
        )
    return out


def profiles() -> list[dict]:
    return [
        {"customer_id": c, "since": "2023-01-01T00:00:00+00:00", "spend_90d": 8000.0 if c <= 20 else 300.0}
        for c in range(1, CUSTOMERS + 1)
    ]


def make_desk(
    tmp_path: Path,
    rows: int = 400,
    *,
    text: str = "text",
    languages: str = "zh, en",
    records: list[dict] | None = None,
) -> Desk:
    """Write the files, apply the project (the label SQL selects `text` as the text), ingest, build the view."""
    folder = tmp_path / "desk"
    folder.mkdir(exist_ok=True)
    lines = records if records is not None else tickets(rows)
    (folder / "tickets.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
    (folder / "profiles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in profiles()))
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / "desk.yaml").write_text(SPECS.format(folder=folder, text=text, languages=languages))
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    apply_plan(build_plan(load_project(project), store), store)
    lake = LakeStorage(str(tmp_path / "lake"))
    for name in ("tickets", "profiles"):
        ingest(store, lake, name)
    build_view(store, lake, "profile")
    return Desk(store, lake, folder)
