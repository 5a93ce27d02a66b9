"""The OneID configuration: which datasets hold people, which column plays which identity attribute, and
how far each source is trusted.

One general model serves every deployment: the comparisons and blocking rules are fixed in
`probabilistic.py`; a configuration only says where the attributes come from. An attribute no source maps
is simply absent (its comparison and blocking rules are dropped), so no per-dataset tuning is needed.
"""

from __future__ import annotations

from zhongtai.spec.identity import Attribute, IdentitySource, IdentitySpec

# The engine's names for the spec's models: a OneID configuration is the `identities` spec of a project.
OneIDConfig = IdentitySpec
SourceConfig = IdentitySource

# Attributes whose equality alone makes two records one person (see deterministic.py for phone and email).
DETERMINISTIC = ("id_card", "member_id", "account_id")

__all__ = ["DETERMINISTIC", "Attribute", "OneIDConfig", "SourceConfig", "retail_config"]


def retail_config() -> OneIDConfig:
    """The retail reference scenario (docs/retail.md): CRM, loyalty, ERP orders, service tickets and the
    clickstream's logins (which carry only an account id, so they join through account_id links)."""
    return OneIDConfig(
        name="person",
        entity="person",
        description="One person across the CRM, the loyalty programme, orders, service tickets and logins",
        sources=[
            SourceConfig(
                dataset="crm_customers",
                key="customer_id",
                trust=1,
                updated_at="updated_at",
                fields={
                    "name": "full_name",
                    "gender": "gender",
                    "birth_date": "birth_date",
                    "phone": "mobile",
                    "email": "email",
                    "id_card": "id_number",
                    "city": "city",
                    "address": "address",
                },
            ),
            SourceConfig(
                dataset="crm_loyalty_members",
                key="member_id",
                trust=2,
                updated_at="updated_at",
                fields={
                    "name": "full_name",
                    "gender": "gender",
                    "birth_date": "birthday",
                    "phone": "mobile",
                    "email": "email",
                    "id_card": "id_number",
                    "member_id": "member_id",
                },
            ),
            SourceConfig(
                dataset="erp_orders",
                key="order_id",
                trust=3,
                updated_at="updated_at",
                fields={
                    "name": "buyer_name",
                    "phone": "buyer_phone",
                    "email": "buyer_email",
                    "address": "shipping_address",
                    "member_id": "member_id",
                    "account_id": "account_id",
                },
            ),
            SourceConfig(
                dataset="service_tickets",
                key="ticket_id",
                trust=4,
                updated_at="updated_at",
                fields={
                    "name": "contact_name",
                    "phone": "contact_phone",
                    "email": "contact_email",
                    "member_id": "member_id",
                    "account_id": "account_id",
                },
            ),
            SourceConfig(
                dataset="click_events",
                key="user_id",
                trust=5,
                updated_at="ts",
                fields={"account_id": "user_id"},
                filter="user_id IS NOT NULL",
            ),
        ],
    )
