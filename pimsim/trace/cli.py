"""``pimsim trace``: the operator trace of a model under a scenario, to a file or as a summary."""

from __future__ import annotations

import click


@click.command("trace")
@click.argument("model")
@click.option("--scenario", "scenario_name", metavar="NAME|FILE", help="Start from a scenario preset or YAML.")
@click.option("--phase", help="prefill, decode or both.")
@click.option("--batch", type=int, help="Sequences served together.")
@click.option("--prompt", "prompt_tokens", type=int, help="Prompt length per sequence.")
@click.option("--output-tokens", "output_tokens", type=int, help="Tokens generated (decode steps).")
@click.option("--context", "context_tokens", type=int,
              help="With --phase decode: keys attended at the first decode step (one step unless --output-tokens).")
@click.option("--chunk", "prefill_chunk_tokens", type=int, help="Prefill in chunks of this many tokens.")
@click.option("--precision", help="FP16, W8A8, W4A16, W4A16KV8, ...")
@click.option("--tp", "tensor_parallel", type=int, help="Tensor-parallel degree.")
@click.option("--draft", help="Speculative decoding with this draft model.")
@click.option("--draft-tokens", type=int, help="Draft tokens per verify round (k).")
@click.option("--acceptance", "acceptance_rate", type=float, help="Draft token acceptance rate (a).")
@click.option("--routing", help="MoE routing: uniform, skewed or recorded.")
@click.option("--seed", type=int, help="MoE routing seed.")
@click.option("-o", "--out", "out_path", metavar="FILE", help="Write the trace (.jsonl or .h5).")
@click.option("--summary", is_flag=True, help="Print FLOPs, bytes and FLOP/B per operator kind.")
@click.option("--by", default="kind", show_default=True, help="Summarise by kind, phase or name.")
def trace_cmd(model, scenario_name, out_path, summary, by, **options):
    """Generate the operator trace of MODEL (a workload preset, YAML or HF config.json).

    Example: pimsim trace llama2-70b --phase decode --batch 32 --context 4096 -o decode.jsonl
    """
    from pimsim.trace.command import trace_command

    click.echo(trace_command(model, scenario_name, options, out_path, summary, by))
