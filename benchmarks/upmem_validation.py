"""UPMEM model vs PrIM's real-hardware figures: prints the comparison table and draws docs/upmem_*.png.

    python benchmarks/upmem_validation.py            # table + plots into docs/
    python benchmarks/upmem_validation.py --no-plots

Reference values: tests/data/upmem_prim.yaml (PrIM, IEEE Access 2022, with per-value provenance).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from pimsim.devices import upmem_bench as bench
from pimsim.devices.loading import load_device

ROOT = Path(__file__).resolve().parents[1]
PRIM = yaml.safe_load((ROOT / "tests" / "data" / "upmem_prim.yaml").read_text())


def comparison_rows(rank) -> list[tuple[str, float, float]]:
    """(quantity, model, PrIM) for every figure with a reference value."""
    rows = []
    for key, ref in PRIM["arithmetic_MOPS"].items():
        op, dtype = key.split("_")
        rows.append((f"{op} {dtype}, 16 tasklets (MOPS)", bench.arithmetic_mops(rank, op, dtype, 16), ref))
    rows.append(("MRAM read 2 KB (MB/s, peak)", bench.dma_bandwidth(rank, 2048) / 1e6, PRIM["dma"]["peak_MBps"]))
    hbw = PRIM["host_transfer_GBps"]
    rows.append(("CPU->DPU, 1 DPU (GB/s)", bench.host_bandwidth(rank, 1) / 1e9, hbw["cpu_to_dpu_one"]))
    rows.append(("CPU->DPU, 64 DPUs parallel (GB/s)", bench.host_bandwidth(rank, 64) / 1e9,
                 hbw["cpu_to_dpu_rank_parallel"]))
    return rows


def print_table(rows) -> None:
    print(f"{'quantity':40s} {'model':>10s} {'PrIM':>10s} {'error':>8s}")
    for name, model, ref in rows:
        print(f"{name:40s} {model:10.3f} {ref:10.3f} {100 * (model - ref) / ref:+7.1f}%")


def plot_all(rank, server, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []

    fig, ax = plt.subplots(figsize=(6, 4))
    tasklets = list(range(1, 25))
    for (op, dtype), ref in zip((("add", "int32"), ("mul", "int32"), ("add", "fp32"), ("mul", "fp32")),
                                PRIM["arithmetic_MOPS"].values()):
        line, = ax.plot(tasklets, [bench.arithmetic_mops(rank, op, dtype, t) for t in tasklets],
                        label=f"{op} {dtype} (model)")
        ax.scatter([16], [ref], color=line.get_color(), marker="x", zorder=3)
    ax.axvline(11, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="tasklets", ylabel="MOPS (one DPU, 350 MHz)", yscale="log",
           title="Arithmetic throughput: model (lines) vs PrIM Fig. 4 (x)")
    ax.legend(fontsize=7)
    written.append(_save(fig, out / "upmem_tasklets.png"))

    fig, (lat, bw) = plt.subplots(1, 2, figsize=(9, 3.6))
    sizes = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
    for write, name, alpha in ((False, "mram_read", PRIM["dma"]["read_alpha_cycles"]),
                               (True, "mram_write", PRIM["dma"]["write_alpha_cycles"])):
        lat.plot(sizes, [bench.dma_cycles(rank, s, write) for s in sizes], marker="o", label=f"{name} (model)")
        lat.plot(sizes, [alpha + PRIM["dma"]["beta_cycles_per_byte"] * s for s in sizes], linestyle="--",
                 label=f"PrIM {alpha} + 0.5 x size")
        bw.plot(sizes, [bench.dma_bandwidth(rank, s, write) / 1e6 for s in sizes], marker="o", label=name)
    bw.axhline(PRIM["dma"]["peak_MBps"], color="grey", linestyle=":", label="700 MB/s peak")
    lat.set(xlabel="transfer size (B)", ylabel="cycles", title="MRAM<->WRAM DMA latency")
    bw.set(xlabel="transfer size (B)", ylabel="MB/s", xscale="log", title="MRAM<->WRAM bandwidth")
    lat.legend(fontsize=7)
    bw.legend(fontsize=7)
    written.append(_save(fig, out / "upmem_dma.png"))

    fig, (one_rank, ranks) = plt.subplots(1, 2, figsize=(9, 3.6))
    dpus = [1, 2, 4, 8, 16, 32, 64]
    for mode in ("parallel", "serial", "broadcast"):
        one_rank.plot(dpus, [bench.host_bandwidth(rank, n, mode) / 1e9 for n in dpus], marker="o", label=mode)
    one_rank.scatter([1, 64], [PRIM["host_transfer_GBps"]["cpu_to_dpu_one"],
                               PRIM["host_transfer_GBps"]["cpu_to_dpu_rank_parallel"]],
                     color="black", marker="x", zorder=3, label="PrIM Fig. 10")
    one_rank.set(xlabel="DPUs (one rank)", ylabel="CPU->DPU GB/s", xscale="log", yscale="log",
                 title="Host transfers in one rank")
    one_rank.legend(fontsize=7)
    counts = [1, 2, 4, 8, 16, 32, 40]
    for mode in ("parallel", "serial"):
        ranks.plot(counts, [bench.host_bandwidth(server, 64 * r, mode) / 1e9 for r in counts], marker="o", label=mode)
    ranks.set(xlabel="ranks (64 DPUs each)", ylabel="CPU->DPU GB/s", xscale="log", yscale="log",
              title="Across ranks (10 DDR4-2400 channels)")
    ranks.legend(fontsize=7)
    written.append(_save(fig, out / "upmem_host_transfers.png"))

    fig, (scale, share) = plt.subplots(1, 2, figsize=(9, 3.6))
    counts = [1, 2, 4, 8, 16, 32, 64]
    runs = [bench.gemv(rank, 8192, 1024, n) for n in counts]
    scale.plot(counts, [r.kernel_s * 1e3 for r in runs], marker="o", label="DPU kernel")
    scale.plot(counts, [r.cpu_to_dpu_s * 1e3 for r in runs], marker="o", label="CPU->DPU")
    scale.plot(counts, [runs[0].kernel_s * 1e3 / n for n in counts], linestyle=":", color="grey", label="linear")
    scale.set(xlabel="DPUs", ylabel="ms", xscale="log", yscale="log", title="GEMV 8192x1024 uint32, one rank")
    scale.legend(fontsize=7)
    capped = load_device("upmem-server", sets=["host.host_bw=12GB/s"])
    big = [64, 128, 256, 512, 1024, 2048]
    for config, label in ((server, "channels only"), (capped, "host copy capped at 12 GB/s")):
        share.plot(big, [100 * bench.gemv(config, 163840, 4096, n).transfer_share for n in big], marker="o",
                   label=label)
    share.axhline(50, color="grey", linestyle=":")
    share.set(xlabel="DPUs", ylabel="host transfers, % of time", xscale="log",
              title="GEMV 163840x4096: transfer share")
    share.legend(fontsize=7)
    written.append(_save(fig, out / "upmem_gemv.png"))
    return written


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    rank, server = load_device("upmem-rank"), load_device("upmem-server")
    start = time.perf_counter()
    print_table(comparison_rows(rank))
    if not args.no_plots:
        for path in plot_all(rank, server, Path(args.out)):
            print(f"wrote {path}")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
