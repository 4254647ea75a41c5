"""`codelens eval`: score an adapter on held-out data (training is imported lazily).

Its model options are ``ModelOptions``' fields, as `codelens scan` and `codelens train` take them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from codelens.choices import SplitBy
from codelens.cli.options import Option, config_options, given
from codelens.model.options import ModelOptions

Opt = typer.Option

EVAL_MODEL_OPTIONS = (
    Option("model", help="Base model (default: the one recorded in the adapter)."), Option("device"),
    Option("dtype"), Option("quantize"), Option("trust_remote_code", ("--trust-remote-code",)),
)
"""The model options of `codelens eval` (its adapter names the base it was trained on)."""


@config_options(ModelOptions, EVAL_MODEL_OPTIONS)
def evaluate(
    adapter: Annotated[str, Opt(help="Adapter folder from `codelens train`.")],
    data: Annotated[list[str], Opt(help="Corpus folder or CodeXGLUE file (repeatable).")],
    split: Annotated[str, Opt(help="train, val or test.")] = "test",
    split_by: Annotated[Optional[SplitBy], Opt(help="Override the adapter's repository split rule.")] = None,
    manifest: Annotated[Optional[str], Opt(help="JSON mapping repository -> split.")] = None,
    max_summaries: Annotated[int, Opt(help="Generate at most this many summaries (BLEU / ROUGE-L sample).")] = 200,
    output: Annotated[Optional[Path], Opt("--output", "-o", help="Also write the scores as JSON here.")] = None,
    **settings,
) -> None:
    """Score an adapter: defect accuracy / F1 / ROC-AUC, clone F1 / MAP@R, summary BLEU-4 / ROUGE-L."""
    from codelens.errors import CodelensError
    from codelens.files import write_output
    from codelens.train.evaluate import evaluate as run_eval

    options = ModelOptions(**given(settings))
    scores = run_eval(adapter, model=options.model, data=data, split=split, device=options.device,
                      dtype=options.dtype, quantize=options.quantize, trust_remote_code=options.trust_remote_code,
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
