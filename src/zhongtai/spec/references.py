"""What a spec's SQL refers to: the datasets a feature view or a label definition reads.

Used to open those datasets before the SQL runs and by the catalog to draw lineage without running anything.
"""

from __future__ import annotations

from zhongtai.errors import ZhongtaiError


def referenced_tables(sql: str, where: str) -> list[str]:
    """The table names the SQL reads, CTE names excluded, lower-cased (DuckDB identifiers ignore case)."""
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ZhongtaiError("invalid_spec", f"{where}: the SQL does not parse: {exc}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ZhongtaiError("invalid_spec", f"{where}: expected exactly one SELECT statement")
    tree = statements[0]
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    names: set[str] = set()
    for table in tree.find_all(exp.Table):
        # Table functions such as read_parquet(...) have no identifier name: they are not datasets.
        if not isinstance(table.this, exp.Identifier):
            continue
        if table.db:
            raise ZhongtaiError(
                "invalid_spec",
                f"{where}: table '{table.db}.{table.name}' is qualified; refer to datasets by bare name",
            )
        if table.name.lower() not in ctes:
            names.add(table.name.lower())
    return sorted(names)


def ingest_order(datasets: dict[str, dict]) -> list[str]:
    """Dataset names ordered so a dataset comes after those its quality checks refer to (then by name).

    `datasets` maps names to spec payloads. Datasets the platform produces (an identity's, a model's) are left out:
    they are not ingested. A reference to a dataset outside the map is ignored; a cycle is an error naming
    the datasets in it.
    """
    datasets = {n: spec for n, spec in datasets.items() if "identity" not in spec and "model" not in spec}
    needs = {
        name: {
            check["references"]["dataset"]
            for field in spec.get("fields", [])
            for check in field.get("checks", [])
            if check.get("references") and check["references"]["dataset"] in datasets
        }
        - {name}
        for name, spec in datasets.items()
    }
    ordered: list[str] = []
    while needs:
        ready = sorted(name for name, deps in needs.items() if not deps - set(ordered))
        if not ready:
            raise ZhongtaiError(
                "invalid_spec", f"datasets refer to each other in a cycle: {', '.join(sorted(needs))}"
            )
        ordered.extend(ready)
        for name in ready:
            del needs[name]
    return ordered
