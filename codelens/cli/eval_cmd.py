"""`codelens eval`: score an adapter on held-out data (training is imported lazily)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from codelens.choices import Dtype, Quantize, SplitBy

Opt = typer.Option


def evaluate(
    adapter: Annotated[str, Opt(help="Adapter folder from `codelens train`.")],
    data: Annotated[list[str], Opt(help="Corpus folder or CodeXGLUE file (repeatable).")],
    model: Annotated[Optional[str], Opt(help="Base model (default: the one recorded in the adapter).")] = None,
    split: Annotated[str, Opt(help="train, val or test.")] = "test",
    split_by: Annotated[Optional[SplitBy], Opt(help="Override the adapter's repository split rule.")] = None,
    manifest: Annotated[Optional[str], Opt(help="JSON mapping repository -> split.")] = None,
    device: Annotated[str, Opt(help="auto, cpu, cuda or cuda:N.")] = "auto",
    dtype: Annotated[Dtype, Opt(help="Compute dtype (auto: bf16 where the hardware runs it natively).")] = Dtype.AUTO,
    quantize: Annotated[Quantize, Opt(help="Weight quantisation through bitsandbytes.")] = Quantize.NONE,
    max_summaries: Annotated[int, Opt(help="Generate at most this many summaries (BLEU / ROUGE-L sample).")] = 200,
    output: Annotated[Optional[Path], Opt("--output", "-o", help="Also write the scores as JSON here.")] = None,
) -> None:
    """Score an adapter: defect accuracy / F1 / ROC-AUC, clone F1 / MAP@R, summary BLEU-4 / ROUGE-L."""
    from codelens.errors import CodelensError
    from codelens.files import write_output
    from codelens.train.evaluate import evaluate as run_eval

    scores = run_eval(adapter, model=model, data=data, split=split, device=device, dtype=dtype, quantize=quantize,
                      split_by=split_by, manifest=manifest, max_summaries=max_summaries)
    text = json.dumps(scores, indent=2, sort_keys=True, default=str) + "\n"
    if output is not None:
        try:
            write_output(output, text, root=None)
        except CodelensError:
            # the scores are still printed below: a bad --output path does not throw the evaluation away
            typer.echo(text, nl=False)
            raise
    typer.echo(text, nl=False)
