"""``pimsim draw SYSTEM``: a picture of a system's topology with link bandwidths.

Nodes are coloured by kind and labelled with their preset; each group of links
from one ``links:`` entry is labelled once with its payload bandwidth per
direction. Groups of many identical devices (CENT's 32 CXL devices) are drawn
in full around their switch. matplotlib is imported only here, inside
:func:`draw_system`, so the rest of pimsim runs without it.
"""

from __future__ import annotations

from pathlib import Path

import click
import networkx as nx

from pimsim.core.errors import ConfigError
from pimsim.system.spec import load_system_spec
from pimsim.system.topology import build_graph

KIND_COLOURS = {"host": "#8da0cb", "gpu": "#66c2a5", "npu": "#a6d854", "upmem": "#ffd92f", "pim-module": "#fc8d62",
                "cxl-memory": "#e5c494", "pnm": "#e78ac3", "switch": "#b3b3b3"}


def _layout(graph: nx.Graph) -> dict:
    """Switches in the middle, hosts on an inner ring, other devices on the outer ring."""
    kinds = nx.get_node_attributes(graph, "kind")
    hubs = [n for n in graph if kinds[n] == "switch"]
    if not hubs:
        return nx.spring_layout(graph, seed=1) if graph.number_of_nodes() > 2 else nx.shell_layout(graph)
    hosts = [n for n in graph if kinds[n] == "host"]
    rest = [n for n in graph if kinds[n] not in ("switch", "host")]
    shells = [hubs] + ([hosts] if hosts else []) + ([rest] if rest else [])
    pos = nx.shell_layout(graph, shells, scale=1.0)
    for i, node in enumerate(hosts):  # hosts sit above the switch, clear of the outer ring
        pos[node] = (0.35 * (i - (len(hosts) - 1) / 2), 0.45)
    return pos


def _edge_labels(graph: nx.Graph) -> dict:
    """One label per links: entry (on its first edge), e.g. 'cxl3-x4 24 GB/s x32'."""
    labels, seen, counts = {}, {}, {}
    for u, v, data in graph.edges(data=True):
        counts[data["entry"]] = counts.get(data["entry"], 0) + 1
    for u, v, data in graph.edges(data=True):
        if data["entry"] in seen:
            continue
        seen[data["entry"]] = True
        link = data["link"]
        n = counts[data["entry"]]
        labels[(u, v)] = f"{link.name}\n{link.bandwidth_Bps / 1e9:.4g} GB/s" + (f" x{n}" if n > 1 else "")
    return labels


def draw_system(name: str, output: str | Path | None = None, sets=()) -> Path:
    """Draw system ``name`` to ``output`` (default ``<name>.png``); returns the path written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = load_system_spec(name, sets)
    graph = build_graph(spec)
    path = Path(output or f"{spec.name}.png")
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ConfigError(f"cannot write '{path.suffix}' pictures; use .png, .pdf or .svg", str(path))
    pos = _layout(graph)
    big = graph.number_of_nodes() > 12
    fig, ax = plt.subplots(figsize=(11, 8) if big else (8, 6))
    colours = [KIND_COLOURS.get(d["kind"], "#dddddd") for _, d in graph.nodes(data=True)]
    widths = [1 + 3 * (d["link"].bandwidth_Bps / max(e["link"].bandwidth_Bps for *_, e in graph.edges(data=True)))
              for *_, d in graph.edges(data=True)]
    nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, edge_color="#555555")
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_color=colours, node_size=500 if big else 1400,
                           edgecolors="#333333")
    labels = {n: n if big else f"{n}\n{d['config'].name}" for n, d in graph.nodes(data=True)}
    nx.draw_networkx_labels(graph, pos, labels, ax=ax, font_size=6 if big else 8)
    nx.draw_networkx_edge_labels(graph, pos, _edge_labels(graph), ax=ax, font_size=7)
    legend = sorted({d["kind"] for _, d in graph.nodes(data=True)})
    for kind in legend:
        ax.scatter([], [], color=KIND_COLOURS.get(kind, "#dddddd"), label=kind, edgecolors="#333333")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title(f"{spec.name}: {spec.description}", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=150)
    plt.close(fig)
    tmp.replace(path)
    return path


@click.command("draw")
@click.argument("system")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Picture to write (.png, .pdf, .svg).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a field of the system file.")
def draw_cmd(system, output, sets):
    """Draw SYSTEM's topology (devices, switches, links with bandwidths) to a picture."""
    click.echo(f"wrote {draw_system(system, output, sets)}")
