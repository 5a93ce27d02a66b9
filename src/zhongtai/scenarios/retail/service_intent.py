"""The intent model and capability of the retail project: the customer-service desk's intent classifier,
trained on the categories agents filed finished tickets under, with the writer's profile joined through
OneID, and routed so that an angry high-value customer reaches a person: the churn model's published score
(the view `churn_scores`) and the person's tags (`high_value`) feed the first escalation rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhongtai.scenarios.retail.service_text import INTENTS

CHURN_SCORES = "churn_scores"  # the view over the churn model's published scores (project.py)

MODEL = "intent"
CAPABILITY = "intent"
# The team that takes each intent when the answer is confident enough to act on by itself.
QUEUES = {
    "order_status": "logistics",
    "delivery_delay": "logistics",
    "change_address": "logistics",
    "refund_request": "refunds",
    "return_item": "returns",
    "cancel_order": "orders",
    "payment_problem": "payments",
    "account_issue": "accounts",
    "product_inquiry": "sales",
    "complaint": "care",
}
# A person spending this much in 90 days is among the retailer's best customers (about the top tenth).
HIGH_VALUE_SPEND_90D = 3000
# A high-value customer whose churn score reaches the churn-risk capability's `watch` band is one the
# retailer cannot afford to lose: their complaint goes to a person at once. (High-value customers score low:
# at 800 customers none of the 49 tagged reaches 0.6, the `retain_offer` band.)
AT_RISK_CHURN_SCORE = 0.4
HIGH_VALUE_TAG = "high_value"
VIP_QUEUE = "vip"
AT_RISK_RULE = "angry_high_value_at_risk"


def intent_model(sql: Callable[[str], str]) -> dict[str, Any]:
    """The `intent` model spec (text_classification over ticket text and the agent's category)."""
    return {
        "name": MODEL,
        "task": "text_classification",
        "entity": "person",
        "owner": "service-team",
        "description": "What a customer-service ticket asks for, from its text (zh or en) and the writer's profile",
        "label": {"sql": sql("intent_labels"), "timestamp": "ts", "label": "label"},
        "feature_views": ["customer_orders", "customer_service"],
        "validation": {"split": "time", "fraction": 0.2},
        "text": {"column": "text", "languages": ["zh", "en"], "other": {"label": "other"}},
        "card": {
            "purpose": "Route incoming tickets to the team that handles their request, and answer the "
            "confident ones automatically",
            "owner": "service-team",
            "not_for": ["judging a customer", "closing a complaint without a person reading it"],
        },
    }


def intent_capability() -> dict[str, Any]:
    """The `intent` capability: intent, confidence, route and queue of a customer's message."""
    if set(QUEUES) != set(INTENTS):  # a new intent in the generator needs its queue here
        raise ValueError(f"QUEUES must name every intent: {sorted(set(INTENTS) ^ set(QUEUES))}")
    return {
        "name": CAPABILITY,
        "model": MODEL,
        "alias": "champion",
        "input": "customer_id",
        "input_dataset": "crm_customers",
        "owner": "service-team",
        "description": "The intent of a customer's message, the queue it goes to, and whether a person "
        "must read it first",
        "fallback": {"decision": "other"},
        "routing": {
            "text": "text",
            "min_confidence": 0.5,
            "top": 3,
            "queues": QUEUES,
            "default_queue": "general",
            "review_queue": "triage",
            # The churn model's published scores, read for the first rule (the model's own views are read anyway).
            "feature_views": [CHURN_SCORES],
            "escalate": [
                {
                    "name": AT_RISK_RULE,
                    "when": f"intent = 'complaint' AND {CHURN_SCORES}.churn_score >= {AT_RISK_CHURN_SCORE} "
                    f"AND tags.{HIGH_VALUE_TAG}",
                    "queue": VIP_QUEUE,
                },
                {
                    "name": "angry_high_value",
                    "when": f"intent = 'complaint' AND customer_orders.spend_90d >= {HIGH_VALUE_SPEND_90D}",
                    "queue": "vip_care",
                },
                {
                    "name": "repeated_complaints",
                    "when": "intent = 'complaint' AND customer_service.complaints_90d >= 2",
                    "queue": "care_lead",
                },
            ],
        },
    }
