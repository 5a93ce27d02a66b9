"""The retail demo's preparation: every stage of the platform once, on embedded stores, in order.

The CLI shows progress and then serves; this module only does the work, through the same public
functions a person would call one by one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from zhongtai.config import Settings
from zhongtai.errors import ZhongtaiError
from zhongtai.lake.storage import LakeStorage
from zhongtai.meta.store import MetadataStore

CAPABILITY = "churn-risk"
MODEL = "churn"
FORECAST_MODEL = "stock_forecast"
RECOMMENDER = "recommender"
RECOMMEND = "recommend"
# Trained, reviewed and made champion in this order: a model whose outputs feed another's features first.
INTENT = "intent"
MODELS = (FORECAST_MODEL, MODEL, RECOMMENDER, INTENT)
# What the intent example asks, as a customer would write it in the app chat.
INTENT_EXAMPLE = "客服态度太差了，打了三次电话都没人处理，我要投诉你们！"
# The demo acts as two people, so the new model is reviewed with four eyes like any other (docs/models.md):
# the data scientist who submits it and a reviewer who approves it and makes it champion.
DEMO_SUBMITTER = "demo"
DEMO_REVIEWER = "demo-reviewer"

Stage = Callable[[str, str], None]  # (stage, detail)


@dataclass
class DemoReport:
    api_key: str
    console_key: str  # an admin's, to sign in to the console with (the app key sees only what apps may)
    customer_id: int
    decision: str
    examples: dict[str, dict[str, Any]]  # capability -> a request body that answers with real data
    model_version: int
    auc: float
    baseline_auc: float
    scored: int
    written_back: int
    seconds: dict[str, float] = field(default_factory=dict)


def prepare(settings: Settings, customers: int, seed: int, on_stage: Stage) -> DemoReport:
    """Generate, apply, ingest, resolve persons (OneID), build and materialize features, train, have the
    version reviewed and made champion (`promote`), publish a forecast's outputs as features (built and
    materialized before the models after it train), score and write back."""
    from zhongtai.capabilities.batch import score_all
    from zhongtai.catalog.classify import classify_fields
    from zhongtai.features.keys import materialize_keys
    from zhongtai.features.materialize import materialize
    from zhongtai.features.offline import build_view
    from zhongtai.features.online import open_online_store
    from zhongtai.govern.policy import ADMIN_ROLE
    from zhongtai.identity.run import identity_spec, run_oneid
    from zhongtai.integrate.writeback import write_back
    from zhongtai.lake.ingest import ingest
    from zhongtai.models.outputs import publish_outputs, reading_views, refresh_views
    from zhongtai.models.train import train_model
    from zhongtai.scenarios.retail.generate import generate
    from zhongtai.scenarios.retail.project import APP_ROLE
    from zhongtai.spec.plan import apply_plan, build_plan
    from zhongtai.spec.project import load_project
    from zhongtai.spec.references import ingest_order

    clock = _Clock(on_stage)
    report = generate(settings.home / "demo" / "retail", customers, seed=seed)
    clock.done("generate", f"{customers:,} customers, {sum(report.rows.values()):,} source rows")
    store = MetadataStore(settings.metadata_url)
    lake = LakeStorage(settings.lake_url)
    try:
        apply_plan(build_plan(load_project(report.project_dir), store), store, actor="demo")
        clock.done("apply", str(report.project_dir))
        rows = 0
        datasets = ingest_order(store.registered("datasets"))
        for name in datasets:
            rows += ingest(store, lake, name).rows
            classify_fields(store, lake, name)
        clock.done("ingest", f"{rows:,} rows in {len(datasets)} datasets")
        oneid = run_oneid(store, lake, identity_spec(store))
        clock.done("oneid", f"{oneid['records']:,} records → {oneid['persons']:,} persons")
        # Views over a model's outputs are built once the model has published them (below).
        later = {v for m in MODELS for v in reading_views(store, _outputs_of(store, m) or "")}
        built = sorted(set(store.registered("feature_views")) - later)
        online = open_online_store(settings.online_url)
        try:
            for view in built:
                build_view(store, lake, view)
                materialize(store, lake, online, view)
            materialize_keys(store, lake, online)  # the CRM calls with customer_id
        finally:
            online.close()
        tags = _build_tags(store, lake, settings.online_url)
        clock.done("features", f"{', '.join(built)}; tags {tags}")
        versions = {}
        for model in MODELS:
            trained = train_model(store, lake, model)
            promote(store, model, trained.version)
            versions[model] = trained
            published = ""
            if _outputs_of(store, model) is not None:
                # Its outputs become features before the next model trains on them.
                done = publish_outputs(store, lake, model)
                online = open_online_store(settings.online_url)
                try:
                    views = refresh_views(store, lake, online, done.dataset)
                finally:
                    online.close()
                published = f"; published to {done.dataset} v{done.dataset_version} ({', '.join(views)})"
            clock.done(
                "train",
                f"{model} v{trained.version}: {summary(trained.metrics)}; "
                f"submitted as {DEMO_SUBMITTER}, approved as {DEMO_REVIEWER}, champion{published}",
            )
        version = versions[MODEL]
        validation, baseline = version.metrics["validation"], version.metrics["baseline"]
        scores = score_all(store, lake, CAPABILITY)
        written = write_back(store, scores)
        target = scores.capability.write_back
        clock.done("write back", f"{written:,} scores into the CRM table {target.table if target else '?'}")
        stamp = f"{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        key = store.access.create_key(f"demo-{stamp}", [APP_ROLE])
        console_key = store.access.create_key(f"demo-console-{stamp}", [ADMIN_ROLE])
        best = max(scores.table.to_pylist(), key=lambda row: row["score"])
        examples: dict[str, dict[str, Any]] = {CAPABILITY: {"customer_id": best["customer_id"]}}
        examples["stock-risk"] = _riskiest_series(store, lake)
        examples[RECOMMEND] = recommend_example(store, lake, settings.online_url)
        examples[INTENT] = intent_example(store, lake, settings.online_url)
        clock.done("api key", "created: an app's for the curls, an admin's for the console")
    finally:
        store.close()
    return DemoReport(
        api_key=key,
        console_key=console_key,
        customer_id=best["customer_id"],
        decision=best["decision"],
        examples=examples,
        model_version=version.version,
        auc=validation["auc"],
        baseline_auc=baseline["auc"],
        scored=scores.table.num_rows,
        written_back=written,
        seconds=clock.seconds,
    )


def recommend_example(store: MetadataStore, lake: LakeStorage, online_url: str) -> dict[str, Any]:
    """A request to `recommend` that answers personalised items: a CRM customer with orders, at the physical
    store they bought most in (the first of the busiest few the runtime answers with items)."""
    from zhongtai.capabilities.runtime import build_runtime
    from zhongtai.features.online import open_online_store
    from zhongtai.lake.offline.duckdb import DuckDBEngine
    from zhongtai.lake.views import register_datasets

    sql = (
        "SELECT CAST(c.key AS BIGINT) AS customer_id, o.store_id, count(*) AS orders "
        "FROM person_crosswalk c "
        "JOIN person_crosswalk x ON x.person_id = c.person_id AND x.dataset = 'erp_orders' "
        "JOIN erp_orders o ON CAST(o.order_id AS VARCHAR) = x.key "
        "JOIN erp_stores s ON s.store_id = o.store_id AND s.store_format <> 'online' "
        "WHERE c.dataset = 'crm_customers' GROUP BY ALL ORDER BY orders DESC, customer_id LIMIT 20"
    )
    engine = DuckDBEngine(lake)
    try:
        register_datasets(engine, store, sql, "the recommend example")
        rows = engine.to_arrow(sql, "the recommend example").to_pylist()
    finally:
        engine.close()
    online = open_online_store(online_url)
    try:
        runtime = build_runtime(RECOMMEND, store, lake, online)
        for row in rows:
            body = {"customer_id": row["customer_id"], "store_id": row["store_id"], "k": 5}
            decision = runtime.decide(body)
            if decision.output and decision.output["items"] and not decision.fallback:
                return body
    finally:
        online.close()
    raise ZhongtaiError("internal", "no customer of the demo gets recommendations", "generate more customers")


def _build_tags(store: MetadataStore, lake: LakeStorage, online_url: str) -> str:
    """Build every tag and put each entity's tags online (intent's routing reads `tags.high_value`)."""
    from zhongtai.features.online import open_online_store
    from zhongtai.spec.models import TagSpec
    from zhongtai.tags.build import build_tag
    from zhongtai.tags.online import materialize_tags

    entities: set[str] = set()
    built = []
    for name, payload in sorted(store.registered("tags").items()):
        build = build_tag(store, lake, name)
        entities.add(TagSpec.model_validate(payload).entity)
        built.append(f"{name} {build.members:,}")
    online = open_online_store(online_url)
    try:
        for entity in sorted(entities):
            materialize_tags(store, lake, online, entity)
    finally:
        online.close()
    return ", ".join(built)


def intent_example(store: MetadataStore, lake: LakeStorage, online_url: str) -> dict[str, Any]:
    """A complaint to `intent` from a CRM customer it escalates to the VIP queue: one carrying the
    high_value tag whose published churn score is above the rule's bar, most at risk first, tried through
    the runtime; the most at-risk tagged customer (or any, without tagged ones) when none is escalated."""
    from zhongtai.capabilities.runtime import build_runtime
    from zhongtai.features.online import open_online_store
    from zhongtai.lake import engine
    from zhongtai.lake.views import open_datasets
    from zhongtai.scenarios.retail.service_intent import AT_RISK_RULE, CHURN_SCORES, HIGH_VALUE_TAG

    build = store.tags.latest(HIGH_VALUE_TAG)
    tagged = f"(SELECT person_id FROM {engine.scan(lake, build.members_files)})" if build else None
    sql = (
        "SELECT CAST(x.key AS BIGINT) AS customer_id FROM person_crosswalk x "
        f"JOIN {CHURN_SCORES} s ON s.person_id = x.person_id "
        + (f"LEFT JOIN {tagged} t ON t.person_id = x.person_id " if tagged else "")
        + "WHERE x.dataset = 'crm_customers' ORDER BY "
        + ("t.person_id IS NULL, " if tagged else "")
        + "s.score DESC, customer_id LIMIT 200"
    )
    con = engine.connect(lake)
    try:
        open_datasets(con, store, lake, sql, "the intent example")
        customers = [row[0] for row in engine.run(con, sql)]
    finally:
        con.close()
    if not customers:
        raise ZhongtaiError("internal", "no CRM customer has a churn score", "generate more customers")
    online = open_online_store(online_url)
    try:
        runtime = build_runtime(INTENT, store, lake, online)
        for customer in customers:
            body = {"customer_id": customer, "text": INTENT_EXAMPLE}
            if (runtime.decide(body).output or {}).get("escalation") == AT_RISK_RULE:
                return body
    finally:
        online.close()
    return {"customer_id": customers[0], "text": INTENT_EXAMPLE}


def _outputs_of(store: MetadataStore, model: str) -> str | None:
    from zhongtai.models.outputs import outputs_dataset
    from zhongtai.spec.models import ModelSpec

    return outputs_dataset(ModelSpec.model_validate(store.spec("models", model)))


def _riskiest_series(store: MetadataStore, lake: LakeStorage) -> dict[str, Any]:
    """A real product in a real store for the stock-risk curl: the one most likely to run out this week."""
    from zhongtai.lake.reader import read_table

    rows = read_table(store, lake, "stock_forecasts").to_pylist()
    top = max(rows, key=lambda row: row["stockout_risk_7d"] or 0.0)
    return {"product_id": top["product_id"], "store_id": top["store_id"]}


def promote(store: MetadataStore, model: str, version: int) -> None:
    """What the demo does on the user's behalf: submit the trained version as `demo`, approve it as
    `demo-reviewer` and point `champion` at it, each step recorded under those names."""
    from zhongtai.models import aliases
    from zhongtai.models.policy import ModelAction
    from zhongtai.models.review import review

    note = "zhongtai demo, on the user's behalf"
    review(store, model, version, ModelAction.SUBMIT, DEMO_SUBMITTER, note)
    review(store, model, version, ModelAction.APPROVE, DEMO_REVIEWER, note)
    aliases.move(store, model, version, "champion", DEMO_REVIEWER, note)


def summary(metrics: dict[str, Any]) -> str:
    """A version's headline figure against its baseline, whatever its task: the first metric both have."""
    validation, baseline = metrics.get("validation", {}), metrics.get("baseline", {})
    for name in ("auc", "accuracy", "macro_f1", "mase", "ndcg_at_10", "hit_rate_at_10", "rmse", "mae"):
        if isinstance(validation.get(name), int | float) and isinstance(baseline.get(name), int | float):
            return f"{name.upper()} {validation[name]:.3f} vs baseline {baseline[name]:.3f}"
    return "trained"


class _Clock:
    def __init__(self, on_stage: Stage) -> None:
        self.on_stage = on_stage
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def done(self, stage: str, detail: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.last, 2)
        self.last = now
        self.on_stage(stage, detail)
