"""The Lineage page in Chromium: the graph from sources to capabilities on a canvas, a node's chain when
one is named, a click opening a dataset's page, the keyboard moving the focus; and lib/graph.js drawing a
generated graph of 1,000 nodes, where a pan redraws only what is in view."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.console.conftest import sign_in, watch_errors
from tests.console.data_world import DataWorld, data_world

pytestmark = pytest.mark.e2e

# Runs in the page: a layered synthetic graph (50 layers of 20, each node fed by two of the layer before),
# drawn by the console's own module on a canvas, then panned; answers what the frames drew and how long.
THOUSAND = """async () => {
  const { drawGraph } = await import("/console/lib/graph.js");
  const nodes = [], edges = [];
  for (let l = 0; l < 50; l++) for (let r = 0; r < 20; r++) {
    nodes.push({ id: `n${l}-${r}`, label: `node ${l}-${r}`, kind: l % 2 ? "dataset" : "model" });
    if (l) { edges.push({ from: `n${l - 1}-${r}`, to: `n${l}-${r}` }); edges.push({ from: `n${l - 1}-${(r + 7) % 20}`, to: `n${l}-${r}` }); }
  }
  const canvas = document.createElement("canvas");
  canvas.className = "graph";
  document.querySelector("main").append(canvas);
  const frame = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const graph = drawGraph(canvas, { nodes, edges });
  await frame();
  const first = { ...graph.stats };
  graph.panBy(-2500, -300);
  await frame();
  return { nodes: graph.nodes.length, layers: new Set(graph.nodes.map((n) => n.layer)).size,
           first, panned: { ...graph.stats } };
}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[DataWorld]:
    with data_world(tmp_path_factory.mktemp("console_lineage")) as built:
        yield built


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_the_graph_shows_a_chain_and_a_click_opens_the_dataset(browser, world, locale):
    page = sign_in(browser, world, "analyst", locale)
    errors = watch_errors(page)
    page.goto(f"{world.url}#/lineage/dataset:crm_orders")
    page.wait_for_selector("#lineage-graph")
    graph = page.evaluate(
        "() => document.getElementById('lineage-graph').graph.nodes.map((n) => [n.id, n.layer, n.x, n.y])"
    )
    placed = {node: (layer, x, y) for node, layer, x, y in graph}
    # The chain: the source feeds the table, OneID resolves it, the crosswalk feeds the tag and the view.
    assert placed["source:shop"][0] < placed["dataset:crm_orders"][0] < placed["identity:person"][0]
    assert (
        placed["identity:person"][0] < placed["dataset:person_crosswalk"][0] < placed["tag:repeat_buyer"][0]
    )
    assert "dataset:wide_events" not in placed  # not in this chain
    page.locator("#lineage-graph").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#graph-focus")).not_to_be_empty()
    stats = page.evaluate("() => document.getElementById('lineage-graph').graph.stats.frames")
    assert stats >= 1
    # The list fallback holds the same objects, built when opened.
    assert page.locator("#graph-list tbody tr").count() == 0
    page.click("#graph-list summary")
    expect(page.locator("#graph-list tbody tr")).to_have_count(len(placed))
    assert page.locator("#graph-list tr[data-key='dataset:crm_orders'] a").get_attribute("href") == (
        "#/data/crm_orders"
    )
    # Click the table's box: its Data page opens.
    box = page.locator("#lineage-graph").bounding_box()
    view = page.evaluate("() => document.getElementById('lineage-graph').graph.view")
    _, x, y = placed["dataset:crm_orders"]
    page.mouse.click(box["x"] + view["x"] + (x + 60) * view["k"], box["y"] + view["y"] + (y + 15) * view["k"])
    page.wait_for_selector("#versions")
    assert "#/data/crm_orders" in page.url
    assert errors == []
    assert page.evaluate("window.zt.missingStrings()") == []


def test_a_thousand_nodes_render_and_a_pan_redraws_only_what_is_in_view(browser, world):
    page = sign_in(browser, world, "admin")
    errors = watch_errors(page)
    page.goto(f"{world.url}#/lineage")
    page.wait_for_selector("#lineage-graph")
    found = page.evaluate(THOUSAND)
    print(
        f"1,000 nodes: first frame {found['first']['lastFrameMs']:.1f} ms, pan frame {found['panned']['lastFrameMs']:.1f} ms"
    )
    assert found["nodes"] == 1000 and found["layers"] == 50
    assert found["panned"]["frames"] > found["first"]["frames"]  # the pan was redrawn
    assert 0 < found["panned"]["drawnNodes"] < 1000  # only the nodes in view were drawn
    assert errors == []


@pytest.mark.parametrize("role", ["caller", "reviewer"])
def test_a_role_without_catalog_grant_gets_no_lineage(browser, world, role):
    page = sign_in(browser, world, role)
    assert page.locator("nav.side a[data-page=lineage]").count() == 0
    page.goto(f"{world.url}#/lineage")
    page.wait_for_selector("main .error")
    assert page.locator("#lineage-graph").count() == 0


def test_the_wheel_zooms_around_the_pointer_and_a_drag_pans(browser, world):
    page = sign_in(browser, world, "steward")
    errors = watch_errors(page)
    page.goto(f"{world.url}#/lineage")
    page.wait_for_selector("#lineage-graph")
    box = page.locator("#lineage-graph").bounding_box()
    read_view = "() => ({ ...document.getElementById('lineage-graph').graph.view })"
    px, py = 300.0, 200.0
    before = page.evaluate(read_view)
    # A wheel event dispatched on the canvas itself: headless Chromium may spend a first real wheel on
    # scrolling the page, which would make the test depend on the window's height.
    wheel = {"deltaY": -400, "clientX": box["x"] + px, "clientY": box["y"] + py, "cancelable": True}
    page.locator("#lineage-graph").dispatch_event("wheel", wheel)
    after = page.evaluate(read_view)
    assert after["k"] > before["k"]
    # The world point under the pointer stays under it.
    world_before = ((px - before["x"]) / before["k"], (py - before["y"]) / before["k"])
    world_after = ((px - after["x"]) / after["k"], (py - after["y"]) / after["k"])
    assert world_before == pytest.approx(world_after)
    page.mouse.move(box["x"] + px, box["y"] + py)
    page.mouse.down()
    page.mouse.move(box["x"] + px - 120, box["y"] + py + 40)
    page.mouse.up()
    dragged = page.evaluate(read_view)
    assert dragged["x"] == pytest.approx(after["x"] - 120) and dragged["y"] == pytest.approx(after["y"] + 40)
    assert "#/lineage" in page.url and "/data/" not in page.url  # a drag is not a click
    assert errors == []


CYCLE = """async () => {
  const { layout } = await import("/console/lib/graph.js");
  const nodes = ["a", "b", "c", "d", "e"].map((id) => ({ id, label: id, kind: "dataset" }));
  const edges = [["d", "a"], ["a", "b"], ["b", "c"], ["c", "a"], ["d", "e"], ["e", "b"], ["x", "a"]]
    .map(([from, to]) => ({ from, to }));
  return Object.fromEntries(layout(nodes, edges).map((n) => [n.id, n.layer]));
}"""


def test_the_layout_places_a_cycle_past_the_deepest_node_and_ignores_unknown_ends(browser, world):
    page = sign_in(browser, world, "admin")
    layers = page.evaluate(CYCLE)
    # d starts; e follows d; a, b and c sit on a cycle, so they go one layer past the deepest placed node.
    assert layers["d"] == 0 and layers["e"] == 1
    assert layers["a"] >= 2 and layers["b"] >= 2 and layers["c"] >= 2
