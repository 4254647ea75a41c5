"""codelens-small's model card, written from what the build measured (build.json, the pretraining log, the
corpus manifest) next to codelens-nano's own test scores: no number in it is typed by hand.

    python -m training.build_small card --model models/codelens-small     # after `unpack`
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

LOSS_POINTS = 12
"""Rows of the loss-curve table (evenly spaced validation losses, the last one always in)."""


def _f(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def loss_curve(log_path: Path, points: int = LOSS_POINTS) -> list[dict]:
    """Evenly spaced rows of the pretraining log that carry a validation loss, the last one included."""
    if not log_path.is_file():
        return []
    rows = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if "val_loss" in r]
    if len(rows) <= points:
        return rows
    step = (len(rows) - 1) / (points - 1)
    return [rows[round(i * step)] for i in range(points)]


def score_rows(small: dict, nano: dict) -> list[tuple[str, str, str]]:
    """(measure, small, nano) rows of the test-split comparison."""
    def get(metrics: dict, task: str, key: str):
        return metrics.get(task, {}).get(key)

    spec = [("defect ROC-AUC", "defect", "roc_auc", _f), ("defect localisation", "defect", "localisation", _pct),
            ("defect joint localisation + repair", "defect", "joint", _pct),
            ("defect false alarms per 1,000 clean", "defect", "false_alarms_per_1000", lambda v: _f(v, 1)),
            ("defect precision / recall at threshold", "defect", None, None),
            ("clone MAP@R", "clone", "map_at_r", _f), ("clone pair F1", "clone", "pair_f1", _f),
            ("summary smoothed BLEU-4", "summary", "bleu4", lambda v: _f(v, 2)),
            ("summary ROUGE-L", "summary", "rouge_l", lambda v: _f(v, 2)),
            ("summaries shown by the gate", "summary", "shown", _pct)]
    rows = []
    for title, task, key, fmt in spec:
        if key is None:
            cell = lambda m: f"{_pct(get(m, task, 'precision'))} / {_pct(get(m, task, 'recall'))}"  # noqa: E731
            rows.append((title, cell(small), cell(nano)))
        else:
            rows.append((title, fmt(get(small, task, key)), fmt(get(nano, task, key))))
    return rows


def render_card(build: dict, manifest_text: str, curve: list[dict], nano_metrics: dict,
                nano_pretraining: dict) -> str:
    """The card's markdown from the build's record (``build.json``), the manifest and the loss curve."""
    cfg, stages = build["config"], build["stages"]
    pre, corpus, adapter = stages.get("pretrain", {}), stages.get("corpus", {}), stages.get("adapter", {})
    task_data, bpb = stages.get("task_data", {}), stages.get("bits_per_byte", {})
    manifest = json.loads(manifest_text) if manifest_text else []
    manifest_sha = hashlib.sha256(manifest_text.encode("utf-8")).hexdigest() if manifest_text else "n/a"
    device_seconds = sum(s.get("seconds", 0) for name, s in stages.items() if name != "task_data")
    params, tokens, flops = pre.get("parameters"), pre.get("tokens"), pre.get("flops")
    lines = [
        "# codelens-small",
        "",
        "The default model of codelens: a Llama-architecture causal LM (loaded by transformers without remote "
        "code), pretrained from scratch on permissively licensed Python installed on the build machines, stored "
        "in int8 with per-row scales, carrying one multi-task LoRA adapter with the CL100 / CL200 / CL300 heads.",
        "",
        "## Build",
        "",
        f"- shape: d_model {cfg['d_model']}, {cfg['n_layers']} layers, {cfg['n_heads']} heads, vocabulary "
        f"{cfg['vocab_size']:,} (byte-level BPE `{Path(cfg['tokenizer']).name}`), window {cfg['seq_len']}",
        f"- parameters: {params:,}" if params else "- parameters: n/a",
        f"- pretraining: {tokens:,} tokens, {pre.get('steps', 0):,} steps, {flops:.3g} FLOPs "
        f"({tokens / params:.1f} tokens per parameter)" if params and tokens and flops else "- pretraining: n/a",
        f"- device: {cfg['device']}; {device_seconds / 60:.1f} minutes of build stages (corpus, pretraining, "
        "adapter, bits per byte; the task data ran beside the pretraining)",
        f"- adapter: {adapter.get('steps', 0):,} steps, {adapter.get('trainable_params', 0):,} trainable parameters, "
        f"task data hash {adapter.get('data_hash', 'n/a')}",
        f"- weights on disk (int8 base): {pre.get('packed_bytes', 0) / 2**20:.1f} MiB",
        "",
        "Rebuild: `python -m training.build_small run --out /tmp/small --export-dir $OUT` on the GPU machine "
        "(docs/gpu-build.md), then `python -m training.build_small unpack --parts PARTS --into "
        "models/codelens-small`.",
        "",
        "## Corpus",
        "",
        f"- {corpus.get('packages', 'n/a')} packages ({corpus.get('by_split', {})}), {corpus.get('files', 'n/a')} "
        f"files after removing {corpus.get('exact_duplicates', 0)} exact and {corpus.get('near_duplicates', 0)} "
        f"near duplicates (of {corpus.get('files_before', 'n/a')})",
        f"- licences: {', '.join(sorted({row['license'] for row in manifest})) or 'n/a'}",
        f"- manifest: `manifest.json` (distribution, version, licence, split, files, bytes, tokens), sha256 "
        f"`{manifest_sha}`",
        f"- task data: {task_data.get('functions', 'n/a')} functions; validation and test packages are never "
        "in pretraining or adapter training",
        "",
        "## Pretraining loss",
        "",
        "| step | tokens | train loss | validation loss |",
        "|---:|---:|---:|---:|",
        *[f"| {r['step']:,} | {r['tokens']:,} | {_f(r.get('train_loss'))} | {_f(r.get('val_loss'))} |" for r in curve],
        "",
        "## Held-out bits per byte",
        "",
        "On the same validation-package text (tokenizers differ, bytes do not):",
        "",
        "| model | bits per byte |",
        "|---|---:|",
        *[f"| {name} | {_f(bpb[name].get('bits_per_byte'))} |" for name in ("small", "nano") if name in bpb],
        "",
        "## Test split, small against nano",
        "",
        "Packages neither model trained on; the decisions (thresholds, gate) fitted on validation.",
        "",
        "| measure | codelens-small | codelens-nano |",
        "|---|---:|---:|",
        *[f"| {a} | {b} | {c} |" for a, b, c in score_rows(adapter.get("metrics", {}).get("test", {}), nano_metrics)],
        "",
        "## Single-task against multi-task",
        "",
        "Not measured for codelens-small: the GPU time of one build goes to the shared adapter. codelens-nano's "
        "card has the study at its size.",
        "",
    ]
    if nano_pretraining:
        lines[lines.index("## Held-out bits per byte") + 2:lines.index("## Held-out bits per byte") + 2] = [
            f"codelens-nano for reference: {nano_pretraining.get('tokens', 0):,} pretraining tokens "
            f"({nano_pretraining.get('train_seconds', 0) / 3600:.1f} hours of one CPU core).", ""]
    return "\n".join(lines)


def write_card(model_dir: Path, nano_dir: Path | None = None) -> Path:
    """Render ``model_dir``/README.md from ``model_dir``/build.json, manifest.json and log.jsonl."""
    build = json.loads((model_dir / "build.json").read_text(encoding="utf-8"))
    manifest = model_dir / "manifest.json"
    nano_metrics, nano_pre = {}, {}
    if nano_dir is not None and (nano_dir / "adapter" / "codelens.json").is_file():
        nano_metrics = json.loads((nano_dir / "adapter" / "codelens.json").read_text())["metrics"].get("test", {})
        pretraining = nano_dir / "base" / "pretraining.json"
        nano_pre = json.loads(pretraining.read_text()) if pretraining.is_file() else {}
    text = render_card(build, manifest.read_text(encoding="utf-8") if manifest.is_file() else "",
                       loss_curve(model_dir / "log.jsonl"), nano_metrics, nano_pre)
    out = model_dir / "README.md"
    out.write_text(text, encoding="utf-8")
    return out
