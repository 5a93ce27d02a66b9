"""Batch scoring of tabular capabilities over chosen rows: a dataset or a query, keyed as the rows are, with
the fallback for an entity without features; clear errors for a missing key, repeated keys and bad SQL; and
`zhongtai score` end to end: --query, --write-back (a rerun changes nothing), --dry-run, --out and --json."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.capabilities.tabular_world import TabularWorld, build_tabular_world
from zhongtai.capabilities.batch import score_all, score_batch
from zhongtai.capabilities.batch_input import dataset_rows, query_rows
from zhongtai.cli import context
from zhongtai.cli.app import app
from zhongtai.errors import ZhongtaiError
from zhongtai.integrate.writeback import write_scores
from zhongtai.meta.records import Change

pytestmark = pytest.mark.integration
SOME = "SELECT DISTINCT customer_id FROM customer_months WHERE customer_id <= 20 UNION ALL SELECT 9999"


@pytest.fixture(scope="module")
def tabular(tmp_path_factory) -> Iterator[TabularWorld]:
    tmp_path = tmp_path_factory.mktemp("batch_tabular")
    world = build_tabular_world(tmp_path)
    crm = f"sqlite:///{tmp_path / 'crm.db'}"
    band, value = (world.store.spec("capabilities", name) for name in ("spend-band", "spend-value"))
    by_month = {"source": "crm", "table": "spend_by_month", "keys": ["customer_id", "ts"]}
    world.store.apply(
        [
            Change("sources", "create", "crm", {"name": "crm", "type": "sql", "url": crm}),
            Change(
                "capabilities",
                "update",
                "spend-band",
                {**band, "write_back": {"source": "crm", "table": "spend_bands"}},
            ),
            Change("capabilities", "update", "spend-value", {**value, "write_back": by_month}),
        ],
        "t",
    )
    yield world
    world.online.close()
    world.store.close()


def test_a_query_is_scored_as_every_entity_is_and_an_unknown_key_gets_the_fallback(tabular):
    every = {
        r["customer_id"]: r for r in score_all(tabular.store, tabular.storage, "spend-band").table.to_pylist()
    }
    rows = query_rows(tabular.store, tabular.storage, SOME)
    scores = score_batch(tabular.store, tabular.storage, "spend-band", rows)
    table = scores.table.to_pylist()
    assert scores.join_keys == ["customer_id"] and len(table) == 21
    for row in table[:20]:
        assert row == every[row["customer_id"]]
    assert table[20] == {"customer_id": 9999, "score": None, "decision": "unknown"}


def test_rows_without_the_key_or_with_repeated_keys_are_refused(tabular):
    months = dataset_rows(tabular.store, tabular.storage, "customer_months")
    with pytest.raises(
        ZhongtaiError, match=r"dataset 'customer_months' v1: 750 row\(s\) repeat a key \(customer_id\)"
    ):
        score_batch(tabular.store, tabular.storage, "spend-band", months)
    keyless = query_rows(tabular.store, tabular.storage, "SELECT visits FROM customer_months")
    with pytest.raises(
        ZhongtaiError, match=r"the query has no column 'customer_id' \(the capability's entity key\)"
    ):
        score_batch(tabular.store, tabular.storage, "spend-band", keyless)


def test_write_back_keys_are_carried_through_from_the_rows(tabular):
    months = dataset_rows(tabular.store, tabular.storage, "customer_months")
    scores = score_batch(tabular.store, tabular.storage, "spend-value", months)
    assert scores.join_keys == ["customer_id", "ts"] and scores.table.num_rows == 900
    assert scores.table.column_names == ["customer_id", "ts", "score", "decision"]
    first, again = write_scores(tabular.store, scores), write_scores(tabular.store, scores)
    assert (first.inserted, again.unchanged) == (900, 900)  # times compare equal once stored
    with pytest.raises(
        ZhongtaiError,
        match="capability 'spend-value' writes back by customer_id, ts, and every entity is keyed",
    ):
        score_batch(tabular.store, tabular.storage, "spend-value")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT customer_id FROM nowhere", "table 'nowhere' is not a registered dataset"),
        ("SELECT customer_id, nope FROM customer_months", 'Referenced column "nope" not found'),
        (
            "SELECT CAST(segment AS INTEGER) AS customer_id FROM customer_outcomes",
            r"the query failed while reading the data \(ConversionException\)",
        ),
    ],
)
def test_query_errors_are_clear_and_never_quote_the_data(tabular, sql, message):
    with pytest.raises(ZhongtaiError, match=message) as caught:
        query_rows(tabular.store, tabular.storage, sql)
    assert "gold" not in str(caught.value) and "silver" not in str(caught.value)


@pytest.fixture
def cli(tabular, tmp_path, monkeypatch):
    monkeypatch.setenv("ZT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ZT_METADATA_URL", tabular.store.url)
    monkeypatch.setenv("ZT_LAKE_URL", tabular.storage.url)
    context.reset()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    yield invoke
    context.reset()


def test_the_score_command_writes_back_once_and_reruns_change_nothing(tabular, cli, tmp_path):
    dry = json.loads(
        cli("score", "spend-band", "--query", SOME, "--write-back", "--dry-run", "--json").stdout
    )
    assert dry["write_back"]["dry_run"] and dry["write_back"]["inserted"] == 21
    first = cli("score", "spend-band", "--query", SOME, "--write-back", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["scored"] == 21 and sum(summary["decisions"].values()) == 21
    assert summary["decisions"]["unknown"] >= 1  # customer 9999 has no features
    assert (summary["write_back"]["inserted"], summary["write_back"]["table"]) == (21, "spend_bands")
    again = json.loads(cli("score", "spend-band", "--query", SOME, "--write-back", "--json").stdout)
    assert (again["write_back"]["unchanged"], again["write_back"]["written"]) == (21, 0)
    crm = sa.create_engine(tabular.store.source_spec("crm")["url"])
    with crm.connect() as conn:
        count, runs = conn.execute(sa.text("SELECT count(*), count(DISTINCT run_id) FROM spend_bands")).one()
    crm.dispose()
    assert (count, runs) == (21, 1)

    out = tmp_path / "bands.parquet"
    shown = cli("score", "spend-band", "--query", SOME, "--out", str(out))
    assert shown.exit_code == 0, shown.output
    assert "wrote 21 rows to" in shown.output
    written = pq.read_table(out)
    assert written.num_rows == 21
    assert written.column_names == [
        "customer_id", "score", "decision", "model_name", "model_version", "run_id", "scored_at",
    ]  # fmt: skip


def test_the_score_command_names_what_is_wrong(cli, tmp_path):
    unknown = cli("score", "nosuch")
    assert unknown.exit_code == 1 and "capability 'nosuch' is not registered" in unknown.output
    no_target = cli("score", "segment-of", "--write-back")
    assert no_target.exit_code == 1 and "capability 'segment-of' has no write_back target" in no_target.output
    no_dataset = cli("score", "segment-of", "--dataset", "nosuch")
    assert no_dataset.exit_code == 1 and "no dataset 'nosuch'" in no_dataset.output
    both = cli("score", "segment-of", "--dataset", "customer_months", "--query", SOME)
    assert both.exit_code == 1 and "give --dataset or --query, not both" in both.output
    bad_file = cli("score", "segment-of", "--out", str(tmp_path / "scores.xlsx"))
    assert bad_file.exit_code == 1 and "write .parquet or .csv files" in bad_file.output
    keyless = cli(
        "score",
        "segment-of",
        "--query",
        "SELECT visits FROM customer_months",
        "--out",
        str(tmp_path / "a.csv"),
    )
    assert keyless.exit_code == 1 and "has no column 'customer_id'" in keyless.output
    assert not (tmp_path / "a.csv").exists()
