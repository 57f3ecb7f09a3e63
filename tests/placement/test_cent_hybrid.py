"""CENT's hybrid tensor-pipeline mapping (``cent`` option ``mapping: hybrid``, ``tp``).

Stage groups of ``tp`` devices, one query per group, every block tensor parallel
inside its group with two ring all-reduces per block. Its two ends are the other
mappings: ``tp = 1`` is the pipeline when every device holds one block, ``tp =
devices`` is the tensor mapping at batch 1.
"""

from functools import cache

import pytest
from click.testing import CliRunner

from pimsim.cli import main
from pimsim.core.errors import ConfigError
from pimsim.experiments.pipeline import run_decode_step
from pimsim.experiments.scenario import ScenarioSpec, load_inputs, run_scenario

CONTEXT = 700


@cache
def step(model: str, devices: int, batch: int, context: int = CONTEXT, **options):
    spec = ScenarioSpec(model=model, placement="cent", batch=batch, prompt_tokens=context, output_tokens=4,
                        placement_options=tuple(sorted(options.items())),
                        system_sets=(f"devices.pim.count={devices}",))
    m, p, system = load_inputs(spec)
    return run_decode_step(m, p, system, batch, context, "FP16"), m, system


def test_tp1_is_the_pipeline_when_every_device_holds_one_block():
    """Llama-2-7B on 32 devices: both mappings put block i on device i with all its channels, 32 queries."""
    pipeline, _, _ = step("llama2-7b", 32, 32, mapping="pipeline")
    hybrid, _, _ = step("llama2-7b", 32, 32, mapping="hybrid", tp=1)
    assert hybrid.tokens == pipeline.tokens == 32
    assert hybrid.time_ps == pytest.approx(pipeline.time_ps, rel=0.01)
    assert sum(hybrid.energy_J.values()) == pytest.approx(sum(pipeline.energy_J.values()), rel=0.01)


def test_tp1_with_several_blocks_per_device_runs_them_in_turn():
    """On 8 devices the pipeline gives each of a device's 4 blocks a quarter of its channels and a query of
    its own (32 in flight); hybrid with tp 1 is CENT's PP = 8 point: one query per device, its blocks in turn
    on all 32 channels, so fewer tokens per round but each round shorter."""
    pipeline, _, _ = step("llama2-7b", 8, 32, mapping="pipeline")
    hybrid, _, _ = step("llama2-7b", 8, 32, mapping="hybrid", tp=1)
    assert (pipeline.tokens, hybrid.tokens) == (32, 8)
    assert hybrid.time_ps < pipeline.time_ps / 2


def test_tp_over_all_devices_is_the_tensor_mapping_at_batch_1():
    """One stage of 8 devices against ``mapping: tensor``: the same shard work, all-reduces, host sampling
    and energy. Neither charges a KV read beside the attention kernels that read the cache in the banks."""
    tensor, _, system = step("llama2-7b", 8, 1, mapping="tensor")
    hybrid, _, _ = step("llama2-7b", 8, 1, mapping="hybrid", tp=8)
    assert hybrid.tokens == tensor.tokens == 1
    kv_reads = [e for e in tensor.run.events if e.kind == "kv_read"]
    assert kv_reads and all(e.end_ps == e.start_ps for e in kv_reads)
    sampling = system.devices["host"].config.sampling_time
    embedding = [e for e in tensor.run.events if e.kind == "embedding"]
    assert len(embedding) == 1 and embedding[0].end_ps - embedding[0].start_ps >= sampling > 0
    assert hybrid.time_ps == pytest.approx(tensor.time_ps, rel=0.01)
    # the all-reduces: timed here as the tensor mapping's simulated ring takes them on an idle network
    rings = [e.end_ps - e.start_ps for e in tensor.run.events if e.kind == "allreduce"]
    reductions = [e.end_ps - e.start_ps for e in hybrid.run.events if e.kind == "send"]
    assert len(reductions) == 32 and len(rings) == 64
    assert reductions[0] == pytest.approx(2 * rings[0], rel=0.01)
    assert sum(hybrid.energy_J.values()) == pytest.approx(sum(tensor.energy_J.values()), rel=0.01)


