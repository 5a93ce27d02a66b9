"""The spec objects of a project folder: sources, datasets, entities.

Every model forbids unknown keys, so a typo is an error at its line rather than a silently ignored setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from zhongtai.spec.base import AliasName, Description, Duration, Name, Owner, Spec
from zhongtai.spec.candidates import TASK_LINEAR, TASK_METRICS, CandidatesSpec
from zhongtai.spec.forecast_task import ForecastSpec
from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.policy import PolicySpec
from zhongtai.spec.process import ProcessSpec
from zhongtai.spec.quality import DatasetCheck, FieldCheck, Transforms
from zhongtai.spec.recommend_task import RecommendCapabilitySpec, RecommendSpec
from zhongtai.spec.secrets import is_reference_only, literal_url_password, looks_secret
from zhongtai.spec.text_task import RoutingSpec, TextSpec
from zhongtai.spec.traffic import TrafficSpec
from zhongtai.spec.windows import WindowsSpec

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


def _check_no_literal_secrets(values: dict[str, str], where: str) -> dict[str, str]:
    for key, value in values.items():
        if looks_secret(key) and not is_reference_only(str(value)):
            raise ValueError(
                f"{where}.{key} looks like a secret: write it as ${{env:VARIABLE}}, not a literal"
            )
    return values


class SqlSource(Spec):
    """A relational database reached by a SQLAlchemy URL."""

    name: Name = Field(description="The source's name; datasets refer to it by this name.")
    type: Literal["sql"] = Field(description="The kind of source: `sql`, `files` or `http`.")
    url: str = Field(description="SQLAlchemy URL; a password only as ${env:VARIABLE}.")
    schema_name: str | None = Field(
        default=None, alias="schema", description="Database schema of the tables."
    )
    connect_args: dict[str, str] = Field(default={}, description="Passed to the database driver as is.")
    description: Description = ""
    owner: Owner = None

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

    name: Name = Field(description="The source's name; datasets refer to it by this name.")
    type: Literal["files"] = Field(description="The kind of source: `sql`, `files` or `http`.")
    url: str = Field(description="A folder: a local path (relative to the project folder) or an fsspec URL.")
    storage_options: dict[str, str] = Field(default={}, description="fsspec options for object storage.")
    description: Description = ""
    owner: Owner = None

    @field_validator("storage_options")
    @classmethod
    def _no_literal_secret_options(cls, options: dict[str, str]) -> dict[str, str]:
        return _check_no_literal_secrets(options, "storage_options")


class HttpSource(Spec):
    """An HTTP JSON API."""

    name: Name = Field(description="The source's name; datasets refer to it by this name.")
    type: Literal["http"] = Field(description="The kind of source: `sql`, `files` or `http`.")
    url: str = Field(description="Base URL of the API (http:// or https://); endpoints are relative to it.")
    headers: dict[str, str] = Field(
        default={}, description="Sent with every request; secrets as ${env:VARIABLE}."
    )
    params: dict[str, str] = Field(default={}, description="Query parameters sent with every request.")
    timeout_s: float = Field(default=30.0, gt=0, description="Seconds to wait for one answer.")
    retries: int = Field(
        default=3, ge=0, le=10, description="Retries on connection errors, 429 and 5xx, with backoff."
    )
    description: Description = ""
    owner: Owner = None

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

    name: str = Field(description="The column's name in the source.")
    type: str | None = Field(
        default=None,
        description="Lake type, enforced at ingest: string, int32, int64, float32, float64, bool, date, "
        "timestamp, timestamp_tz, binary, json or decimal(P,S).",
    )
    description: Description = ""
    pii: Literal["phone", "id_card", "email", "name", "address", "bank_card", "none"] | None = Field(
        default=None, description="PII class: masked by role on read, tokenized in the lake (docs/pii.md)."
    )
    # How a PII field lands in the lake (docs/pii.md): `token` (the default for a declared class), `encrypted`
    # (the token plus the clear value encrypted beside it), or `clear` (an explicit opt-out).
    storage: Literal["token", "encrypted", "clear"] | None = Field(
        default=None, description="How a PII field lands in the lake (default `token`)."
    )
    # Free text holding PII (docs/pii.md): the lake stores the text with these kinds' spans replaced by tokens.
    redact: list[
        Literal[
            "phone", "landline", "id_card", "bank_card", "email", "uscc", "iban", "intl_phone", "passport"
        ]
    ] = Field(
        default=[],
        description="Free text mentioning PII: the lake stores it with these kinds' spans replaced by their "
        "tokens (phone, landline, id_card, bank_card, email; docs/pii.md).",
    )
    checks: list[FieldCheck] = Field(
        default=[],
        description="Quality rules on every row's value; `not_null` and `unique` may be written bare (docs/quality.md).",
    )
    clean: Transforms = Field(
        default=[],
        description="Cleaning transforms applied in order before the checks: trim, halfwidth, lower, upper, "
        "phone, email, date.",
    )

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
        if self.redact and self.pii not in (None, "none"):
            raise ValueError(
                f"redact applies to free-text fields, and this one is declared pii: {self.pii}: a PII field is "
                "stored as tokens whole; drop redact, or pii if the field is text that mentions PII"
            )
        if self.redact and self.type not in (None, "string"):
            raise ValueError(f"redact applies to text fields, and this one is declared type: {self.type}")
        return self

    @property
    def protection(self) -> Literal["token", "encrypted"] | None:
        """How the lake protects this field: None for non-PII fields and `storage: clear`."""
        if self.pii in (None, "none") or self.storage == "clear":
            return None
        return "encrypted" if self.storage == "encrypted" else "token"


class Incremental(Spec):
    """Pull only rows whose watermark column is at or after the last ingested value."""

    watermark: str = Field(description="The column whose last ingested value starts the next pull.")
    param: str | None = Field(
        default=None, description="HTTP only: the query parameter that filters on the API side."
    )


class Pagination(Spec):
    """How an HTTP endpoint splits its answer into pages."""

    type: Literal["page", "offset", "cursor", "next_url"] = Field(
        description="How the next page is asked for."
    )
    size: int = Field(default=100, gt=0, le=100_000, description="Records asked for per page.")
    size_param: str | None = Field(
        default="page_size", description="page/offset: the query parameter of the page size (null: not sent)."
    )
    page_param: str = Field(default="page", description="page: the query parameter of the page number.")
    start_page: int = Field(default=1, description="page: the number of the first page.")
    offset_param: str = Field(default="offset", description="offset: the query parameter of the offset.")
    cursor_param: str = Field(default="cursor", description="cursor: the query parameter of the cursor.")
    cursor_path: str = Field(
        default="next_cursor",
        description="cursor: where the body holds the next cursor (missing = last page).",
    )
    next_path: str | None = Field(
        default="next", description="next_url: where the body holds the next URL (null: the Link header)."
    )
    max_pages: int = Field(default=100_000, gt=0, description="Stop after this many pages.")


class CsvOptions(Spec):
    """How CSV files are read."""

    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description="The one-character separator."
    )
    header: bool = Field(default=True, description="Whether the first line names the columns.")
    encoding: str = Field(default="utf8", description="Text encoding of the files.")


class StreamSpec(Spec):
    """The bus stream that feeds a dataset: `zhongtai stream run` appends its events to the dataset."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}$")] = Field(
        description="The stream's name on the bus."
    )
    event_id: str | list[str] = Field(
        default="event_id",
        description="The column (or columns) that make a replayed event the same event.",
    )
    timestamp: str = Field(default="ts", description="The event-time column.")


