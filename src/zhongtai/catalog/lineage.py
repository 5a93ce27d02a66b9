"""Lineage: source -> dataset -> feature view -> (on-demand view, feature group) -> model -> capability,
drawn from the registered specs; a model that publishes its outputs produces a dataset in turn.

Nothing runs to draw it: dataset reads come from the SQL of feature views and label definitions, parsed, the
views an on-demand view reads from its expressions, and the rest from the references specs make to each
other. A capability that writes back points at its source.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.store import KIND_NOUN, MetadataStore
from zhongtai.spec.identity import IdentitySpec
from zhongtai.spec.models import FeatureViewSpec
from zhongtai.spec.references import referenced_tables

KINDS = (
    "sources",
    "datasets",
    "identities",
    "tags",
    "feature_views",
    "on_demand_views",
    "feature_groups",
    "models",
    "capabilities",
)


@dataclass(frozen=True, order=True)
class Node:
    kind: str  # one of KINDS
    name: str

    def __str__(self) -> str:
        return f"{KIND_NOUN[self.kind]} {self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": KIND_NOUN[self.kind], "name": self.name}


@dataclass(frozen=True)
class Edge:
    upstream: Node
    downstream: Node
    relation: str  # feeds, resolves, produces, reads, computes, groups, labels, moves (a forecast's
    # exogenous input), trains, serves, looks up, writes back to


class LineageGraph:
    """Every edge between registered objects, with walks up and down from any node."""

    def __init__(self, edges: list[Edge], nodes: set[Node]) -> None:
        self.edges = edges
        self.nodes = nodes

    @classmethod
    def from_store(cls, store: MetadataStore) -> LineageGraph:
        specs = {kind: store.registered(kind) for kind in KINDS}
        nodes = {Node(kind, name) for kind, objects in specs.items() for name in objects}
        edges: list[Edge] = []
        for name, spec in specs["datasets"].items():
            if "source" in spec:
                edges.append(Edge(Node("sources", spec["source"]), Node("datasets", name), "feeds"))
            elif "model" in spec:  # a model's published outputs (a forecast's stock-out risk)
                edges.append(Edge(Node("models", spec["model"]), Node("datasets", name), "produces"))
            else:  # produced by an identity: its persons and crosswalk
                edges.append(Edge(Node("identities", spec["identity"]), Node("datasets", name), "produces"))
        for name, spec in specs["identities"].items():
            edges += [
                Edge(Node("datasets", s["dataset"]), Node("identities", name), "resolves")
                for s in spec["sources"]
                if s["dataset"] in specs["datasets"]
            ]
        for name, spec in specs["tags"].items():
            edges += _reads(spec["sql"], Node("tags", name), specs["datasets"])
        for name, spec in specs["feature_views"].items():
            # Validated, not read raw: a view with windows stores its declaration and generates its SQL.
            sql = FeatureViewSpec.model_validate(spec).sql
            edges += _reads(sql, Node("feature_views", name), specs["datasets"])
        for name, spec in specs["on_demand_views"].items():
            edges += [
                Edge(Node("feature_views", view), Node("on_demand_views", name), "computes")
                for view in _expression_views(spec)
            ]
        for name, spec in specs["feature_groups"].items():
            members = dict.fromkeys(member.partition(".")[0] for member in spec["features"])
            edges += [
                Edge(_view_node(view, specs), Node("feature_groups", name), "groups") for view in members
            ]
        for name, spec in specs["models"].items():
            model = Node("models", name)
            edges += _reads(spec["label"]["sql"], model, specs["datasets"], relation="labels")
            exogenous = (spec.get("forecast") or {}).get("exogenous")
            if exogenous:  # a forecast's promotion calendar
                edges += _reads(exogenous["sql"], model, specs["datasets"], relation="moves")
            edges += [Edge(_view_node(view, specs), model, "trains") for view in spec["feature_views"]]
            edges += [
                Edge(Node("feature_groups", g), model, "trains") for g in spec.get("feature_groups", [])
            ]
        for name, spec in specs["capabilities"].items():
            capability = Node("capabilities", name)
            edges.append(Edge(Node("models", spec["model"]), capability, "serves"))
            edges += [
                Edge(Node("feature_groups", g), capability, "serves") for g in spec.get("feature_groups", [])
            ]
            edges += _lookups(spec, capability, specs)
            edges += _rule_reads(spec, capability, specs)
            if spec.get("write_back"):
                edges.append(
                    Edge(capability, Node("sources", spec["write_back"]["source"]), "writes back to")
                )
        return cls(edges, nodes)

    def find(self, name: str) -> Node:
        """The node called `name`, or `kind:name` (e.g. `dataset:orders`) when several kinds use the name."""
        kind, _, bare = name.rpartition(":")
        matches = sorted(n for n in self.nodes if n.name == bare and (not kind or _slug(n.kind) == kind))
        if not matches:
            raise ZhongtaiError(
                "not_found", f"nothing named '{name}' is registered", "zhongtai catalog search TEXT"
            )
        if len(matches) > 1:
            options = ", ".join(f"{_slug(n.kind)}:{n.name}" for n in matches)
            # A conflict, not a bad request: the name is well formed, the registry holds several such objects.
            raise ZhongtaiError(
                "conflict", f"'{name}' names several objects: {options}", f"ask for one: {options}"
            )
        return matches[0]

    def next_edges(self, node: Node, direction: str) -> list[Edge]:
        """The edges one step `up` (towards sources) or `down` (towards capabilities) from `node`.

        Going up, write-back edges are skipped: the chain up from a capability ends at the tables it reads,
        not in a loop through the source it writes to.
        """
        return [
            edge
            for edge in self.edges
            if (edge.downstream if direction == "up" else edge.upstream) == node
            and not (direction == "up" and edge.relation == "writes back to")
        ]

    @staticmethod
    def beyond(edge: Edge, direction: str) -> Node | None:
        """The node an edge leads to, or None where a walk stops (after a write-back)."""
        if edge.relation == "writes back to":
            return None
        return edge.upstream if direction == "up" else edge.downstream

    def walk(self, start: Node, direction: str) -> list[Edge]:
        """Every edge reachable from `start` in one direction, breadth first."""
        seen: set[Node] = {start}
        found: list[Edge] = []
        queue = deque([start])
        while queue:
            for edge in self.next_edges(queue.popleft(), direction):
                found.append(edge)
                following = self.beyond(edge, direction)
                if following is not None and following not in seen:
                    seen.add(following)
                    queue.append(following)
        return found

    def describe(self, name: str) -> dict[str, Any]:
        node = self.find(name)
        return {
            "node": node.to_dict(),
            "upstream": [_edge_dict(e) for e in self.walk(node, "up")],
            "downstream": [_edge_dict(e) for e in self.walk(node, "down")],
        }


def _slug(kind: str) -> str:
    return KIND_NOUN[kind].replace(" ", "_")


def _reads(sql: str, reader: Node, datasets: dict[str, Any], relation: str = "reads") -> list[Edge]:
    try:
        tables = referenced_tables(sql, str(reader))
    except ZhongtaiError:
        return []  # SQL that does not parse fails where it runs; lineage shows what it can
    return [Edge(Node("datasets", t), reader, relation) for t in tables if t in datasets]


def _lookups(spec: dict[str, Any], capability: Node, specs: dict[str, dict[str, Any]]) -> list[Edge]:
    """A capability called with a source key reads the crosswalk of the identity resolving that dataset."""
    entity = specs["models"].get(spec["model"], {}).get("entity")
    identities = [IdentitySpec.model_validate(payload) for payload in specs["identities"].values()]
    return [
        Edge(Node("datasets", identity.crosswalk_dataset), capability, "looks up")
        for identity in identities
        if spec.get("input_dataset") and identity.entity == entity
        and any(s.dataset == spec["input_dataset"] for s in identity.sources)
        and identity.crosswalk_dataset in specs["datasets"]
    ]  # fmt: skip


def _rule_reads(spec: dict[str, Any], capability: Node, specs: dict[str, dict[str, Any]]) -> list[Edge]:
    """What a capability's own rules read besides its model: a recommender's stock views (in stock, the
    forecast's risk), a text capability's routing views and the views and tags its escalation rules name
    (the churn model's published scores, `tags.high_value`)."""
    from zhongtai.spec.expressions import parse_expression, references
    from zhongtai.spec.text_task import TAGS

    stock = (spec.get("recommend") or {}).get("stock") or {}
    routing = spec.get("routing") or {}
    views = dict.fromkeys(str(stock[f]).partition(".")[0] for f in ("in_stock", "risk") if stock.get(f))
    views.update(dict.fromkeys(routing.get("feature_views", [])))
    tags: dict[str, None] = {}
    for rule in routing.get("escalate", []):
        try:
            found = references(parse_expression(rule["when"]))
        except ValueError:
            continue
        views.update(dict.fromkeys(r.view for r in found if r.view not in (None, TAGS)))
        tags.update(dict.fromkeys(r.name for r in found if r.view == TAGS))
    edges = [Edge(_view_node(v, specs), capability, "reads") for v in views if v is not None]
    return edges + [Edge(Node("tags", t), capability, "reads") for t in tags if t in specs["tags"]]


def _view_node(view: str, specs: dict[str, dict[str, Any]]) -> Node:
    """A name models and groups use for a view: stored or on-demand."""
    return Node("on_demand_views" if view in specs["on_demand_views"] else "feature_views", view)


def _expression_views(spec: dict[str, Any]) -> list[str]:
    """The stored views an on-demand view's expressions read (expressions were checked at apply)."""
    from zhongtai.spec.expressions import parse_expression, references

    views: dict[str, None] = {}
    for feature in spec["features"]:
        try:
            tree = parse_expression(feature["expression"])
        except ValueError:
            continue
        views.update(dict.fromkeys(ref.view for ref in references(tree) if ref.view is not None))
    return list(views)


def _edge_dict(edge: Edge) -> dict[str, Any]:
    return {"from": edge.upstream.to_dict(), "to": edge.downstream.to_dict(), "relation": edge.relation}


def graph_view(
    graph: LineageGraph, readable: Callable[[Node], bool], root: str | None = None
) -> dict[str, Any]:
    """The graph as nodes and edges for drawing: every node `readable` allows (with a root: only those
    upstream and downstream of it), and the edges between two shown nodes. A node the reader may not read
    is left out with its edges, so the drawing never names it."""
    if root is None:
        shown = {n for n in graph.nodes if readable(n)}
        edges = [e for e in graph.edges if e.upstream in shown and e.downstream in shown]
    else:
        start = graph.find(root)
        walked = graph.walk(start, "up") + graph.walk(start, "down")
        shown = {n for e in walked for n in (e.upstream, e.downstream) if readable(n)} | {start}
        edges = [e for e in dict.fromkeys(walked) if e.upstream in shown and e.downstream in shown]
    return {
        "root": graph.find(root).to_dict() if root is not None else None,
        "nodes": [n.to_dict() for n in sorted(shown)],
        "edges": [_edge_dict(e) for e in edges],
    }
