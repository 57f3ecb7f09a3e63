"""PIM kernels at command level inside a whole scenario agree with the tile-level default."""

import pytest

from pimsim.core.errors import ConfigError
from pimsim.experiments.pipeline import run_decode_step
from pimsim.experiments.scenario import ScenarioSpec, check_spec, load_inputs


def decode_ps(placement, model, sets, batch, context, fidelity):
    spec = ScenarioSpec(model=model, placement=placement, batch=batch, prompt_tokens=context, output_tokens=2,
                        system_sets=sets, fidelity=fidelity)
    m, p, system = load_inputs(spec)
    pim_groups = [g for g, node in system.devices.items() if node.config.kind == "pim-module"]
    assert pim_groups and all(system.devices[g].config.fidelity == fidelity for g in pim_groups)
    return run_decode_step(m, p, system, batch, context, "FP16").time_ps


@pytest.mark.parametrize("placement, model, sets, batch, context", [
    ("cent", "llama3.2-1b", ("devices.pim.count=4",), 1, 128),      # AiM: every FC and attention kernel
    ("attacc", "llama2-7b", (), 4, 256),                            # HBM3-PIM attention
    ("npu+pim", "llama2-7b", (), 4, 256),                           # NeuPIMs' Newton-style PIM
])
def test_command_level_decode_step_agrees_with_tile_level(placement, model, sets, batch, context):
    tile = decode_ps(placement, model, sets, batch, context, "tile")
    command = decode_ps(placement, model, sets, batch, context, "command")
    assert command == pytest.approx(tile, rel=0.02)


def test_unknown_fidelity_is_refused():
    with pytest.raises(ConfigError, match="fidelity must be 'tile' or 'command'"):
        check_spec(ScenarioSpec(model="llama2-7b", placement="cent", fidelity="cycle"))