class DatasetSpec(Spec):
    """A table pulled from a source into the lake as versioned snapshots."""

    name: Name = Field(description="The dataset's name in the lake; SQL over the lake uses it as a table.")
    source: Name = Field(description="The source it is pulled from.")
    description: Description = ""
    owner: Owner = None
    update_frequency: str | None = Field(default=None, description="Promised refresh, shown in the catalog.")
    # sql
    table: str | None = Field(default=None, description="sql: the table to pull.")
    query: str | None = Field(default=None, description="sql: a query to pull instead of a table.")
    # files
    path: str | None = Field(default=None, description="files: a glob under the source folder.")
    format: Literal["csv", "parquet", "jsonl"] | None = Field(
        default=None, description="files: the file format (default: from the extension)."
    )
    csv: CsvOptions | None = Field(default=None, description="files: how CSV files are read.")
    # http
    endpoint: str | None = Field(default=None, description="http: the path under the source URL.")
    records: str | None = Field(
        default=None, description="http: dotted path to the list of records in each response."
    )
    pagination: Pagination | None = Field(default=None, description="http: how the answer is split in pages.")
    # all
    primary_key: list[str] = Field(default=[], description="Rows with a known key replace the old row.")
    incremental: Incremental | None = Field(default=None, description="Pull only new and changed rows.")
    fields: list[FieldSpec] = Field(
        default=[], description="Declared columns: types, descriptions, PII, rules."
    )
    checks: list[DatasetCheck] = Field(
        default=[], description="Rules on the whole new version (docs/quality.md)."
    )
    dedupe: list[str] | None = Field(default=None, min_length=1, description="Keep the newest row per key.")
    batch_rows: int = Field(
        default=50_000, gt=0, le=10_000_000, description="Bound on the rows held in memory at once."
    )
    stream: StreamSpec | None = Field(
        default=None, description="Events arriving on the bus (docs/streaming.md)."
    )

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

    name: Name = Field(description="The entity's name; views, models and tags refer to it.")
    join_keys: list[str] = Field(
        min_length=1, description="The key columns; several make a composite key (`product_id|store_id`)."
    )
    # The type of each join key a caller sends (`string` when not named): an int64 key refuses "12.5".
    key_types: dict[str, KeyType] = Field(
        default={},
        description="The type of each join key a caller sends (`string` or `int64`; default string).",
    )
    description: Description = ""

    @model_validator(mode="after")
    def _typed_keys_are_join_keys(self) -> EntitySpec:
        unknown = sorted(set(self.key_types) - set(self.join_keys))
        if unknown:
            raise ValueError(f"key_types names {', '.join(unknown)}, which are not join keys")
        return self

    def join_key_types(self) -> tuple[KeyType, ...]:
        """The declared type of each join key, in join-key order."""
        return tuple(self.key_types.get(key, "string") for key in self.join_keys)


