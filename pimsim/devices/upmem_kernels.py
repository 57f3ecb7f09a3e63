"""Tasklet programs for the UPMEM DPU: what each kernel costs, instruction by instruction.

Every kernel is written the way a PrIM-style DPU program runs: the rows (or
elements) a DPU owns are split evenly over its tasklets; each tasklet loops
over MRAM blocks of ``block_bytes``, DMAs a block into WRAM, runs its inner
loop and DMAs results back. Inner-loop instruction counts are built from the
preset's per-instruction table (``instructions:``): a load, a store, the loop
overhead (index updates and the branch) and the arithmetic, where 32-bit
integer multiply and all floating point are emulated routines costing tens to
hundreds of instructions (only 8-bit multiply is native).

Programs are lists of ``(repeat, steps)`` segments (see :mod:`pimsim.devices.upmem_dpu`).
"""

from __future__ import annotations

import math

#: Instruction-table keys a preset must give.
REQUIRED_INSTRUCTIONS = ("load", "store", "loop", "add_int32", "mul_int32", "mul_int8", "add_fp32", "mul_fp32",
                         "div_fp32", "exp_fp32")
#: Accumulator type of a multiply-accumulate in each element type.
ACCUMULATOR = {"int8": "int32", "int32": "int32", "fp32": "fp32"}


def split(total: int, parts: int) -> list[int]:
    """``total`` items over ``parts`` workers as evenly as possible (larger shares first)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def instr(table: dict, key: str) -> int:
    return int(math.ceil(table[key]))


def arithmetic_instructions(table: dict, op: str, dtype: str) -> int:
    """Inner-loop instructions of PrIM's arithmetic micro-benchmark: ``b[i] = a[i] <op> s`` in WRAM."""
    return instr(table, "load") + instr(table, f"{op}_{dtype}") + instr(table, "store") + instr(table, "loop")


def mac_instructions(table: dict, dtype: str, accumulate_in_wram: bool = False) -> int:
    """Instructions per multiply-accumulate of a dot product over WRAM buffers.

    ``accumulate_in_wram`` reproduces PrIM's GEMV, whose ``c[pos] += a[i] * b[i]``
    loads and stores the accumulator every element; otherwise it stays in a register.
    """
    n = 2 * instr(table, "load") + instr(table, f"mul_{dtype}") + instr(table, f"add_{ACCUMULATOR[dtype]}")
    n += instr(table, "loop")
    if accumulate_in_wram:
        n += instr(table, "load") + instr(table, "store")
    return n


def elementwise_instructions(table: dict, kind: str) -> int:
    """Instructions per element of an element-wise kernel in (emulated) FP32."""
    ld, st, loop = instr(table, "load"), instr(table, "store"), instr(table, "loop")
    add, mul, div, exp = (instr(table, k) for k in ("add_fp32", "mul_fp32", "div_fp32", "exp_fp32"))
    body = {
        "softmax": exp + 3 * add + div,   # max compare, subtract, sum; exponent; divide
        "norm": 2 * mul + add + mul,      # square, accumulate, scale by 1/rms and gamma
        "rope": 2 * mul + add,            # x cos + rotate(x) sin
        "activation": exp + add + div + mul,  # SiLU: x / (1 + exp(-x)), times the gate
    }[kind]
    return ld + body + st + loop


def arithmetic_programs(table: dict, op: str, dtype: str, tasklets: int, elements_per_tasklet: int):
    """PrIM Fig. 4: every tasklet applies ``op`` to its own WRAM elements (compute only)."""
    per_element = arithmetic_instructions(table, op, dtype)
    return [[(1, [("compute", elements_per_tasklet * per_element)])] for _ in range(tasklets)]


def _row_steps(cols: int, elem_bytes: int, vector_bytes: int, vectors: int, block_bytes: int, mac: int):
    """One output row: per block, DMA the matrix block and each vector block, then the MACs."""
    steps = []
    per_block = max(1, block_bytes // elem_bytes)
    for start in range(0, cols, per_block):
        n = min(per_block, cols - start)
        steps.append(("read", n * elem_bytes))
        for _ in range(vectors):
            steps.append(("read", n * vector_bytes))
        steps.append(("compute", n * vectors * mac))
    return steps


def gemv_programs(rows: int, cols: int, *, elem_bytes: int, vector_bytes: int, out_bytes: int, mac: int,
                  tasklets: int, block_bytes: int, vectors: int = 1, row_overhead: int = 0):
    """``vectors`` products of a ``rows x cols`` matrix in MRAM with vectors in MRAM, rows split over tasklets.

    Each row ends with its result written back (rounded up to the 8-byte DMA granule).
    With fewer rows than tasklets, the (row, block) pieces are dealt out instead, so
    every tasklet works; each then writes its partial sums and one tasklet adds
    them up (a load and an add per partial).
    """
    out = max(8, -(-vectors * out_bytes // 8) * 8)
    if rows >= tasklets:
        row = _row_steps(cols, elem_bytes, vector_bytes, vectors, block_bytes, mac)
        row.append(("compute", row_overhead))
        row.append(("write", out))
        return [[(n, row)] for n in split(rows, tasklets) if n > 0]
    per_block = max(1, block_bytes // elem_bytes)
    blocks = -(-cols // per_block)
    block = _row_steps(min(per_block, cols), elem_bytes, vector_bytes, vectors, block_bytes, mac)
    shares = [n for n in split(rows * blocks, tasklets) if n > 0]
    reduce = rows * vectors * len(shares) * (1 + 1)  # load a partial, add it
    programs = [[(n, block), (1, [("write", out * rows)])] for n in shares]
    programs[0].append((1, [("read", out * rows * len(shares)), ("compute", reduce + rows * row_overhead),
                            ("write", out * rows)]))
    return programs


def stream_programs(elements: int, *, elem_bytes: int, per_element: int, tasklets: int, block_bytes: int,
                    write_back: bool = True, row_elements: int = 0, row_overhead: int = 0):
    """Element-wise kernels: blocks of ``block_bytes`` read, computed on and (optionally) written back.

    ``row_elements``/``row_overhead`` add a per-row cost (a norm's inverse square root).
    """
    per_block = max(1, block_bytes // elem_bytes)
    programs = []
    for n in split(elements, tasklets):
        if n <= 0:
            continue
        full, rest = divmod(n, per_block)
        segments = []
        for count, size in ((full, per_block), (1 if rest else 0, rest)):
            if count:
                steps = [("read", size * elem_bytes), ("compute", size * per_element)]
                if write_back:
                    steps.append(("write", size * elem_bytes))
                segments.append((count, steps))
        if row_elements and row_overhead:
            segments.append((1, [("compute", math.ceil(n / row_elements) * row_overhead)]))
        programs.append(segments)
    return programs
