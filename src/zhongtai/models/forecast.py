"""The forecast trainer (`task: forecast`) and its artifact: every series' forecast, ready to look up.

The trainer runs the model's label SQL (series keys, time, value, the censoring flag, the stock columns) and
the exogenous SQL (a promotion calendar for the history and the horizon) on the offline engine, lays the rows
out as a panel of daily series, and hands it to models/forecasting.py: rolling-origin backtests choose the
statsforecast model and measure its dispersion, the last horizon is held out and scored against seasonal
naive, then the whole history is forecast. Bad input (no rows, a series shorter than two seasons, a history
too short for a holdout) is an error naming the spec field, raised before anything is registered.

The artifact is two data-only files: `forecast.json` (the model chosen, its parameters, the lifts, the
settings and the forecast date) and `forecasts.npz` (per series: the keys, the forecast of every horizon day
with its intervals, the sum over the risk horizon with its intervals, the stock position and the stock-out
risk). Serving and publishing read these numbers; nothing is refitted after training.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from zhongtai.errors import ZhongtaiError
from zhongtai.models.artifacts import read_artifact, sibling
from zhongtai.models.forecasting import Forecasts, Panel, exceedance, forecast_panel, quantiles
from zhongtai.models.tasks import Trained, TrainJob
from zhongtai.spec.forecast_task import ForecastSpec, risk_days
from zhongtai.spec.models import EntitySpec, ModelSpec

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.records import ModelVersion

FORMAT = "forecast-npz"
MAIN_FILE = "forecast.json"
ARRAYS_FILE = "forecasts.npz"
SCHEMA = "zhongtai-forecast/1"
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class SeriesRows:
    """The label rows as a panel: the keys of each series and its stock position at the forecast date."""

    panel: Panel
    keys: dict[str, np.ndarray]  # join key -> value per series
    stock: np.ndarray | None
    combinations: list[dict[str, Any]]  # exogenous values of each combination index (index 0: ordinary)
    datasets: dict[str, int]
    shelf: np.ndarray | None = None  # the first stock column alone at the forecast date: what is on the shelf


def train_forecast(job: TrainJob) -> Trained:
    """Fit the forecast model of `job.spec` and return its artifact and figures (see the module doc)."""
    spec = job.spec
    settings = spec.forecast_settings
    entity = EntitySpec.model_validate(job.store.spec("entities", spec.entity))
    job.report("training set", "label rows and the exogenous calendar")
    rows = read_series(job, settings, entity)
    series = rows.panel.values.shape[0]
    job.report("train", f"{series:,} series, {rows.panel.days} days, horizon {settings.horizon}")
    days = risk_days(settings)
    found = forecast_panel(rows.panel, settings.levels, days)
    job.report("evaluate", f"{found.model}: MASE {found.metrics['validation']['mase']:.3f}")
    arrays = outputs(found, rows, settings, days)
    forecast_date = _day(rows.panel.first_day + rows.panel.days - 1)
    params = {
        "model": found.model,
        "dispersion": found.dispersion,
        "sum_dispersion": found.sum_dispersion,
        "season_profile": [round(float(v), 6) for v in found.profile],
        "lifts": [
            {"values": values, "lift": round(float(lift), 6)}
            for values, lift in zip(rows.combinations, found.lifts, strict=True)
            if values
        ],
    }
    document = {
        "schema": SCHEMA,
        "keys": list(rows.keys),
        "forecast_date": forecast_date.isoformat(),
        "horizon": settings.horizon,
        "risk_days": days,
        "levels": settings.levels,
        "stock_risk": settings.stock_risk is not None,
        **params,
    }
    metrics = {
        **found.metrics,
        "train_rows": int(np.isfinite(rows.panel.values).sum()),
        "validation_rows": int(series * settings.horizon),
        "series": series,
        "forecast_date": forecast_date.isoformat(),
        "datasets": rows.datasets,
    }
    return Trained(
        artifact_format=FORMAT,
        files={MAIN_FILE: json.dumps(document, indent=2).encode(), ARRAYS_FILE: _npz(arrays)},
        main=MAIN_FILE,
        features=[],
        params=params,
        metrics=metrics,
    )


def read_series(job: TrainJob, settings: ForecastSpec, entity: EntitySpec) -> SeriesRows:
    """Run the label and exogenous SQL on the offline engine and lay the rows out as a panel."""
    from zhongtai.lake.offline import engine_or_default
    from zhongtai.lake.views import register_datasets

    spec = job.spec
    _series_keys(spec, settings, entity)  # a bad key list fails before any SQL runs
    where = f"model '{spec.name}' labels"
    with engine_or_default(job.engine, job.storage) as offline:
        datasets = register_datasets(offline, job.store, spec.label.sql, where)
        labels = offline.to_arrow(spec.label.sql, where)
        calendar = None
        if settings.exogenous is not None:
            place = f"model '{spec.name}' forecast.exogenous.sql"
            datasets |= register_datasets(offline, job.store, settings.exogenous.sql, place)
            calendar = offline.to_arrow(settings.exogenous.sql, place)
    return series_rows(spec, entity, labels, calendar, datasets)


def series_rows(
    spec: ModelSpec,
    entity: EntitySpec,
    labels: pa.Table,
    calendar: pa.Table | None,
    datasets: dict[str, int] | None = None,
) -> SeriesRows:
    """The label rows (the columns `label.sql` selects) and the exogenous calendar laid out as the panel the
    trainer fits: what `read_series` does after its SQL, for rows that come from elsewhere (a bench)."""
    settings = spec.forecast_settings
    keys = _series_keys(spec, settings, entity)
    frame = _label_frame(spec, settings, keys, labels)
    return _panel(spec, settings, keys, frame, calendar, datasets or {})


def _series_keys(spec: ModelSpec, settings: ForecastSpec, entity: EntitySpec) -> list[str]:
    keys = settings.series_keys or list(entity.join_keys)
    if sorted(keys) != sorted(entity.join_keys):
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' forecast.series_keys: {', '.join(keys)} are not the join keys of entity "
            f"'{entity.name}' ({', '.join(entity.join_keys)})",
            "forecasts are served and published per entity: name its join keys, or leave series_keys out",
        )
    return list(entity.join_keys)


def _label_frame(spec: ModelSpec, settings: ForecastSpec, keys: list[str], table: pa.Table) -> pd.DataFrame:
    """The label rows with their columns checked and typed: keys, `day` (days since 1970), value, flags."""
    import pyarrow as pa
    import pyarrow.compute as pc

    needed = {k: "the entity's join key" for k in keys}
    needed[spec.label.timestamp] = "label.timestamp"
    needed[spec.label.label] = "label.label"
    if settings.censored:
        needed[settings.censored] = "forecast.censored"
    for column in settings.stock_risk.stock if settings.stock_risk else []:
        needed[column] = "forecast.stock_risk.stock"
    lacking = [f"{column} ({field})" for column, field in needed.items() if column not in table.column_names]
    if lacking:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.sql: the rows lack {', '.join(lacking)}",
            "select the series keys, the time, the value and the columns the forecast settings name",
        )
    if table.num_rows == 0:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{spec.name}' label.sql returned no rows",
            "a forecast needs each series' history: check the SQL and that its datasets are ingested",
        )
    stamp = table[spec.label.timestamp]
    if not (pa.types.is_date(stamp.type) or pa.types.is_timestamp(stamp.type)):
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' label.timestamp: column '{spec.label.timestamp}' is {stamp.type}, "
            "not a date or timestamp",
            "cast it in the SQL, e.g. `date::DATE AS ts`",
        )
    day = pc.cast(pc.cast(stamp, pa.date32(), safe=False), pa.int32())
    columns = {k: table[k] for k in keys}
    columns["day"] = day
    columns["value"] = _typed(spec, table, spec.label.label, pa.float64(), "label.label")
    if settings.censored:
        columns["censored"] = _typed(spec, table, settings.censored, pa.bool_(), "forecast.censored")
    for index, column in enumerate(settings.stock_risk.stock if settings.stock_risk else []):
        columns[f"stock_{index}"] = _typed(spec, table, column, pa.float64(), "forecast.stock_risk.stock")
    frame = pa.table(columns).to_pandas()
    if frame["day"].isna().any():
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{spec.name}' label.timestamp: {int(frame['day'].isna().sum())} rows have no time",
        )
    return frame


def _typed(spec: ModelSpec, table: pa.Table, column: str, kind: pa.DataType, field: str) -> pa.ChunkedArray:
    """A label column as the forecast reads it (numbers, or flags); another type is an error naming the field."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(table[column], kind, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' {field}: column '{column}' is {table[column].type}, not "
            f"{'a true/false or 0/1 flag' if pa.types.is_boolean(kind) else 'a number'}",
            "cast it in label.sql",
        ) from None


