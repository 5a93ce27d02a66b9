"""The project folder: sources, datasets and entities of the scenario as YAML specs that `zhongtai apply`
accepts as they are. The truth folder is deliberately not among them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from zhongtai.identity.config import retail_config
from zhongtai.scenarios.retail import schema
from zhongtai.scenarios.retail.project_entities import PRODUCT_STORE, entity_documents
from zhongtai.scenarios.retail.project_fields import (
    DATASET_NOTES,
    FILE_FIELDS,
    PII_STORAGE,
    REDACT,
    SQL_NOTES,
)
from zhongtai.scenarios.retail.project_forecast import forecast_documents
from zhongtai.scenarios.retail.project_recommend import recommend_documents
from zhongtai.scenarios.retail.service_intent import CHURN_SCORES, intent_capability, intent_model
from zhongtai.scenarios.retail.windows import STREAMS, window_views
from zhongtai.spec.models import spec_payload

SQL_DATASETS = (
    ("crm", "crm_customers", schema.customers),
    ("crm", "crm_loyalty_members", schema.loyalty_members),
    ("erp", "erp_products", schema.products),
    ("erp", "erp_stores", schema.stores),
    ("erp", "erp_orders", schema.orders),
    ("erp", "erp_order_lines", schema.order_lines),
)
# The role of the retail business's own systems (the demo's key): the project's policy lets it call every
# capability; a key of any other role calls only what a rule grants it.
APP_ROLE = "app"
ENTITIES = (
    {
        "name": "person",
        "join_keys": ["person_id"],
        "description": "One human across every source system (OneID); no source carries it, identity resolution does",
    },
    {
        "name": "customer",
        "join_keys": ["customer_id"],
        "key_types": {"customer_id": "int64"},
        "description": "A CRM customer record",
    },
    {
        "name": "product",
        "join_keys": ["product_id"],
        "key_types": {"product_id": "int64"},
        "description": "A product of the catalogue",
    },
    {
        "name": "store",
        "join_keys": ["store_id"],
        "key_types": {"store_id": "int64"},
        "description": "A store or e-commerce shop",
    },
    PRODUCT_STORE,
)


def write_project(folder: Path, crm_url: str, erp_url: str, header: str) -> list[str]:
    """Write the spec files into `folder`; returns the names of the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    documents: dict[str, dict[str, Any]] = {
        "sources.yaml": {"sources": _sources(crm_url, erp_url)},
        "entities.yaml": {"entities": list(ENTITIES)},
        "crm.yaml": {"datasets": [_sql_dataset(*item) for item in SQL_DATASETS if item[0] == "crm"]},
        "erp.yaml": {"datasets": [_sql_dataset(*item) for item in SQL_DATASETS if item[0] == "erp"]},
        "clickstream.yaml": {
            "datasets": [
                _file_dataset(
                    "click_events", "clickstream", "events-*.jsonl", "jsonl", ["event_id"], "ts", "streaming"
                )
            ]
        },
        "service.yaml": {
            "datasets": [
                _file_dataset(
                    "service_tickets",
                    "service",
                    "tickets.jsonl",
                    "jsonl",
                    ["ticket_id"],
                    "updated_at",
                    "hourly",
                )
            ]
        },
        "inventory.yaml": {
            "datasets": [
                _file_dataset(
                    "inventory_stock",
                    "inventory",
                    "stock-*.csv",
                    "csv",
                    ["date", "store_id", "product_id"],
                    "date",
                    "daily",
                ),
                _calendar_dataset(),
            ]
        },
    }
    documents.update(_intelligence_documents())
    documents.update(entity_documents(_sql, _features))
    documents.update(forecast_documents(_sql, _features))
    # After the forecast's: the recommender reads its stock-out risk view when the project has one.
    documents.update(recommend_documents(_sql, documents))
    for document in documents.values():
        for dataset in document.get("datasets", []):
            if dataset["name"] in STREAMS:
                dataset["stream"] = STREAMS[dataset["name"]]
    documents["windows.yaml"] = {"feature_views": window_views()}
    documents["schedules.yaml"] = {"schedules": schedules()}
    for name, document in documents.items():
        body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
        (folder / name).write_text(f"# {header}\n{body}", encoding="utf-8")
    return list(documents)


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the SQL) as literal blocks, so the specs read like the SQL files they are."""


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _literal)


def _sql(name: str) -> str:
    return (resources.files("zhongtai.scenarios.retail") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def _features(*specs: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"name": name, "type": kind, "description": text} for name, kind, text in specs]


def _intelligence_documents() -> dict[str, dict[str, Any]]:
    """Feature views, the churn model and the churn-risk capability, keyed on the OneID person: their SQL
    finds orders, tickets and CRM records through the identity's crosswalk (`person_crosswalk`)."""
    views = [
        {
            "name": "customer_orders",
            "entity": "person",
            "timestamp": "ts",
            "ttl": "14d",
            "owner": "data-team",
            "description": "Weekly snapshots of a person's orders in every channel: counts over 30 to 365 days, "
            "spend, refunds, recency, time since the first order",
            "sql": _sql("customer_orders"),
            "features": _features(
                ("orders_30d", "int64", "orders in the 30 days before the snapshot"),
                ("orders_90d", "int64", "orders in the 90 days before the snapshot"),
                ("spend_30d", "float64", "order value in the 30 days before the snapshot"),
                ("spend_90d", "float64", "order value in the 90 days before the snapshot"),
                ("refunds_90d", "int64", "refunded or returned orders in 90 days"),
                ("days_since_last_order", "int64", "days from the last order to the snapshot"),
                ("orders_total", "int64", "orders up to the snapshot"),
                ("orders_180d", "int64", "orders in the 180 days before the snapshot"),
                ("orders_365d", "int64", "orders in the 365 days before the snapshot"),
                ("days_since_first_order", "int64", "days from the first order on record to the snapshot"),
            ),
        },
        {
            "name": "customer_service",
            "entity": "person",
            "timestamp": "ts",
            "ttl": "14d",
            "owner": "data-team",
            "description": "Weekly snapshots of a person's service tickets and complaints",
            "sql": _sql("customer_service"),
            "features": _features(
                ("tickets_30d", "int64", "tickets opened in 30 days"),
                ("tickets_90d", "int64", "tickets opened in 90 days"),
                ("complaints_90d", "int64", "tickets in 90 days whose text reads as a complaint"),
            ),
        },
        {
            "name": "customer_profile",
            "entity": "person",
            "timestamp": "ts",
            "ttl": "3650d",
            "owner": "crm-team",
            "description": "What the CRM knew of the person at registration",
            "sql": _sql("customer_profile"),
            "features": _features(
                ("marketing_opt_in", "int64", "1 if the customer accepted marketing"),
                ("registered_in_store", "int64", "1 if the customer registered in a store"),
                ("age_at_registration", "int64", "age in years at registration"),
            ),
        },
    ]
    model = {
        "name": "churn",
        "task": "binary_classification",
        "entity": "person",
        "owner": "data-team",
        "description": "Will an active CRM customer (an order in the last 180 days) place no order in the next 90 days?",
        "label": {"sql": _sql("churn_labels"), "timestamp": "ts", "label": "label"},
        "feature_views": [v["name"] for v in views],
        "algorithm": "lightgbm",
        "params": {"learning_rate": 0.05, "num_leaves": 31, "num_boost_round": 300},
        "validation": {"split": "time", "fraction": 0.2},
        "threshold": 0.5,
        # Two LightGBM shapes and a logistic model compete on the same holdout; the logistic baseline is
        # trained beside them anyway, so the card says what the winner adds over a simple model.
        "candidates": {
            "budget": "10m",
            "metric": "auc",
            "algorithms": [
                {"algorithm": "lightgbm", "grid": {"num_leaves": [15, 31]}},
                {"algorithm": "logistic", "params": {"C": 1.0}},
            ],
        },
        "card": {
            "purpose": "Rank active CRM customers by the risk of placing no order in the next 90 days, "
            "so the CRM team can choose whom to offer a retention incentive",
            "owner": "data-team",
            "not_for": [
                "credit, insurance or employment decisions about a person",
                "setting individual prices or withholding service",
                "customers without an order in the last 180 days (they are outside the label population)",
            ],
        },
        # customer_profile features: the marketing consent and the registration channel of the person
        "slices": ["marketing_opt_in", "registered_in_store"],
        # Its champion's scores, published after each promotion, are a feature (the view churn_scores)
        # that the intent capability's routing reads.
        "outputs": CHURN_SCORES,
    }
    scores_view = {
        "name": CHURN_SCORES,
        "entity": "person",
        "timestamp": "ts",
        "ttl": "30d",
        "owner": "data-team",
        "description": "The published scores of model 'churn': each person's risk of placing no order in the "
        "next 90 days",
        "sql": _sql("churn_scores"),
        "features": _features(
            ("churn_score", "float64", "probability of no order in the next 90 days, 0..1"),
            ("model_version", "int64", "the version of 'churn' that published the score"),
        ),
    }
    capability = {
        "name": "churn-risk",
        "model": "churn",
        "alias": "champion",
        "input": "customer_id",
        "input_dataset": "crm_customers",
        "owner": "crm-team",
        "description": "Churn risk of a CRM customer, with the factors behind it, for retention offers",
        "decisions": [
            {"decision": "retain_offer", "min_score": 0.6},
            {"decision": "watch", "min_score": 0.4},
            {"decision": "none", "min_score": 0.0},
        ],
        "fallback": {"decision": "watch"},
        "explain_top": 5,
        "write_back": {"source": "crm", "table": "zt_churn_scores"},
    }
    tags = [
        {
            "name": "high_value",
            "entity": "person",
            "every": "1d",
            "owner": "crm-team",
            "description": "People whose loyalty membership spent more than 5,000 in the last 12 months",
            "sql": (
                "SELECT DISTINCT x.person_id\n"
                "FROM crm_loyalty_members m\n"
                "JOIN person_crosswalk x ON x.dataset = 'crm_loyalty_members' AND x.key = m.member_id\n"
                "WHERE m.spend_12m > 5000\n"
            ),
        },
        {
            "name": "complained_30d",
            "entity": "person",
            "every": "1d",
            "owner": "service-team",
            "description": "People who wrote a complaint ticket in the 30 days before the newest ticket",
            "sql": (
                "SELECT DISTINCT x.person_id\n"
                "FROM service_tickets t\n"
                "JOIN person_crosswalk x ON x.dataset = 'service_tickets' AND x.key = t.ticket_id\n"
                "WHERE t.created_at > (SELECT max(created_at) FROM service_tickets) - INTERVAL 30 DAY\n"
                "  AND (t.text ILIKE '%投诉%' OR t.text ILIKE '%complain%' OR t.text ILIKE '%差评%')\n"
            ),
        },
    ]
    return {
        "identity.yaml": {"identities": [spec_payload(retail_config())]},
        "tags.yaml": {"tags": tags},
        "features.yaml": {"feature_views": [*views, scores_view]},
        "models.yaml": {"models": [model, intent_model(_sql)]},
        "capabilities.yaml": {"capabilities": [capability, intent_capability()]},
        "policies.yaml": {"policies": [policy_document()]},
    }


