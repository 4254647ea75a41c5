"""`codelens.json`: what an adapter folder says about itself. Shared by runtime and training.

An adapter folder holds:
  adapter_config.json, adapter_model.safetensors   PEFT weights (peft's own format: LoRA, IA3, LoHa)
  full_model.safetensors                           instead, every base weight (method "full")
  heads.safetensors                                task heads (see heads.py)
  codelens.json                                    this metadata
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codelens.choices import Method
from codelens.core import TASKS, Calibration, Thresholds
from codelens.errors import ModelError

METADATA_FILE = "codelens.json"
HEADS_FILE = "heads.safetensors"
FULL_WEIGHTS_FILE = "full_model.safetensors"
"""A fully fine-tuned model's weights (every parameter of the base, by name), in place of peft's files."""
MAX_METADATA_BYTES = 64 << 20
"""Largest codelens.json read (metrics and loss histories included, a real one is well under 1 MiB)."""
FORMAT_VERSION = 2
"""2: the defect head locates the bug (token sites + repairs); 1 had one pooled defect logit."""


@dataclass
class PromptFormat:
    """How a function is turned into model input; the summary is generated after ``template``."""

    template: str = "{code}\n# summary:"
    """Format string with one ``{code}`` field; the pooled state is taken over this text."""
    max_code_tokens: int = 384
    """Code is cut to this many tokens (from the end) before the template suffix is added."""
    max_summary_tokens: int = 24
    """Longest summary generated, in tokens; generation also stops at a newline or EOS."""
    no_repeat_ngram: int = 3
    """Summary decoding never repeats a token n-gram of this size (0: off), so it cannot loop."""


@dataclass
class AdapterMetadata:
    """Everything needed to rebuild and to trust an adapter."""

    base_model: str
    """Hub id or local path the adapter was trained on (as given)."""
    base_fingerprint: str
    """See ``codelens.model.loading.base_fingerprint``: architecture + tokenizer + weight sample; must match at load time."""
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    prompt: PromptFormat = field(default_factory=PromptFormat)
    thresholds: Thresholds = field(default_factory=Thresholds)
    calibration: Calibration = field(default_factory=Calibration)
    pooled_dim: int = 0
    """Input size of the clone head (2 x hidden size: mean-pool and last-token states concatenated)."""
    clone_dim: int = 128
    """Size of the clone embedding."""
    head_hidden: int = 256
    """Hidden size of the clone head."""
    bug_head: dict = field(default_factory=dict)
    """Shape of the defect head's bidirectional block (``codelens.model.heads.BugHeadConfig``)."""
    languages: list[str] = field(default_factory=list)
    """Languages of the code the adapter was trained and calibrated on (empty: not known, as for CodeXGLUE
    data). Its thresholds and measured precision hold there only: CL100 and CL300's suggestions stay off
    in the others."""
    training: dict = field(default_factory=dict)
    """Resolved training config, data hash, seed, steps, trainable parameter share."""
    metrics: dict = field(default_factory=dict)
    """Validation / test scores, by task."""
    method: str = "lora"
    """How the base was tuned (``codelens.choices.Method``): a peft module (lora, ia3, loha) in peft's files,
    or full (every weight, in FULL_WEIGHTS_FILE). The base fingerprint is the one training started from."""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def bug_kinds(self) -> tuple[str, ...]:
        """The edit-site kinds the defect head was trained on: a scan weighs sites of these kinds only (an
        adapter trained before the real-fix kinds never saw a missing argument's closing parenthesis)."""
        from codelens.parsing.sites import BUG_KINDS

        trained = (self.training.get("config") or {}).get("bug_kinds") if isinstance(self.training, dict) else None
        if isinstance(trained, list) and trained:
            return tuple(k for k in BUG_KINDS if k in trained)
        return BUG_KINDS[:9]  # the BugLab families every adapter before them was trained on

    def save(self, folder: Path) -> None:
        (Path(folder) / METADATA_FILE).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_dict(cls, data: dict) -> "AdapterMetadata":
        data = dict(data)
        data["prompt"] = PromptFormat(**data.get("prompt", {}))
        data["thresholds"] = Thresholds(**data.get("thresholds", {}))
        data["calibration"] = Calibration(**data.get("calibration", {}))
        return cls(**data)

    @classmethod
    def load(cls, folder: Path) -> "AdapterMetadata":
        from codelens.files import FileReadError, read_text_bounded

        path = Path(folder) / METADATA_FILE
        if not os.path.lexists(path):
            raise ModelError(
                f"{folder} is not a codelens adapter: {METADATA_FILE} is missing",
                hint="pass the folder written by `codelens train --out`, or omit --adapter for the default model",
            )
        try:
            # bounded and without blocking: an adapter folder may come from the scanned repository
            data = json.loads(read_text_bounded(path, MAX_METADATA_BYTES, "adapter metadata"))
            if not isinstance(data, dict):
                raise TypeError(f"the top level is {type(data).__name__}, not an object")
            for part in ("prompt", "thresholds", "calibration"):
                if not isinstance(data.get(part, {}), dict):
                    raise TypeError(f"{part} is {type(data[part]).__name__}, not an object")
            meta = cls.from_dict(data)
        except FileReadError as exc:
            raise ModelError(exc.message, hint=exc.hint) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise ModelError(
                f"{path} is corrupt: {exc}",
                hint="re-create the adapter with `codelens train`",
            ) from exc
        problem = _type_problem(meta)
        if problem:
            raise ModelError(f"{path}: {problem}", hint="re-create the adapter with `codelens train`")
        if not isinstance(meta.method, str) or meta.method not in {m.value for m in Method}:
            raise ModelError(f"{path}: method = {meta.method!r} is not one codelens knows",
                             hint="re-create the adapter with `codelens train`")
        if meta.format_version != FORMAT_VERSION:
            raise ModelError(
                f"{path} has adapter format {meta.format_version}; this codelens reads format {FORMAT_VERSION}",
                hint="retrain the adapter with this version of codelens",
            )
        return meta