def _panel(
    spec: ModelSpec,
    settings: ForecastSpec,
    keys: list[str],
    frame: pd.DataFrame,
    calendar: pa.Table | None,
    datasets: dict[str, int],
) -> SeriesRows:
    if "censored" not in frame:
        frame["censored"] = False
    frame["censored"] = frame["censored"].fillna(False).astype(bool)
    # Several rows of one series and day are one day's demand: summed; censored if any of them was.
    stock = [c for c in frame.columns if c.startswith("stock_")]
    grouped = frame.groupby([*keys, "day"], sort=True)
    daily = grouped[["censored", *stock]].agg({"censored": "max", **{c: "last" for c in stock}})
    daily["value"] = grouped["value"].sum(min_count=1)
    daily = daily.reset_index()
    series = daily.groupby(keys, sort=True).ngroup().to_numpy()
    count = int(series.max()) + 1
    first, last = int(daily["day"].min()), int(daily["day"].max())
    days = last - first + 1
    values = np.full((count, days), np.nan)
    censored = np.zeros((count, days), dtype=bool)
    column = daily["day"].to_numpy() - first
    values[series, column] = daily["value"].to_numpy(dtype=np.float64)
    censored[series, column] = daily["censored"].to_numpy(dtype=bool)
    _check_lengths(spec, settings, values, days)
    heads = daily.groupby(keys, sort=True).tail(1)  # each series' newest day: its stock at the forecast date
    stock_position = heads[stock].sum(axis=1, min_count=len(stock)).to_numpy() if stock else None
    shelf = heads["stock_0"].to_numpy(dtype=np.float64) if stock else None
    combination, combinations = _exogenous(spec, settings, calendar, first, days + settings.horizon)
    panel = Panel(
        values,
        censored,
        combination,
        first,
        settings.horizon,
        settings.season_length,
        related(combinations),
    )
    key_values = {k: heads[k].to_numpy() for k in keys}
    return SeriesRows(panel, key_values, stock_position, combinations, datasets, shelf)