def schedules() -> list[dict[str, Any]]:
    """What runs by itself once `zhongtai serve --scheduler --project DIR` or `zhongtai scheduler run` is on
    (docs/scheduler.md): the systems' tables ingested nightly, churn's drift checked daily, the retrain
    policies every hour, overdue review items escalated every quarter hour, churn scores written back to the
    CRM weekly."""
    ingests = [
        {"name": f"nightly_{name}", "job": "ingest", "target": name, "cron": f"{10 + 5 * i} 1 * * *"}
        for i, (_, name, _) in enumerate(SQL_DATASETS)
    ]
    return [
        *ingests,
        {
            "name": "churn_drift",
            "job": "drift",
            "target": "churn-risk",
            "every": "1d",
            "args": ["--window", "1d"],
        },
        {"name": "retrain_policies", "job": "flywheel", "every": "1h"},
        {"name": "review_escalation", "job": "review_escalate", "every": "15m"},
        {
            "name": "churn_scores",
            "job": "score",
            "target": "churn-risk",
            "cron": "30 3 * * 1",
            "write_back": True,
        },
    ]


def policy_document() -> dict[str, Any]:
    """Default deny, then: the business's systems call every capability; each department works in its own
    workspace; marketing may call churn-risk and read the shared person profile, not the CRM's tables."""
    return {
        "name": "retail_access",
        "owner": "platform-team",
        "description": "Who may call, read and govern what in the retail project",
        "workspaces": [
            {
                "name": "crm",
                "description": "The CRM team: its customers, loyalty data, churn model and capability",
                "capabilities": ["churn-risk"],
                "datasets": ["crm_*"],
                "models": ["churn"],
                "feature_views": ["customer_orders", "customer_service"],
            },
            {
                "name": "service",
                "description": "The service desk: tickets and the intent capability",
                "capabilities": ["intent*"],
                "datasets": ["service_*"],
                "models": ["intent*"],
            },
            {
                "name": "shared",
                "description": "What every department may read: the person profile",
                "feature_views": ["customer_profile"],
                "feature_groups": ["person_profile"],
            },
        ],
        "rules": [
            _rule("apps_call", [f"role:{APP_ROLE}"], ["call", "see_explanation", "read_features"]),
            _rule(
                "departments_own_workspace",
                ["workspace:crm"],
                ["call", "see_explanation", "read_features", "read_dataset", "read_catalog", "read_models"],
                ["workspace:crm"],
            ),
            _rule(
                "service_own_workspace",
                ["workspace:service"],
                ["call", "see_explanation", "read_dataset", "read_catalog", "read_models"],
                ["workspace:service"],
            ),
            _rule("marketing_churn", ["workspace:marketing"], ["call"], ["churn-risk"]),
            _rule(
                "everyone_reads_shared",
                ["workspace:crm", "workspace:service", "workspace:marketing"],
                ["read_features", "read_catalog"],
                ["workspace:shared"],
            ),
            _rule("stewards", ["role:steward"], ["read_catalog", "read_dataset", "read_models", "see_pii:*"]),
            _rule("analysts", ["role:analyst"], ["read_catalog", "read_dataset", "read_models"]),
            _rule(
                "data_scientists", ["role:data_scientist"], ["train", "submit", "read_models", "read_catalog"]
            ),
            _rule(
                "reviewers", ["role:model_reviewer"], ["approve", "promote", "change_traffic", "read_models"]
            ),
            _rule("auditors", ["role:auditor"], ["read_audit", "read_catalog"]),
            _rule("case_reviewers", ["role:case_reviewer"], ["review", "see_explanation"]),
            # The department wall: whatever their roles, other departments do not read the CRM's tables.
            {
                **_rule(
                    "crm_wall",
                    ["workspace:marketing", "workspace:service"],
                    ["read_dataset", "see_pii:*"],
                    ["workspace:crm"],
                ),
                "effect": "deny",
            },
        ],
        "limits": [
            {
                "name": "marketing_quota",
                "principals": ["workspace:marketing"],
                "per_minute": 6000,
                "shared_by": "workspace",
            }
        ],
    }


