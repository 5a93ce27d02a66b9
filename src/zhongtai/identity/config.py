"""The OneID configuration: which datasets hold people, which column plays which identity attribute, and
how far each source is trusted.

One general model serves every deployment: the comparisons and blocking rules are fixed in
`probabilistic.py`; a configuration only says where the attributes come from. An attribute no source maps
is simply absent (its comparison and blocking rules are dropped), so no per-dataset tuning is needed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Attribute = Literal[
    "name",  # a full name, any script and order; or a [surname, given name] pair of columns
    "phone",
    "email",
    "id_card",  # a mainland resident ID number (GB 11643): deterministic when its check digit is valid
    "national_id",  # any other personal id number (e.g. a social security number): compared fuzzily
    "birth_date",
    "gender",
    "member_id",  # a loyalty card: deterministic
    "account_id",  # an e-commerce login: deterministic
    "city",
    "address",
    "postcode",
    "street_number",
    "locality",  # suburb or district
]

# Attributes whose equality alone makes two records one person (see deterministic.py for phone and email).
DETERMINISTIC = ("id_card", "member_id", "account_id")


class SourceConfig(BaseModel):
    """One dataset whose rows describe (or carry contact details of) a person."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    key: str = Field(description="the column that identifies a row; record_id is '<dataset>:<key>'")
    trust: int = Field(1, ge=1, description="1 is the most trusted source; survivorship prefers low ranks")
    updated_at: str | None = Field(None, description="when the row was last edited (survivorship)")
    fields: dict[Attribute, str | list[str]] = Field(
        description="attribute -> column; `name` may be [surname column, given-name column]"
    )
    filter: str | None = Field(None, description="a SQL condition on the dataset: rows kept (DuckDB)")


class OneIDConfig(BaseModel):
    """What OneID resolves and the few global knobs of the general model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[SourceConfig]
    match_threshold: float = Field(0.9, gt=0, lt=1, description="Splink match probability that links")
    family_phone_names: int = Field(
        1,
        ge=1,
        description="a phone (or e-mail) links records on its own only up to this many distinct names",
    )
    max_pairs_u: float = Field(1e6, description="random pairs sampled to estimate u")
    seed: int = 42

    def source(self, dataset: str) -> SourceConfig:
        for source in self.sources:
            if source.dataset == dataset:
                return source
        raise KeyError(dataset)


def retail_config() -> OneIDConfig:
    """The retail reference scenario (docs/retail.md): CRM, loyalty, ERP orders, service tickets and the
    clickstream's logins (which carry only an account id, so they join through account_id links)."""
    return OneIDConfig(
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
        ]
    )
