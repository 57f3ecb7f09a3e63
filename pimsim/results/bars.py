"""Bar charts of a comparison: throughput and energy per token, one bar per placement."""

from __future__ import annotations

from pathlib import Path

from pimsim.core.io import atomic_write_bytes


def bar_chart(records: list[dict], path) -> list[Path]:
    """Two panels (tokens/s, mJ/token) with one bar per placement; PNG at ``path``."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r['placement']}\n({r['system']}, b{r['batch']})" for r in records]
    fig, axes = plt.subplots(1, 2, figsize=(max(6, 1.6 * len(records) + 2), 3.6))
    panels = ((axes[0], [r["tokens_per_s"] for r in records], "decode throughput (tokens/s)"),
              (axes[1], [(r["energy_per_token_J"] or 0.0) * 1e3 for r in records], "decode energy (mJ/token)"))
    for ax, values, label in panels:
        bars = ax.bar(range(len(values)), values, color="#4C72B0")
        ax.set_xticks(range(len(values)), names, fontsize=8)
        ax.set_ylabel(label)
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    r = records[0]
    fig.suptitle(f"{r['model']}: context {r['context']}, {r['output_tokens']} output tokens", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return [atomic_write_bytes(Path(path), buf.getvalue())]
