"""The OneID spec: which datasets hold people, which column plays which identity attribute, how far each
source is trusted, and the few global knobs of the general matching model.

One general model serves every deployment: comparisons and blocking rules are fixed in the engine; a spec
only says where the attributes come from. An attribute no source maps is simply absent.
"""

from __future__ import annotations

from typing import Annotated, Literal

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
_Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class IdentitySource(BaseModel):
    """One dataset whose rows describe (or carry contact details of) a person."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: _Name = Field(description="The dataset whose rows describe people.")
    key: str = Field(description="the column that identifies a row; record_id is '<dataset>:<key>'")
    trust: int = Field(1, ge=1, description="1 is the most trusted source; survivorship prefers low ranks")
    updated_at: str | None = Field(None, description="when the row was last edited (survivorship)")
    fields: dict[Attribute, str | list[str]] = Field(
        description="attribute -> column; `name` may be [surname column, given-name column]"
    )
    filter: str | None = Field(None, description="a SQL condition on the dataset: rows kept (DuckDB)")


class IdentitySpec(BaseModel):
    """What OneID resolves into one entity (default `person`), and the general model's knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: _Name = Field(default="person", description="The identity's name; its runs publish <name>_golden.")
    entity: _Name = Field(default="person", description="The entity people resolve into.")
    description: str = Field(default="", description="Free text shown in the catalog.")
    owner: str | None = Field(default=None, description="The team or person answerable for it.")
    sources: list[IdentitySource] = Field(min_length=1, description="The datasets holding people.")
    match_threshold: float = Field(0.9, gt=0, lt=1, description="Splink match probability that links")
    family_phone_names: int = Field(
        1,
        ge=1,
        description="a phone (or e-mail) links records on its own only up to this many distinct names",
    )
    max_pairs_u: float = Field(1e6, description="random pairs sampled to estimate u")
    duckdb_memory_limit: str = Field(
        "1GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$", description="DuckDB's cap while matching (spills beyond)"
    )
    seed: int = Field(default=42, description="Seed of the sampling, so a run can be repeated.")

    @property
    def golden_dataset(self) -> str:
        """The dataset of golden records (one row per person) every run publishes a version of."""
        return f"{self.name}_golden"

    @property
    def crosswalk_dataset(self) -> str:
        """The dataset mapping every source record to its person."""
        return f"{self.name}_crosswalk"

    def source(self, dataset: str) -> IdentitySource:
        for source in self.sources:
            if source.dataset == dataset:
                return source
        raise KeyError(dataset)


# Columns of the produced datasets: (name, description, PII class). The golden columns follow
# identity/golden.py; a test holds the two together.
GOLDEN_FIELDS = (
    ("person_id", "the stable OneID of the person", None),
    ("records", "source records resolved into the person", None),
    ("sources", "distinct datasets holding a record of the person", None),
    ("last_seen", "the newest update among the person's records", None),
    ("name", "name, surviving from the most trusted, most recent record", "name"),
    ("name_pinyin", "the name in pinyin", "name"),
    ("gender", "M or F", None),
    ("birth_date", "birth date (from a record or a valid resident ID)", None),
    ("phone", "mobile number, normalized", "phone"),
    ("email", "e-mail address, canonical", "email"),
    ("id_card", "18-digit resident ID with a valid check digit", "id_card"),
    ("national_id", "another personal id number", "id_card"),
    ("member_id", "loyalty card", None),
    ("account_id", "e-commerce login", None),
    ("city", "city", None),
    ("address_key", "address, normalized", "address"),
    ("postcode", "postcode", None),
)
CROSSWALK_FIELDS = (
    ("person_id", "the stable OneID of the person", None),
    ("record_id", "<dataset>:<key>", None),
    ("dataset", "the source dataset of the record", None),
    ("key", "the record's key in its dataset, as text", None),
)


def output_datasets(spec: IdentitySpec) -> dict[str, dict]:
    """The datasets an identity produces, as registered spec payloads: no source, `identity` names the spec.

    They are declared by declaring the identity (`zhongtai plan` shows them) and versioned by each run."""
    read = ", ".join(s.dataset for s in spec.sources)
    outputs = {
        spec.golden_dataset: (f"Golden records of {spec.entity} (OneID '{spec.name}'): one row per person, each field from the most trusted, most recent record", GOLDEN_FIELDS),
        spec.crosswalk_dataset: (f"Which {spec.entity} each source record belongs to (OneID '{spec.name}' over {read})", CROSSWALK_FIELDS),
    }  # fmt: skip
    return {
        name: {
            "name": name,
            "identity": spec.name,
            "description": description,
            **({"owner": spec.owner} if spec.owner else {}),
            "fields": [
                {"name": f, "description": text, **({"pii": pii} if pii else {})} for f, text, pii in fields
            ],
        }
        for name, (description, fields) in outputs.items()
    }
