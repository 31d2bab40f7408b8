"""``latentstack export onnx``."""

from __future__ import annotations

from pathlib import Path

import click

from latentstack.pooling import POOLINGS

#: The options of an encoder's export, refused beside a causal LM.
_ENCODER_ONLY = ("pooling", "max_length", "int8", "smooth", "int8_gelu", "no_optimize", "classifier")


@click.group()
def export() -> None:
    """Export models to deployment runtimes."""


@export.command()
@click.option("--model", default="minilm", show_default=True,
              help="Model name or folder: an encoder (embedder export) or a causal LM (generator export).")
@click.option("--adapter", default="", help="A LoRA adapter folder to merge in before export.")
@click.option("--precision", type=click.Choice(["fp32", "int8", "int4"]), default=None,
              help="Weights of the export. Decoders: fp32, int8 or int4 (default int8). Encoders: fp32 is always "
                   "written; int8 is the same as --int8.")
@click.option("--pooling", type=click.Choice(POOLINGS), default=None,
              help="Encoders: how token states become one vector (default: a sentence-transformers folder's own, "
                   "else mean).")
@click.option("--max-length", type=click.IntRange(2), default=None,
              help="Encoders: tokens read per text (default: a sentence-transformers folder's max_seq_length, "
                   "else 256).")
@click.option("--int8", is_flag=True, help="Also write a dynamically quantised int8 variant.")
@click.option("--smooth", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="int8 only: activation smoothing strength (SmoothQuant alpha); 0 turns it off.")
@click.option("--calibrate", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Encoders at int8: texts to calibrate the smoothing on, one per line. Decoders at int4: prompts "
                   "to calibrate the weight scaling on, one per line, or chat data like adapt sft's (.jsonl). "
                   "Default: a built-in set.")
@click.option("--no-awq", is_flag=True,
              help="Decoders at int4 only: quantise the weights as they are, without activation-aware scaling.")
@click.option("--no-grid", is_flag=True,
              help="Decoders at int4 only: round the weights onto a new int4 grid even when they lie on a 4-bit "
                   "grid already (a model converted from a GGUF Q4 file keeps its own by default).")
@click.option("--int8-gelu", type=click.Choice(["tanh", "erf"]), default="tanh", show_default=True,
              help="int8 only: the feed-forward GELU, onnxruntime's faster tanh approximation or the exact erf.")
@click.option("--no-optimize", is_flag=True, help="Skip onnxruntime's transformer graph fusions.")
@click.option("--classifier", type=click.Path(exists=True, file_okay=False), default=None,
              help="A linear classifier on these bert features: record its prediction agreement.")