FEATURE_TYPES = ("int64", "float64", "bool", "string")


class FeatureSpec(Spec):
    """One column of a feature view's SQL served as a feature."""

    name: Name = Field(description="The column of the view's SQL.")
    type: Literal["int64", "float64", "bool", "string"] = Field(
        default="float64", description="The feature's type."
    )
    description: Description = ""


class FeatureViewSpec(Spec):
    """SQL over lake datasets (DuckDB dialect) keyed by an entity with an event time.

    The SQL refers to datasets by name (`FROM erp_orders`); each row is one entity's feature values as of
    `timestamp`. The newest row at or before a moment, and no older than `ttl`, is the value at that moment.
    """

    name: Name = Field(description="The view's name; models and groups refer to it.")
    entity: Name = Field(description="The entity the rows are keyed by; the SQL returns its join keys.")
    timestamp: str = Field(default="ts", description="The column of the SQL holding each row's event time.")
    ttl: Duration = Field(default="90d", description='How old a value may be and still count, like "30d".')
    sql: str = Field(default="", description="SQL over lake datasets (DuckDB dialect); not with windows.")
    features: list[FeatureSpec] = Field(
        default=[], description="The columns served as features; not with windows."
    )
    windows: WindowsSpec | None = Field(
        default=None, description="Window aggregations that generate sql and features (docs/features.md)."
    )
    online: bool = Field(default=True, description="Whether materialize writes it to the online store.")
    description: Description = ""
    owner: Owner = None

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

    name: Name = Field(description="The request field's name; expressions use it bare.")
    type: Literal["int64", "float64", "bool", "string"] = Field(default="float64", description="Its type.")
    description: Description = ""


class OnDemandFeatureSpec(Spec):
    """A feature computed at request time by a checked SQL expression (see docs/features.md)."""

    name: Name = Field(description="The feature's name.")
    type: Literal["int64", "float64", "bool"] = Field(default="float64", description="The result's type.")
    expression: Annotated[str, AfterValidator(_checked_expression)] = Field(
        description="A SQL expression over request fields and `view.feature` (checked at plan)."
    )
    description: Description = ""


