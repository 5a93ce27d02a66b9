"""Reuse: which capabilities and models each feature view, feature group and model serves, drawn from the
registered specs through the lineage graph.

A feature is reused when a second capability is built on it without building it again; `reuse` counts the
capabilities beyond the first (0: used once or not at all). Only the edges that carry features forward
count (an on-demand view computed from a view, a group of views, a model trained on them, a capability
served by a model or group): a model's published outputs feeding another view are that view's reuse, not
its inputs'.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zhongtai.catalog.lineage import LineageGraph, Node
from zhongtai.meta.store import KIND_NOUN, MetadataStore

FORWARD = frozenset({"computes", "groups", "trains", "serves"})
REUSED_KINDS = ("feature_views", "on_demand_views", "feature_groups", "models")


@dataclass(frozen=True)
class Reuse:
    """One feature view, on-demand view, feature group or model, and what uses it."""

    kind: str  # its noun: feature view, feature group, model...
    name: str
    models: list[str]
    capabilities: list[str]
    calls: int  # the window's calls of the capabilities using it

    @property
    def reuse(self) -> int:
        """Capabilities beyond the first that use it."""
        return max(len(self.capabilities) - 1, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**self.__dict__, "reuse": self.reuse}


def reuse(
    store: MetadataStore, calls: dict[str, int], visible: Callable[[str, str], bool] = lambda n, k: True
) -> list[Reuse]:
    """Every registered view, group and model `visible` allows, most reused first, with the capabilities
    and models using it (only visible ones named) and their calls (`calls`: capability -> calls)."""
    graph = LineageGraph.from_store(store)
    found = []
    for node in sorted(n for n in graph.nodes if n.kind in REUSED_KINDS):
        if node.kind == "models" and not visible(node.name, "models"):
            continue
        users = _users(graph, node)
        capabilities = sorted(
            n.name for n in users if n.kind == "capabilities" and visible(n.name, "capabilities")
        )
        models = sorted(n.name for n in users if n.kind == "models" and visible(n.name, "models"))
        found.append(
            Reuse(
                kind=KIND_NOUN[node.kind],
                name=node.name,
                models=models,
                capabilities=capabilities,
                calls=sum(calls.get(c, 0) for c in capabilities),
            )
        )
    return sorted(found, key=lambda r: (-r.reuse, -len(r.models), r.kind, r.name))


def _users(graph: LineageGraph, start: Node) -> set[Node]:
    """The nodes reached from `start` along feature-carrying edges."""
    seen: set[Node] = set()
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for edge in graph.next_edges(node, "down"):
            if edge.relation in FORWARD and edge.downstream not in seen:
                seen.add(edge.downstream)
                queue.append(edge.downstream)
    return seen