def _rule(
    name: str, principals: list[str], actions: list[str], objects: list[str] | None = None
) -> dict[str, Any]:
    return {"name": name, "principals": principals, "actions": actions, "objects": objects or ["*"]}


def _sources(crm_url: str, erp_url: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "crm",
            "type": "sql",
            "url": crm_url,
            "owner": "crm-team",
            "description": "CRM: customers and loyalty members",
        },
        {
            "name": "erp",
            "type": "sql",
            "url": erp_url,
            "owner": "erp-team",
            "description": "ERP / order system: products, stores, orders, order lines",
        },
        {
            "name": "clickstream",
            "type": "files",
            "url": "../systems/clickstream",
            "owner": "ecommerce-team",
            "description": "E-commerce tracking events, JSON lines per month",
        },
        {
            "name": "service",
            "type": "files",
            "url": "../systems/service",
            "owner": "service-team",
            "description": "Customer service ticket export, JSON lines",
        },
        {
            "name": "inventory",
            "type": "files",
            "url": "../systems/inventory",
            "owner": "supply-chain-team",
            "description": "Daily stock export of the replenishment system, CSV per month",
        },
    ]


# Quality rules that show what the source systems are like without changing what lands in the lake: they
# warn (counted in `zhongtai quality report`) rather than quarantine, so every row still arrives for OneID.
CHECKS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "customers": {
        "mobile": [{"regex": r"^1[3-9][0-9]{9}$", "on_fail": "warn"}],
        "status": [{"accepted_values": ["active", "inactive", "closed"], "on_fail": "warn"}],
    },
    "orders": {
        "store_id": [{"references": {"dataset": "erp_stores", "field": "store_id"}, "on_fail": "warn"}],
        "total_amount": [{"range": {"min": 0}, "on_fail": "warn"}],
    },
    "order_lines": {
        "product_id": [{"references": {"dataset": "erp_products", "field": "product_id"}, "on_fail": "warn"}],
        "quantity": [{"range": {"min": 1}, "on_fail": "warn"}],
    },
}