class OnDemandViewSpec(Spec):
    """Features computed from request fields plus stored features of views of the same entity.

    Expressions name request fields bare (`basket_value`) and stored features as `view.feature`; the same
    definition is evaluated at serving (compiled once) and over training-set rows (in DuckDB).
    """

    name: Name = Field(description="The view's name; models and groups refer to it.")
    entity: Name = Field(description="The entity; stored features are read from views of it.")
    request: list[RequestFieldSpec] = Field(default=[], description="Values each request carries.")
    features: list[OnDemandFeatureSpec] = Field(min_length=1, description="The computed features.")
    description: Description = ""
    owner: Owner = None

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

    name: Name = Field(description="The group's name; models and capabilities ask for it.")
    entity: Name = Field(description="The entity of every member view.")
    features: list[Annotated[str, AfterValidator(_group_member)]] = Field(
        min_length=1, description="Members: `view.feature`, or `view.*` for all of a view."
    )
    description: Description = ""
    owner: Owner = None


class LabelSpec(Spec):
    """Label rows: the entity key, a timestamp and the label, from SQL over lake datasets."""

    sql: str = Field(description="SQL over lake datasets returning join keys, timestamp and label.")
    timestamp: str = Field(default="ts", description="The column of the label's moment (point in time).")
    label: str = Field(default="label", description="The column of the label value.")


class ValidationSpec(Spec):
    """How the label rows are split to judge the model."""

    split: Literal["time"] = Field(default="time", description="`time`: the newest rows validate.")
    fraction: float = Field(default=0.2, gt=0, lt=1, description="Share of the rows held out.")


class CardSpec(Spec):
    """What the model card says a model is for, who answers for it, and what it must not be used for."""

    purpose: str = Field(default="", description="What the model is for, in a sentence or two.")
    owner: str | None = Field(
        default=None, description="Who answers for the model (defaults to the spec's owner)."
    )
    not_for: list[str] = Field(default=[], description="Uses the model must not be put to.")


Task = Literal[
    "binary_classification",
    "multiclass_classification",
    "regression",
    "text_classification",
    "forecast",
    "recommendation",
]
# Tasks learnt from a point-in-time training set of feature views alone, served by the tabular runtime.
TABULAR_TASKS = ("binary_classification", "multiclass_classification", "regression")
# Tasks whose capabilities answer by score bands (`decisions`): the score is a probability.
SCORE_BAND_TASKS = ("binary_classification",)