def _check_lengths(spec: ModelSpec, settings: ForecastSpec, values: np.ndarray, days: int) -> None:
    season = settings.season_length
    short = int((np.isfinite(values).sum(axis=1) < 2 * season).sum())
    if short:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{spec.name}' forecast.season_length: {short} of {values.shape[0]} series have fewer than "
            f"two seasons ({2 * season} days) of history",
            "leave the short series out in label.sql (e.g. keep series with enough days), or shorten "
            "forecast.season_length",
        )
    if days < settings.horizon + 2 * season:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{spec.name}' forecast.horizon: the history holds {days} days, and holding out a horizon "
            f"of {settings.horizon} days leaves less than two seasons ({2 * season} days) to learn from",
            "shorten forecast.horizon or give the label SQL a longer history",
        )


def _exogenous(
    spec: ModelSpec, settings: ForecastSpec, calendar: pa.Table | None, first: int, days: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Each day's exogenous combination index (0: ordinary) and the values of each combination."""
    codes = np.zeros(days, dtype=np.int64)
    combinations: list[dict[str, Any]] = [{}]
    if calendar is None or settings.exogenous is None:
        return codes, combinations
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = settings.exogenous.columns
    lacking = [c for c in [spec.label.timestamp, *columns] if c not in calendar.column_names]
    if lacking:
        raise ZhongtaiError(
            "invalid_spec",
            f"model '{spec.name}' forecast.exogenous.sql: the rows lack {', '.join(lacking)}",
            f"select '{spec.label.timestamp}' (the label's timestamp) and every column of forecast.exogenous.columns",
        )
    day = pc.cast(pc.cast(calendar[spec.label.timestamp], pa.date32(), safe=False), pa.int32()).to_numpy(
        zero_copy_only=False
    )
    values = [calendar[c].to_pylist() for c in columns]
    seen: dict[tuple[Any, ...], int] = {}
    for index, moment in enumerate(day.tolist()):
        position = moment - first
        combo = tuple(v[index] for v in values)
        if not 0 <= position < days or all(v in (None, 0, "", False) for v in combo):
            continue
        if combo not in seen:
            seen[combo] = len(combinations)
            # Recorded in the version's parameters (JSON): a date or decimal value as its text.
            plain = [v if v is None or isinstance(v, str | int | float | bool) else str(v) for v in combo]
            combinations.append(dict(zip(columns, plain, strict=True)))
        codes[position] = seen[combo]
    return codes, combinations


def related(combinations: list[dict[str, Any]]) -> tuple[tuple[int, ...], ...]:
    """For each combination, the others sharing the most of its non-empty values (at least one): the
    lead-in of a festival the history has not seen is related to the lead-ins of those it has."""
    found: list[tuple[int, ...]] = [()]
    for values in combinations[1:]:
        shared = [
            sum(1 for k, v in values.items() if v not in (None, 0, "", False) and other.get(k) == v)
            for other in combinations
        ]
        shared[0] = 0
        best = max((n for i, n in enumerate(shared) if combinations[i] is not values), default=0)
        found.append(
            tuple(i for i, n in enumerate(shared) if best and n == best and combinations[i] is not values)
        )
    return tuple(found)


def outputs(
    found: Forecasts, rows: SeriesRows, settings: ForecastSpec, risk_days: int
) -> dict[str, np.ndarray]:
    """The arrays of the artifact: keys, daily forecast and intervals, the risk-horizon sum and the risk."""
    arrays: dict[str, np.ndarray] = {f"key_{i}": _plain(v) for i, v in enumerate(rows.keys.values())}
    arrays["mean"] = found.mean
    total = found.mean[:, :risk_days].sum(axis=1)
    arrays["sum_mean"] = total
    for level in settings.levels:
        tail = (1 - level / 100) / 2
        arrays[f"lo_{level}"] = quantiles(found.mean, found.dispersion, tail)
        arrays[f"hi_{level}"] = quantiles(found.mean, found.dispersion, 1 - tail)
        arrays[f"sum_lo_{level}"] = quantiles(total, found.sum_dispersion, tail)
        arrays[f"sum_hi_{level}"] = quantiles(total, found.sum_dispersion, 1 - tail)
    if rows.stock is not None:
        stock = rows.stock.astype(np.float64)
        arrays["stock"] = stock
        risk = exceedance(total, found.sum_dispersion, np.floor(np.nan_to_num(stock, nan=0.0)))
        arrays["risk"] = np.where(np.isfinite(stock), risk, np.nan)
    if rows.shelf is not None:
        # The shelf is empty at the next day's close when that day's demand reaches what is on it (an arrival
        # that day can only help, so this is the risk before deliveries): P(demand >= shelf) = P(demand > shelf - 1).
        shelf = rows.shelf.astype(np.float64)
        next_day = exceedance(found.mean[:, 0], found.dispersion, np.floor(np.nan_to_num(shelf, nan=0.0)) - 1)
        arrays["risk_1d"] = np.where(np.isfinite(shelf), next_day, np.nan)
    return arrays


def _plain(values: np.ndarray) -> np.ndarray:
    """Key values as an array npz stores without pickle: integers as int64, anything else as text."""
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return np.asarray([str(v) for v in values], dtype=np.str_)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(out, allow_pickle=False, **arrays)
    return out.getvalue()


def _day(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


@dataclass(frozen=True)
class ForecastArtifact:
    """A forecast version's outputs, loaded once: look-ups by entity key, no refit."""

    document: dict[str, Any]
    arrays: dict[str, np.ndarray]
    index: dict[str, int]  # entity key ("1001|3") -> row

    @property
    def forecast_date(self) -> date:
        return date.fromisoformat(self.document["forecast_date"])

    @property
    def key_names(self) -> list[str]:
        return list(self.document["keys"])

    @property
    def series(self) -> int:
        return len(self.index)


def load_forecast(storage: LakeStorage, path: str) -> ForecastArtifact:
    """Read a forecast artifact (`forecast.json` at `path`, its arrays beside it); a foreign or damaged file
    is a clear error naming it."""
    from zhongtai.features.online.base import entity_key

    try:
        document = json.loads(read_artifact(storage, path))
        if document.get("schema") != SCHEMA:
            raise ValueError("schema")
        raw = read_artifact(storage, sibling(path, ARRAYS_FILE))
        with np.load(io.BytesIO(raw), allow_pickle=False) as loaded:
            arrays = {name: loaded[name] for name in loaded.files}
        keys = [arrays[f"key_{i}"] for i in range(len(document["keys"]))]
    except (ValueError, KeyError, TypeError, OSError):
        raise ZhongtaiError(
            "invalid_argument",
            f"{path} is not a {FORMAT} model",
            "artifacts are written by `zhongtai train`; other formats are refused",
        ) from None
    index = {
        entity_key(values): row for row, values in enumerate(zip(*(k.tolist() for k in keys), strict=True))
    }
    return ForecastArtifact(document, arrays, index)


def outputs_table(storage: LakeStorage, spec: ModelSpec, version: ModelVersion) -> pa.Table:
    """A version's published outputs, one row per series: the columns `output_columns` names, after the
    entity's join keys, read from its artifact as trained."""
    import pyarrow as pa

    if version.artifact_format != FORMAT:
        raise ZhongtaiError(
            "invalid_argument",
            f"model '{spec.name}' v{version.version} is a {version.artifact_format} artifact, not {FORMAT}",
        )
    found = load_forecast(storage, version.artifact)
    arrays, days = found.arrays, int(found.document["risk_days"])
    rows = found.series
    columns: dict[str, Any] = {name: arrays[f"key_{i}"] for i, name in enumerate(found.key_names)}
    columns["forecast_date"] = pa.array([found.forecast_date] * rows, pa.date32())
    columns[f"forecast_{days}d"] = arrays["sum_mean"]
    for level in found.document["levels"]:
        columns[f"forecast_{days}d_lo_{level}"] = arrays[f"sum_lo_{level}"]
        columns[f"forecast_{days}d_hi_{level}"] = arrays[f"sum_hi_{level}"]
    if "risk" in arrays:
        columns["stock_position"] = pa.array(arrays["stock"], pa.float64(), from_pandas=True)
        columns[f"stockout_risk_{days}d"] = pa.array(arrays["risk"], pa.float64(), from_pandas=True)
    if "risk_1d" in arrays and days != 1:  # a one-day risk horizon published it already
        columns["stockout_risk_1d"] = pa.array(arrays["risk_1d"], pa.float64(), from_pandas=True)
    columns["model"] = pa.array([spec.name] * rows, pa.string())
    columns["model_version"] = pa.array([version.version] * rows, pa.int64())
    return pa.table(columns)
