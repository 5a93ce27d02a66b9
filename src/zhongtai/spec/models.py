"""The spec objects of a project folder: sources, datasets, entities.

Every model forbids unknown keys, so a typo is an error at its line rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.quality import DatasetCheck, FieldCheck, Transforms
from zhongtai.spec.secrets import is_reference_only, literal_url_password, looks_secret
from zhongtai.spec.windows import WindowsSpec

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

SIMPLE_TYPES = (
    "string",
    "int32",
    "int64",
    "float32",
    "float64",
    "bool",
    "date",
    "timestamp",
    "timestamp_tz",
    "binary",
    "json",
)
DECIMAL_TYPE = re.compile(r"^decimal\((\d{1,2}),\s*(\d{1,2})\)$")


def check_field_type(value: str) -> str:
    """Accept one of the lake's logical types; the message lists them so the fix is obvious."""
    if value in SIMPLE_TYPES or DECIMAL_TYPE.match(value):
        return value
    raise ValueError(f"unknown type '{value}': expected one of {', '.join(SIMPLE_TYPES)} or decimal(P,S)")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_no_literal_secrets(values: dict[str, str], where: str) -> dict[str, str]:
    for key, value in values.items():
        if looks_secret(key) and not is_reference_only(str(value)):
            raise ValueError(
                f"{where}.{key} looks like a secret: write it as ${{env:VARIABLE}}, not a literal"
            )
    return values


class SqlSource(Spec):
    """A relational database reached by a SQLAlchemy URL."""

    name: Name
    type: Literal["sql"]
    url: str
    schema_name: str | None = Field(default=None, alias="schema")
    connect_args: dict[str, str] = {}
    description: str = ""
    owner: str | None = None

    @field_validator("url")
    @classmethod
    def _no_literal_password(cls, url: str) -> str:
        if literal_url_password(url):
            raise ValueError("the URL holds a literal password: write it as ${env:VARIABLE}")
        return url

    @field_validator("connect_args")
    @classmethod
    def _no_literal_secret_args(cls, args: dict[str, str]) -> dict[str, str]:
        return _check_no_literal_secrets(args, "connect_args")


class FilesSource(Spec):
    """A folder of files, local or on object storage (any fsspec URL)."""

    name: Name
    type: Literal["files"]
    url: str
    storage_options: dict[str, str] = {}
    description: str = ""
    owner: str | None = None

    @field_validator("storage_options")
    @classmethod
    def _no_literal_secret_options(cls, options: dict[str, str]) -> dict[str, str]:
        return _check_no_literal_secrets(options, "storage_options")