class ModelSpec(Spec):
    """What to learn: task, label definition, the feature views that feed it, algorithm and parameters."""

    name: Name = Field(description="The model's name; capabilities refer to it.")
    task: Task = Field(
        default="binary_classification",
        description="What is learnt: a class of two, a class of many, a number, a text's class, a series' "
        "future or a ranking of items (docs/models.md has an example of each).",
    )
    entity: Name = Field(description="The entity the label rows are about.")
    label: LabelSpec = Field(description="Where the label rows come from.")
    feature_views: list[Name] = Field(
        default=[], description="Stored or on-demand views whose features all feed the model."
    )
    feature_groups: list[Name] = Field(default=[], description="Feature groups that feed the model.")
    algorithm: Literal["lightgbm"] = Field(default="lightgbm", description="The trainer.")
    params: dict[str, float | int | str | bool] = Field(default={}, description="Parameters of the trainer.")
    validation: ValidationSpec = Field(default=ValidationSpec(), description="The validation split.")
    threshold: float = Field(default=0.5, gt=0, lt=1, description="Score at which a case counts as positive.")
    description: Description = ""
    owner: Owner = None
    # Review (docs/models.md#review-and-approval): a serving alias may point only at an approved version
    # unless `require_approval` is false; `champion` always serves, whatever this list says.
    require_approval: bool = Field(
        default=True, description="Serving aliases may point only at an approved version."
    )
    serving_aliases: list[AliasName] = Field(
        default=["champion"], description="Aliases that serve, besides champion and those capabilities serve."
    )
    # Experiment runs and model cards (docs/models.md): algorithms to compare, what the card says, and the
    # training-set columns whose values the card reports metrics for.
    candidates: CandidatesSpec | None = Field(
        default=None, description="Algorithms and parameter grids to compare on one holdout (AutoML)."
    )
    card: CardSpec | None = Field(
        default=None, description="Purpose, owner and forbidden uses for the model card."
    )
    slices: list[str] = Field(
        default=[], max_length=10, description="Training-set columns the card reports metrics per value of."
    )
    recommend: RecommendSpec | None = Field(
        default=None,
        description="Items, candidates and ranker of a recommendation model (task recommendation).",
    )
    text: TextSpec | None = Field(
        default=None, description="A text classification model's text column, languages and `other` answer."
    )

    @model_validator(mode="after")
    def _recommend_settings(self) -> ModelSpec:
        if self.task == "recommendation" and self.recommend is None:
            raise ValueError("task recommendation needs `recommend` (at least item and item_entity)")
        if self.task != "recommendation" and self.recommend is not None:
            raise ValueError(f"`recommend` is for task recommendation, not {self.task}")
        return self

    forecast: ForecastSpec | None = Field(
        default=None, description="task forecast: horizon, season, censoring, promotions, stock-out risk."
    )

    @model_validator(mode="before")
    @classmethod
    def _task_metric(cls, data: Any) -> Any:
        # Without `candidates.metric` a tabular task is judged by its own first metric (auc, log_loss, rmse).
        if isinstance(data, dict) and isinstance(data.get("candidates"), dict):
            metrics = TASK_METRICS.get(data.get("task", "binary_classification"))
            if metrics and "metric" not in data["candidates"]:
                return {**data, "candidates": {**data["candidates"], "metric": metrics[0]}}
        return data

    @model_validator(mode="after")
    def _some_features(self) -> ModelSpec:
        # Text, forecast and recommendation models learn from their label rows alone if need be.
        if self.task in TABULAR_TASKS and not self.feature_views and not self.feature_groups:
            raise ValueError("give feature_views or feature_groups (or both)")
        if self.forecast is not None and self.task != "forecast":
            raise ValueError(f"forecast settings apply to task forecast, and this model is {self.task}")
        if self.candidates is not None and self.task in TASK_METRICS:
            allowed = TASK_METRICS[self.task]
            if self.candidates.metric not in allowed:
                raise ValueError(
                    f"candidates.metric {self.candidates.metric!r} does not judge a {self.task} model "
                    f"(allowed: {', '.join(allowed)})"
                )
            fits = ("lightgbm", TASK_LINEAR[self.task])
            wrong = sorted({c.algorithm for c in self.candidates.algorithms} - set(fits))
            if wrong:
                raise ValueError(
                    f"candidates.algorithms: {', '.join(wrong)} does not fit a {self.task} model "
                    f"(allowed: {', '.join(fits)})"
                )
        return self

    @model_validator(mode="after")
    def _text_settings(self) -> ModelSpec:
        if self.task == "text_classification" and self.text is None:
            raise ValueError("text: a text_classification model needs a text block (at least its column)")
        if self.task != "text_classification" and self.text is not None:
            raise ValueError(f"text: only a text_classification model reads text, this one is {self.task}")
        return self

    @property
    def forecast_settings(self) -> ForecastSpec:
        """The forecast settings, their defaults when the spec gives none."""
        return self.forecast or ForecastSpec()


CapabilityName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]


class DecisionRule(Spec):
    """Scores at or above `min_score` get `decision`; the rules are tried highest first."""

    decision: str = Field(min_length=1, description="The answer given.")
    min_score: float = Field(default=0.0, ge=0, le=1, description="The lowest score that gets it.")


class ValueBand(Spec):
    """A regression model's predicted values at or above `min_value` get `decision`; tried highest first."""

    decision: str = Field(min_length=1, description="The answer given.")
    min_value: float = Field(allow_inf_nan=False, description="The lowest predicted value that gets it.")


class FallbackSpec(Spec):
    """What to answer when the entity has no online features (new customer, store not yet materialized)."""

    decision: str = Field(min_length=1, description="The answer given without features.")
    score: float | None = Field(default=None, description="The score returned with it, if any.")