def _number(value, low: float = -math.inf, high: float = math.inf) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and low <= value <= high)


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _type_problem(meta: AdapterMetadata) -> str | None:
    """What in ``meta`` has a type or value codelens cannot use (an adapter's codelens.json is read from
    folders a repository may name), or None. Every field is checked here, so a bad value is one clear error
    at load time, not a crash in the middle of a scan."""
    prompt, thresholds, calibration = meta.prompt, meta.thresholds, meta.calibration
    template = prompt.template
    if not isinstance(template, str) or [part[1:] for part in _fields(template)] != [("code", "", None)]:
        return f"the prompt template must hold {{code}} exactly once and no other field, got {template!r}"
    checks = [
        ("base_model", isinstance(meta.base_model, str) and meta.base_model != "", "a model id or folder"),
        ("base_fingerprint", isinstance(meta.base_fingerprint, str), "a string"),
        ("tasks", _strings(meta.tasks) and set(meta.tasks) <= set(TASKS), f"a list of {', '.join(TASKS)}"),
        ("prompt.max_code_tokens", _number(prompt.max_code_tokens, 1, 100_000) and isinstance(prompt.max_code_tokens, int), "a token count"),
        ("prompt.max_summary_tokens", _number(prompt.max_summary_tokens, 1, 100_000) and isinstance(prompt.max_summary_tokens, int), "a token count"),
        ("prompt.no_repeat_ngram", _number(prompt.no_repeat_ngram, 0, 100) and isinstance(prompt.no_repeat_ngram, int), "0 or a small n-gram size"),
        ("thresholds.defect", _number(thresholds.defect, 0, 1), "a probability"),
        ("thresholds.clone", _number(thresholds.clone, -1, 1), "a similarity between -1 and 1"),
        ("thresholds.clone_lexical", _number(thresholds.clone_lexical, 0, 1), "a weight between 0 and 1"),
        # 1.0 lies above every mean log-probability: the fitted "no gate helps, show nothing" (NOTHING_SHOWN)
        ("thresholds.summary", thresholds.summary is None or _number(thresholds.summary, high=1.0),
         "null, a log-probability or 1.0 (nothing shown)"),
        ("calibration.defect_temperature", _number(calibration.defect_temperature, 1e-6), "a positive number"),
        ("calibration.clone_scale", _number(calibration.clone_scale, 1e-6), "a positive number"),
        ("calibration.defect_precision", isinstance(calibration.defect_precision, list) and all(
            isinstance(pair, list) and len(pair) == 2 and all(_number(v) for v in pair)
            for pair in calibration.defect_precision), "a list of [score, precision] pairs"),
        *((name, _number(getattr(meta, name), 0) and isinstance(getattr(meta, name), int), "a size")
          for name in ("pooled_dim", "clone_dim", "head_hidden")),
        *((name, isinstance(getattr(meta, name), dict), "an object") for name in ("bug_head", "training", "metrics")),
        ("languages", _strings(meta.languages), "a list of language names"),
    ]
    for name, good, wanted in checks:
        if not good:
            value = meta
            for part in name.split("."):
                value = getattr(value, part)
            return f"{name} = {value!r:.80} is not {wanted}"
    return None


def _fields(template: str):
    """The replacement fields of a format string (``string.Formatter().parse``); a malformed one has none
    that count, so the template is refused."""
    import string

    try:
        return [part for part in string.Formatter().parse(template) if part[1] is not None]
    except ValueError:
        return []