@click.option("--probe", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Probe texts (encoders) or prompts (decoders) for the parity check, one per line "
                   "(default: built-in set).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
def onnx(model: str, adapter: str, precision: str | None, pooling: str | None, max_length: int | None, int8: bool, smooth: float,
         calibrate: str | None, no_awq: bool, no_grid: bool, int8_gelu: str, no_optimize: bool, classifier: str | None,
         probe: str | None, out: Path) -> None:
    """Export an encoder embedder or a causal LM generator (with an adapter merged) to ONNX; fails unless it matches torch."""
    from latentstack.cli.options import refuse_given
    from latentstack.sources import resolve_model
    from latentstack.storage import check_replaceable
    from latentstack_onnx.decoder_export import is_decoder
    from latentstack_onnx.export import ExportConfig, export_onnx

    if is_decoder(resolve_model(model).path):
        refuse_given(_ENCODER_ONLY, "an encoder's export only (this model is a causal LM): leave {} out")
        _decoder(model, adapter, precision or "int8", probe, calibrate, (not no_awq, not no_grid), out)
        return
    if precision == "int4":
        raise click.UsageError("int4 is for decoders; an encoder exports fp32 and, with --precision int8, int8")
    if no_awq or no_grid:
        raise click.UsageError(f"{'--no-awq' if no_awq else '--no-grid'} is for int4 decoder exports; encoders "
                               "smooth their int8 with --smooth")
    int8 = int8 or precision == "int8"
    if calibrate and not int8:
        raise click.UsageError("--calibrate sets the int8 smoothing; add --int8 or leave it out")
    if not int8:
        refuse_given(("smooth", "int8_gelu"), "the int8 variant only: add --int8 or leave {} out")
    check_replaceable(out, "export")  # refuse a folder of the user's own files before exporting
    texts = lines(probe, "--probe") if probe else None
    calibration = lines(calibrate, "--calibrate") if calibrate else None
    config = ExportConfig(model=model, adapter=adapter, pooling=pooling or "auto", max_length=max_length, int8=int8,
                          smooth=smooth, int8_gelu=int8_gelu, optimize=not no_optimize)
    manifest = export_onnx(config, out, texts, classifier, calibration)
    for name, v in manifest["variants"].items():
        agree = f", classifier agreement {v['classifier_agreement']:.3f}" if "classifier_agreement" in v else ""
        recipe = v.get("recipe", {})
        smoothed = (f" (smoothing {recipe['smooth']} on {recipe['smoothed_nodes']} projections)"
                    if recipe.get("smoothed_nodes") else "")
        click.echo(f"{name}{smoothed}: {v['file']} {v['bytes'] / 1e6:.1f} MB, cosine mean {v['cosine_mean']:.6f} "
                   f"min {v['cosine_min']:.6f} on {manifest['probe_texts']} probe texts{agree}")
    click.echo(f"exported to {out}")


def _decoder(model: str, adapter: str, precision: str, probe: str | None, calibrate: str | None,
             int4: tuple[bool, bool], out: Path) -> None:
    """The decoder path: ONNX Runtime GenAI's builder, then greedy-token and log-likelihood parity with torch."""
    from latentstack.storage import check_replaceable
    from latentstack_onnx.decoder_export import DecoderExportConfig, export_decoder

    scale, grid = int4
    if precision != "int4" and (calibrate or not scale or not grid):
        raise click.UsageError(f"--calibrate, --no-awq and --no-grid set the int4 weights; an {precision} decoder "
                               "export has none, so leave them out or add --precision int4")
    check_replaceable(out, "export")
    prompts = lines(probe, "--probe") if probe else None
    calibration = _prompts(calibrate) if calibrate else None
    config = DecoderExportConfig(model=model, adapter=adapter, precision=precision, awq=scale, grid=grid)
    data = export_decoder(config, out, prompts, calibration)
    if data["grid"]:
        g = data["grid"]
        unused = "; --calibrate was not needed (--no-grid scales instead)" if calibrate else ""
        click.echo(f"kept the weights' own 4-bit grid in {g['nodes']} MatMuls, the grid offsets and the adapter "
                   f"(rank {g['adapter_rank']}) beside them in float{unused}")
    if data["awq"]:
        a = data["awq"]
        click.echo(f"weights scaled for int4 (AWQ) on {a['prompts']} calibration prompts: quantised output error "
                   f"{a['output_error_rtn']:.4g} -> {a['output_error_scaled']:.4g} on {a['tokens']} tokens")
    p = data["parity"]
    click.echo(f"{precision}: {p['prompts']} probe prompts, greedy answers identical to torch {p['identical_share']:.2f}, "
               f"loss of torch's answers {p['nll_torch']:.4f} -> {p['nll_onnx']:.4f} nats/token ({p['rule']})")
    for d in p["divergences"]:
        click.echo(f"  prompt {d['prompt']}: first different token {d['token']} (torch's top-two gap {d['torch_gap']})")
    click.echo(f"exported to {out}; run it with --generator onnx --model {out}")


def _prompts(path: str) -> list[str | list[dict[str, str]]]:
    """Decoder calibration prompts: an SFT file's conversations (.jsonl), or one prompt a line."""
    if path.endswith(".jsonl"):
        from latentstack.data.sft import load_sft

        return list(load_sft(path))
    return list(lines(path, "--calibrate"))


def lines(path: str, option: str) -> list[str]:
    """The non-blank lines of a text file given to ``option``; none is a usage error."""
    from latentstack.textfile import lines as split_lines
    from latentstack.textfile import read_text

    found = [line for line in split_lines(read_text(path)) if line.strip()]
    if not found:
        raise click.UsageError(f"{option} {path} has no non-blank lines; give one text per line")
    return found