class WriteBackSpec(Spec):
    """Batch scoring writes scores and decisions into a table of a SQL source (reverse ETL)."""

    source: Name = Field(description="A SQL source to write into.")
    table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$", description="The table written.")
    keys: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]] | None = Field(
        default=None,
        min_length=1,
        description="The table's key columns, carried through from the scored rows: one row per key, "
        "upserted. By default the capability's entity key(s) (a recommendation adds `rank`); name another "
        "unique column when one entity has several rows, e.g. `[ticket_id]` for intents of tickets.",
    )


class CapabilitySpec(Spec):
    """A named business decision API over a model."""

    name: CapabilityName = Field(description="The capability's name: `POST /v1/capabilities/{name}/decide`.")
    model: Name = Field(description="The model whose versions answer.")
    alias: str = Field(default="champion", description="The model alias that serves.")
    input: str = Field(description="The request field holding the entity key.")
    # The request carries this dataset's key (the CRM's customer_id) rather than the entity's: OneID's
    # crosswalk maps it to the person online, and batch write-back is keyed by it.
    input_dataset: Name | None = Field(
        default=None, description="The request carries this dataset's key, mapped to the person by OneID."
    )
    decisions: list[DecisionRule] = Field(
        default=[], description="Score bands and their answers (a binary model's capability needs one)."
    )
    value_bands: list[ValueBand] = Field(
        default=[],
        description="A regression model's answers by predicted value; without them the decision is the value "
        "as text.",
    )
    fallback: FallbackSpec = Field(description="The answer when the entity has no online features.")
    explain_top: int = Field(
        default=5, ge=0, le=50, description="Top contributing features returned (0: none)."
    )
    feature_groups: list[Name] = Field(
        default=[], description="Read with the model's features and returned with each decision."
    )
    write_back: WriteBackSpec | None = Field(default=None, description="Where batch scoring writes.")
    recommend: RecommendCapabilitySpec | None = Field(
        default=None,
        description="k, the store field and the stock rules of a recommendation model's capability.",
    )
    process: ProcessSpec | None = Field(
        default=None, description="Outcomes, review outcome and deadline for process engines' decision nodes."
    )
    traffic: TrafficSpec | None = Field(
        default=None,
        description="Arms with weights (A/B, sticky by entity key) and shadows; default: `alias` alone. "
        "`zhongtai capabilities split` overrides it live.",
    )
    routing: RoutingSpec | None = Field(
        default=None, description="A text model's capability: confidence, queues and escalation rules."
    )
    description: Description = ""
    owner: Owner = None

    def ranked_decisions(self) -> list[DecisionRule]:
        """The rules in the order they are tried: highest `min_score` first."""
        return sorted(self.decisions, key=lambda r: r.min_score, reverse=True)

    def ranked_value_bands(self) -> list[ValueBand]:
        """The value bands in the order they are tried: highest `min_value` first."""
        return sorted(self.value_bands, key=lambda b: b.min_value, reverse=True)


class TagSpec(Spec):
    """A rule-defined label on an entity: SQL over lake datasets returning the join keys of every entity that
    carries the tag now. Each build records who gained and who lost it."""

    name: Name = Field(description="The tag's name.")
    entity: Name = Field(description="The entity that carries the tag.")
    sql: str = Field(description="SQL over lake datasets returning the join keys of every tagged entity.")
    every: Duration | None = Field(
        default=None, description="How often it should be rebuilt: `zhongtai tags build --due`."
    )
    description: Description = ""
    owner: Owner = None


class ProjectFile(Spec):
    """One YAML file of a project folder; any file may hold any kind."""

    sources: list[SourceSpec] = Field(default=[])
    datasets: list[DatasetSpec] = Field(default=[])
    entities: list[EntitySpec] = Field(default=[])
    identities: list[IdentitySpec] = Field(default=[])
    tags: list[TagSpec] = Field(default=[])
    feature_views: list[FeatureViewSpec] = Field(default=[])
    on_demand_views: list[OnDemandViewSpec] = Field(default=[])
    feature_groups: list[FeatureGroupSpec] = Field(default=[])
    models: list[ModelSpec] = Field(default=[])
    capabilities: list[CapabilitySpec] = Field(default=[])
    policies: list[PolicySpec] = Field(default=[])


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
    "policies": PolicySpec,
}