class HttpSource(Spec):
    """An HTTP JSON API."""

    name: Name
    type: Literal["http"]
    url: str
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    timeout_s: float = Field(default=30.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    description: str = ""
    owner: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://", "${env:")):
            raise ValueError("expected an http:// or https:// URL")
        if literal_url_password(url):
            raise ValueError("the URL holds a literal password: write it as ${env:VARIABLE}")
        return url

    @field_validator("headers", "params")
    @classmethod
    def _no_literal_secret_headers(cls, values: dict[str, str]) -> dict[str, str]:
        return _check_no_literal_secrets(values, "headers")


SourceSpec = Annotated[SqlSource | FilesSource | HttpSource, Field(discriminator="type")]
SOURCE_TYPES = ("sql", "files", "http")


class FieldSpec(Spec):
    """A declared column: its type is enforced at ingest, its description and PII class go to the catalog."""

    name: str
    type: str | None = None
    description: str = ""
    pii: Literal["phone", "id_card", "email", "name", "address", "bank_card", "none"] | None = None
    # How a PII field lands in the lake (docs/pii.md): `token` (the default for a declared class), `encrypted`
    # (the token plus the clear value encrypted beside it), or `clear` (an explicit opt-out).
    storage: Literal["token", "encrypted", "clear"] | None = None
    checks: list[FieldCheck] = []  # quality rules on every row's value (docs/quality.md)
    clean: Transforms = []  # cleaning transforms applied in order before the checks

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        return None if value is None else check_field_type(value)

    @model_validator(mode="after")
    def _storage_needs_pii(self) -> FieldSpec:
        if self.storage is not None and self.pii in (None, "none"):
            raise ValueError(
                f"storage: {self.storage} applies to PII fields: declare the field's class with pii: "
                "(phone, id_card, email, name, address or bank_card)"
            )
        return self

    @property
    def protection(self) -> Literal["token", "encrypted"] | None:
        """How the lake protects this field: None for non-PII fields and `storage: clear`."""
        if self.pii in (None, "none") or self.storage == "clear":
            return None
        return "encrypted" if self.storage == "encrypted" else "token"


class Incremental(Spec):
    """Pull only rows whose watermark column is at or after the last ingested value."""

    watermark: str
    param: str | None = None  # HTTP only: the query parameter that filters on the API side


class Pagination(Spec):
    """How an HTTP endpoint splits its answer into pages."""

    type: Literal["page", "offset", "cursor", "next_url"]
    size: int = Field(default=100, gt=0, le=100_000)
    size_param: str | None = "page_size"
    page_param: str = "page"
    start_page: int = 1
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    cursor_path: str = "next_cursor"
    next_path: str | None = "next"  # next_url: where the body holds the next URL; None = the Link header
    max_pages: int = Field(default=100_000, gt=0)


class CsvOptions(Spec):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    header: bool = True
    encoding: str = "utf8"


class StreamSpec(Spec):
    """The bus stream that feeds a dataset: `zhongtai stream run` appends its events to the dataset."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}$")]
    event_id: str | list[str] = "event_id"  # what makes a replayed event the same event (or several columns)
    timestamp: str = "ts"


class DatasetSpec(Spec):
    """A table pulled from a source into the lake as versioned snapshots."""

    name: Name
    source: Name
    description: str = ""
    owner: str | None = None
    update_frequency: str | None = None
    # sql
    table: str | None = None
    query: str | None = None
    # files
    path: str | None = None
    format: Literal["csv", "parquet", "jsonl"] | None = None
    csv: CsvOptions | None = None
    # http
    endpoint: str | None = None
    records: str | None = None
    pagination: Pagination | None = None
    # all
    primary_key: list[str] = []
    incremental: Incremental | None = None
    fields: list[FieldSpec] = []
    checks: list[DatasetCheck] = []  # rules on the whole new version (docs/quality.md)
    dedupe: list[str] | None = Field(default=None, min_length=1)  # keep the newest row per key
    batch_rows: int = Field(default=50_000, gt=0, le=10_000_000)
    stream: StreamSpec | None = None  # events arriving on the bus (docs/streaming.md)

    @model_validator(mode="after")
    def _one_location(self) -> DatasetSpec:
        given = [key for key in ("table", "query", "path", "endpoint") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of table, query (sql), path (files) or endpoint (http)")
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"fields declared twice: {', '.join(duplicates)}")
        return self

    @property
    def location_key(self) -> str:
        return next(key for key in ("table", "query", "path", "endpoint") if getattr(self, key) is not None)

    def declared_types(self) -> dict[str, str]:
        return {f.name: f.type for f in self.fields if f.type is not None}


LOCATION_FOR_SOURCE = {"sql": ("table", "query"), "files": ("path",), "http": ("endpoint",)}


KeyType = Literal["string", "int64"]


class EntitySpec(Spec):
    """What features describe and decisions are about (`person`, `product`, `store`...)."""

    name: Name
    join_keys: list[str] = Field(min_length=1)
    # The type of each join key a caller sends (`string` when not named): an int64 key refuses "12.5".
    key_types: dict[str, KeyType] = {}
    description: str = ""

    @model_validator(mode="after")
    def _typed_keys_are_join_keys(self) -> EntitySpec:
        unknown = sorted(set(self.key_types) - set(self.join_keys))
        if unknown:
            raise ValueError(f"key_types names {', '.join(unknown)}, which are not join keys")
        return self

    def join_key_types(self) -> tuple[KeyType, ...]:
        """The declared type of each join key, in join-key order."""
        return tuple(self.key_types.get(key, "string") for key in self.join_keys)


DURATION = re.compile(r"^(\d+)([smhdw])$")
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration_seconds(value: str) -> int:
    """Seconds in a duration such as `30d`, `12h`, `90m`."""
    match = DURATION.match(value)
    if not match:
        raise ValueError(f'expected a duration like "30d", "12h" or "90m", got {value!r}')
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


Duration = Annotated[str, AfterValidator(lambda v: (duration_seconds(v), v)[1])]
FEATURE_TYPES = ("int64", "float64", "bool", "string")


class FeatureSpec(Spec):
    name: Name
    type: Literal["int64", "float64", "bool", "string"] = "float64"
    description: str = ""


class FeatureViewSpec(Spec):
    """SQL over lake datasets (DuckDB dialect) keyed by an entity with an event time.

    The SQL refers to datasets by name (`FROM erp_orders`); each row is one entity's feature values as of
    `timestamp`. The newest row at or before a moment, and no older than `ttl`, is the value at that moment.
    """

    name: Name
    entity: Name
    timestamp: str = "ts"
    ttl: Duration = "90d"
    sql: str = ""
    features: list[FeatureSpec] = []
    windows: WindowsSpec | None = None  # generates sql and features (spec/windows.py, docs/features.md)
    online: bool = True
    description: str = ""
    owner: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _generate_from_windows(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("windows") is None:
            return data
        given = [key for key in ("sql", "features") if key in data]
        if given:
            raise ValueError(
                f"a view with windows has its sql and features generated: remove {' and '.join(given)}"
            )
        try:
            windows = WindowsSpec.model_validate(data["windows"])
        except ValueError:
            return data  # the windows field reports its own errors, at their own lines
        return {
            **data,
            "sql": windows.history_sql(data.get("timestamp", "ts")),
            "features": windows.features(),
        }

    @model_validator(mode="after")
    def _sql_and_features(self) -> FeatureViewSpec:
        if self.windows is None and (not self.sql.strip() or not self.features):
            raise ValueError("give sql and at least one feature, or windows to generate them")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # What is stored and compared is the declaration; the generated SQL follows the current generator.
        data = handler(self)
        if self.windows is not None:
            data.pop("sql", None)
            data.pop("features", None)
        return data


def _checked_expression(text: str) -> str:
    from zhongtai.spec.expressions import parse_expression

    parse_expression(text)
    return text


class RequestFieldSpec(Spec):
    """A value the caller sends with each decision request (and the label SQL holds for training)."""

    name: Name
    type: Literal["int64", "float64", "bool", "string"] = "float64"
    description: str = ""


class OnDemandFeatureSpec(Spec):
    """A feature computed at request time by a checked SQL expression (see docs/features.md)."""

    name: Name
    type: Literal["int64", "float64", "bool"] = "float64"
    expression: Annotated[str, AfterValidator(_checked_expression)]
    description: str = ""


class OnDemandViewSpec(Spec):
    """Features computed from request fields plus stored features of views of the same entity.

    Expressions name request fields bare (`basket_value`) and stored features as `view.feature`; the same
    definition is evaluated at serving (compiled once) and over training-set rows (in DuckDB).
    """

    name: Name
    entity: Name
    request: list[RequestFieldSpec] = []
    features: list[OnDemandFeatureSpec] = Field(min_length=1)
    description: str = ""
    owner: str | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> OnDemandViewSpec:
        names = [f.name for f in self.request] + [f.name for f in self.features]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"names used twice among request fields and features: {', '.join(twice)}")
        return self


GROUP_MEMBER = re.compile(r"^[a-z][a-z0-9_]{0,62}\.(\*|[a-z][a-z0-9_]{0,62})$")


def _group_member(value: str) -> str:
    if not GROUP_MEMBER.match(value):
        raise ValueError(f"expected view.feature or view.*, got {value!r}")
    return value


class FeatureGroupSpec(Spec):
    """A named set of features across views (stored or on-demand) of one entity, asked for by name."""

    name: Name
    entity: Name
    features: list[Annotated[str, AfterValidator(_group_member)]] = Field(min_length=1)
    description: str = ""
    owner: str | None = None


class LabelSpec(Spec):
    """Label rows: the entity key, a timestamp and the label, from SQL over lake datasets."""

    sql: str
    timestamp: str = "ts"
    label: str = "label"


class ValidationSpec(Spec):
    split: Literal["time"] = "time"
    fraction: float = Field(default=0.2, gt=0, lt=1)


class ModelSpec(Spec):
    """What to learn: task, label definition, the feature views that feed it, algorithm and parameters."""

    name: Name
    task: Literal["binary_classification"] = "binary_classification"
    entity: Name
    label: LabelSpec
    feature_views: list[Name] = []  # stored or on-demand views: all their features
    feature_groups: list[Name] = []
    algorithm: Literal["lightgbm"] = "lightgbm"
    params: dict[str, float | int | str | bool] = {}
    validation: ValidationSpec = ValidationSpec()
    threshold: float = Field(default=0.5, gt=0, lt=1)
    description: str = ""
    owner: str | None = None

    @model_validator(mode="after")
    def _some_features(self) -> ModelSpec:
        if not self.feature_views and not self.feature_groups:
            raise ValueError("give feature_views or feature_groups (or both)")
        return self


CapabilityName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class DecisionRule(Spec):
    """Scores at or above `min_score` get `decision`; the rules are tried highest first."""

    decision: str = Field(min_length=1)
    min_score: float = Field(default=0.0, ge=0, le=1)


class FallbackSpec(Spec):
    """What to answer when the entity has no online features (new customer, store not yet materialized)."""

    decision: str = Field(min_length=1)
    score: float | None = None


class WriteBackSpec(Spec):
    """Batch scoring writes scores and decisions into a table of a SQL source (reverse ETL)."""

    source: Name
    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class CapabilitySpec(Spec):
    """A named business decision API over a model."""

    name: CapabilityName
    model: Name
    alias: str = "champion"
    input: str  # the request field holding the entity key
    # The request carries this dataset's key (the CRM's customer_id) rather than the entity's: OneID's
    # crosswalk maps it to the person online, and batch write-back is keyed by it.
    input_dataset: Name | None = None
    decisions: list[DecisionRule] = Field(min_length=1)
    fallback: FallbackSpec
    explain_top: int = Field(default=5, ge=0, le=50)
    feature_groups: list[Name] = []  # read with the model's features and returned with each decision
    write_back: WriteBackSpec | None = None
    description: str = ""
    owner: str | None = None

    def ranked_decisions(self) -> list[DecisionRule]:
        """The rules in the order they are tried: highest `min_score` first."""
        return sorted(self.decisions, key=lambda r: r.min_score, reverse=True)


class TagSpec(Spec):
    """A rule-defined label on an entity: SQL over lake datasets returning the join keys of every entity that
    carries the tag now. Each build records who gained and who lost it."""

    name: Name
    entity: Name
    sql: str
    every: Duration | None = None  # how often it should be rebuilt: `zhongtai tags build --due`
    description: str = ""
    owner: str | None = None


class ProjectFile(Spec):
    """One YAML file of a project folder; any file may hold any kind."""

    sources: list[SourceSpec] = []
    datasets: list[DatasetSpec] = []
    entities: list[EntitySpec] = []
    identities: list[IdentitySpec] = []
    tags: list[TagSpec] = []
    feature_views: list[FeatureViewSpec] = []
    on_demand_views: list[OnDemandViewSpec] = []
    feature_groups: list[FeatureGroupSpec] = []
    models: list[ModelSpec] = []
    capabilities: list[CapabilitySpec] = []


def spec_payload(spec: BaseModel) -> dict[str, Any]:
    """The spec as stored and compared: plain JSON, aliases applied, defaults included."""
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


SPEC_MODELS: dict[str, Any] = {
    "sources": SourceSpec,
    "datasets": DatasetSpec,
    "entities": EntitySpec,
    "identities": IdentitySpec,
    "tags": TagSpec,
    "feature_views": FeatureViewSpec,
    "on_demand_views": OnDemandViewSpec,
    "feature_groups": FeatureGroupSpec,
    "models": ModelSpec,
    "capabilities": CapabilitySpec,
}
