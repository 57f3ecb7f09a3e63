"""Physics of whole scenarios: conservation of bytes and energy, no device over 100%, memory-bound batch 1."""

import subprocess
import sys
from functools import lru_cache

import pytest

from pimsim.core.errors import CapacityError
from pimsim.experiments.pipeline import run_decode_step
from pimsim.experiments.scenario import ScenarioSpec, largest_batch, load_inputs, run_scenario
from pimsim.trace import load_model

SMALL = [("gpu", "llama2-7b", None), ("attacc", "llama2-7b", None), ("cent", "llama2-7b", ("devices.pim.count=8",)),
         ("cxl-tiered", "llama2-7b", None), ("npu", "llama2-7b", None), ("npu+pim", "llama2-7b", None),
         ("neupim", "llama2-7b", None), ("upmem", "llama3.2-1b", None)]
WITH_ENERGY = [case for case in SMALL if case[0] != "upmem"]       # UPMEM has no energy model


@lru_cache(maxsize=None)
def decode_pass(placement: str, model: str, sets, batch: int = 4, context: int = 700):
    spec = ScenarioSpec(model=model, placement=placement, batch=batch, prompt_tokens=context, output_tokens=4,
                        system_sets=sets or ())
    m, p, system = load_inputs(spec)
    return run_decode_step(m, p, system, batch, context, "FP16"), m


@pytest.mark.parametrize("placement, model, sets", SMALL)
def test_bytes_read_per_step_are_weights_plus_kv_touched(placement, model, sets):
    step, m = decode_pass(placement, model, sets)
    embedding_table = m.vocab_size * m.hidden_size * 2
    # a lookup reads one row of the embedding table per sequence; a tied LM head reads it all
    weights = m.parameter_count() * 2 - (0 if m.tie_word_embeddings else embedding_table)
    assert step.weight_bytes == pytest.approx(weights, rel=1e-3)
    kv_per_token = 2 * m.num_hidden_layers * m.kv_heads * m.head_size * 2
    sequences = 1 if placement == "cent" else 4     # CENT costs one query's blocks and runs it per stage
    assert step.kv_bytes_read == sequences * 700 * kv_per_token
    assert step.weight_bytes + step.kv_bytes_read <= step.bytes_read <= 1.05 * (step.weight_bytes + step.kv_bytes_read)


@pytest.mark.parametrize("placement, model, sets", WITH_ENERGY)
def test_energy_is_the_sum_of_its_components_and_devices(placement, model, sets):
    step, _ = decode_pass(placement, model, sets)
    assert sum(step.energy_J.values()) > 0 and all(v >= 0 for v in step.energy_J.values())
    devices = sum(j for k, j in step.energy_J.items() if not k.startswith("links."))
    assert step.run.transfer_J == pytest.approx(step.energy_J.get("links.transfer", 0.0))
    assert sum(step.energy_J.values()) == pytest.approx(devices + step.run.transfer_J)


@pytest.mark.parametrize("placement, model, sets", SMALL)
def test_no_device_busier_than_the_run(placement, model, sets):
    step, _ = decode_pass(placement, model, sets)
    assert step.group_busy and max(step.group_busy.values()) <= 1.0 + 1e-9
    assert max(step.run.busy_ps.values()) <= step.time_ps * 1.0 + 1


@pytest.mark.parametrize("placement, model, sets", SMALL)
def test_batch_one_decode_is_memory_bound(placement, model, sets):
    r = run_scenario(ScenarioSpec(model=model, placement=placement, batch=1, prompt_tokens=512, output_tokens=4,
                                  system_sets=sets or (), decode_samples=2))
    assert 0 < r["compute_utilisation"] < 0.10


def test_attacc_moves_qkv_and_contexts_over_nvlink_and_reads_no_kv_on_the_gpu():
    step, m = decode_pass("attacc", "llama2-7b", None)
    kinds_on_gpu = {e.kind for e in step.run.events if e.device == "gpu0"}
    assert "attention_score" not in kinds_on_gpu and "kv_read" not in kinds_on_gpu
    tp = 8
    qkv_out = 4 * (m.num_attention_heads + 2 * m.kv_heads) * m.head_size * 2 // tp
    context_out = 4 * m.num_attention_heads * m.head_size * 2 // tp
    assert step.run.link_bytes >= m.num_hidden_layers * (qkv_out + context_out)


def test_capacity_error_says_what_is_missing_where():
    with pytest.raises(CapacityError, match=r"need .* on group 'gpu' .*missing"):
        run_scenario(ScenarioSpec(model="llama2-70b", placement="gpu", batch=8, prompt_tokens=512, output_tokens=4,
                                  system="dgx-a100", system_sets=("devices.gpu.count=1",)))


def test_batch_max_is_the_largest_that_fits():
    spec = ScenarioSpec(model="llama2-13b", placement="gpu", system="dgx-a100", system_sets=("devices.gpu.count=1",))
    model, placement, system = load_inputs(spec)
    best = largest_batch(model, placement, system, 4096)
    placement.check_capacity(model, best, 4096, system)
    with pytest.raises(CapacityError):
        placement.check_capacity(model, best + 1, 4096, system)
    per_seq = 2 * 40 * 40 * 128 * 2 * 4096
    free = 80 * 2**30 - load_model("llama2-13b").parameter_count() * 2
    assert best == free // per_seq


def test_placements_do_not_import_simpy():
    code = "import sys, pimsim.placement; sys.exit('simpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("placement, model, sets", SMALL)
def test_bytes_per_link_add_up_to_what_links_carried(placement, model, sets):
    step, _ = decode_pass(placement, model, sets)
    by_link = step.run.bytes_by_link
    hops = {}
    for key, nbytes in by_link.items():
        src, _, dst = key.partition("->")
        assert src and dst and nbytes > 0
        hops[key] = nbytes
    # every byte moved crosses at least one link, and no more links than the longest route has
    if step.run.link_bytes:
        assert step.run.link_bytes <= sum(hops.values()) <= 4 * step.run.link_bytes
    else:
        assert not hops