def _sql_dataset(source: str, name: str, table: sa.Table) -> dict[str, Any]:
    notes = SQL_NOTES[table.name]
    checks = CHECKS.get(table.name, {})
    fields = []
    for column in table.columns:
        pii, description = notes[column.name]
        field: dict[str, Any] = {
            "name": str(column.name),
            "type": _logical(column.type),
            "description": description,
        }
        if pii:
            field["pii"] = pii
            if pii in PII_STORAGE:
                field["storage"] = PII_STORAGE[pii]
        if column.name in checks:
            field["checks"] = checks[column.name]
        fields.append(field)
    return {
        "name": name,
        "source": source,
        "table": str(table.name),
        "primary_key": [str(c.name) for c in table.primary_key.columns],
        "incremental": {"watermark": "updated_at"},
        "update_frequency": "daily",
        "description": DATASET_NOTES[name],
        "fields": fields,
    }


def _file_dataset(
    name: str, source: str, path: str, file_format: str, key: list[str], watermark: str, frequency: str
) -> dict[str, Any]:
    fields = []
    for field_name, field_type, pii, description in FILE_FIELDS[name]:
        field: dict[str, Any] = {"name": field_name, "type": field_type, "description": description}
        if pii:
            field["pii"] = pii
            if pii in PII_STORAGE:
                field["storage"] = PII_STORAGE[pii]
        if field_name in REDACT.get(name, {}):
            field["redact"] = REDACT[name][field_name]
        fields.append(field)
    dataset: dict[str, Any] = {"name": name, "source": source, "path": path, "format": file_format}
    if file_format == "csv":
        dataset["csv"] = {"delimiter": ",", "header": True, "encoding": "utf8"}
    dataset.update(
        {
            "primary_key": key,
            "incremental": {"watermark": watermark},
            "update_frequency": frequency,
            "description": DATASET_NOTES[name],
            "fields": fields,
        }
    )
    return dataset


def _calendar_dataset() -> dict[str, Any]:
    """Marketing's promotion calendar: pulled whole each time, since planned days change before they come."""
    dataset = _file_dataset(
        "promotion_calendar", "inventory", "promotions.csv", "csv", ["date"], "date", "daily"
    )
    del dataset["incremental"]
    return dataset


def _logical(column_type: sa.types.TypeEngine) -> str:
    """The lake type of a column of the shared schema."""
    if isinstance(column_type, sa.Numeric):
        return f"decimal({column_type.precision},{column_type.scale})"
    if isinstance(column_type, sa.BigInteger):
        return "int64"
    if isinstance(column_type, sa.Integer):
        return "int32"
    if isinstance(column_type, sa.DateTime):
        return "timestamp"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.Boolean):
        return "bool"
    return "string"