@pytest.mark.parametrize("tp", [2, 4, 8])
def test_bytes_read_per_step_are_weights_plus_kv_touched(tp):
    hybrid, m, _ = step("llama2-7b", 8, 4, mapping="hybrid", tp=tp)
    embedding_table = m.vocab_size * m.hidden_size * 2
    weights = m.parameter_count() * 2 - embedding_table      # the lookup reads one row of the table
    assert hybrid.weight_bytes == pytest.approx(weights, rel=1e-3)   # every shard's share: the whole model
    kv_per_token = 2 * m.num_hidden_layers * m.kv_heads * m.head_size * 2
    assert hybrid.kv_bytes_read == CONTEXT * kv_per_token           # one query's blocks, run per stage
    total = hybrid.weight_bytes + hybrid.kv_bytes_read
    assert total <= hybrid.bytes_read <= 1.05 * total
    assert dict(hybrid.run_replicas) == {"pim": tp}
    assert max(hybrid.run.busy_ps.values()) <= hybrid.time_ps


def test_stage_groups_queries_and_batch_max():
    """Llama-2-70B on CENT's 32 devices, tp 4: 8 groups of 10 blocks, so --batch max is 8 queries."""
    spec = ScenarioSpec(model="llama2-70b", placement="cent", batch=0,
                        placement_options=(("mapping", "hybrid"), ("tp", 4)))
    m, p, system = load_inputs(spec)
    assert p.max_batch(m) == 8
    plan = p.plan(m, "decode", 80, 2048, "FP16", system)
    assert plan.tokens == 8
    assert set(plan.assignment.devices) == {f"pim{4 * g}" for g in range(8)} | {"host"}
    assert "8 stage groups of 4 CXL device(s)" in plan.assignment.notes[0]


@cache
def tokens_per_s_70b(mapping: str, tp: int = 0) -> float:
    """Llama-2-70B decode throughput on the 32-device ``cent`` system at a 2K context, the most queries
    each mapping keeps in flight (one for the tensor mapping, as CENT's latency configuration)."""
    options = (("mapping", mapping),) + ((("tp", tp),) if tp else ())
    spec = ScenarioSpec(model="llama2-70b", placement="cent", batch=80, placement_options=options)
    m, p, system = load_inputs(spec)
    batch = 1 if mapping == "tensor" else p.max_batch(m)
    r = run_decode_step(m, p, system, batch, 2048, "FP16")
    return r.tokens / (r.time_ps / 1e12)


def test_llama2_70b_hybrid_lies_between_tensor_and_pipeline():
    """Throughput falls as the groups widen (fewer queries in flight, more all-reduce steps) from above the
    pipeline's to the tensor mapping's. With tp 2 and 4 hybrid is ahead of the pipeline: the pipeline's 80
    blocks of 10 channels use 27 of the 32 devices and 30 of their 32 channels (79% of the channels), a
    stage group runs its blocks on all its channels, and pimsim splits attention by heads (CENT keeps a
    query's V cache on one device of the group, so its hybrid falls below its pipeline: README, CENT)."""
    pipeline, tensor = tokens_per_s_70b("pipeline"), tokens_per_s_70b("tensor")
    hybrid = {tp: tokens_per_s_70b("hybrid", tp) for tp in (2, 8, 16, 32)}
    assert tensor < hybrid[16] < hybrid[8] < pipeline < hybrid[2]
    assert hybrid[32] == pytest.approx(tensor, rel=0.05)      # one stage: the tensor mapping (see above)


@pytest.mark.parametrize("options, sets, fragment", [
    ({"mapping": "hybrid", "tp": 3}, (), "cent option tp=3 must divide the 32 CXL devices"),
    ({"mapping": "hybrid", "tp": 0}, (), "cent option tp must be a positive integer"),
    ({"mapping": "hybrid", "tp": "two"}, (), "cent option tp must be a positive integer"),
    ({"mapping": "hybird"}, (), "cent option mapping must be 'pipeline', 'tensor' or 'hybrid'"),
    ({"mapping": "hybrid", "tp": 5}, ("devices.pim.count=20",), "cent option tp=5: 5 shards do not split"),
])
def test_bad_options_are_one_config_error_naming_the_option(options, sets, fragment):
    spec = ScenarioSpec(model="llama2-13b", placement="cent", batch=1, prompt_tokens=64, output_tokens=2,
                        placement_options=tuple(options.items()), system_sets=sets)
    with pytest.raises(ConfigError) as err:
        run_scenario(spec)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_bad_tp_on_the_command_line_is_one_error_line():
    res = CliRunner().invoke(main, ["compare", "--model", "llama2-7b", "--placements", "cent", "--batch", "1",
                                    "--context", "300", "--output-len", "4", "--option", "cent.mapping=hybrid",
                                    "--option", "cent.tp=3", "-o", "-"])
    lines = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 1 and len(lines) == 1 and "cent option tp=3" in lines[0], res.output
    assert "Traceback" not in res.output

