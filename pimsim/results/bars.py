"""Bar charts of a comparison: throughput and energy per token, one bar per placement."""

from __future__ import annotations

from pathlib import Path

from pimsim.core.io import atomic_write_bytes


DEFAULT_PANELS = (("tokens_per_s", 1, "decode throughput (tokens/s)"),
                  ("energy_per_token_J", 1e3, "decode energy (mJ/token)"))


def bar_chart(records: list[dict], path, panels=DEFAULT_PANELS, title: str | None = None) -> list[Path]:
    """One panel per (metric, scale, label) of ``panels`` (default: tokens/s and mJ/token), one bar per
    placement; PNG at ``path``."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{r['placement']}\n{r['system']}\nbatch {r['batch']}" for r in records]
    fig, axes = plt.subplots(1, len(panels), figsize=(max(3.2 * len(panels), 1.15 * len(panels) * len(records) + 1.5),
                                                      3.8), squeeze=False)
    for ax, (key, scale, label) in zip(axes[0], panels):
        values = [(r.get(key) or 0.0) * scale for r in records]
        bars = ax.bar(range(len(values)), values, color="#4C72B0")
        ax.set_xticks(range(len(values)), names, fontsize=7)
        ax.set_ylabel(label)
        ax.bar_label(bars, labels=[_number(v) for v in values], fontsize=7)
        ax.margins(y=0.12)                       # room for the labels above the tallest bar
    r = records[0]
    fig.suptitle(title or f"{r['model']}: context {r['context']}, {r['output_tokens']} output tokens", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return [atomic_write_bytes(Path(path), buf.getvalue())]


def _number(value: float) -> str:
    """A bar's label: three significant digits, thousands separated, no exponent for everyday sizes."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
