"""Loading a base model and its codelens adapter (LoRA + task heads + codelens.json), offline and checked.

    loaded = load_model(ModelSpec())                       # the embedded default, zero flags
    loaded = load_model(ModelSpec(model="Qwen/Qwen2.5-Coder-0.5B", adapter="./my-adapter", quantize="nf4"))

Nothing here reaches the network unless a hub id is given that is not in the local Hugging Face cache,
and even then only with short timeouts; HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are honoured.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codelens.choices import Dtype, Quantize
from codelens.errors import ModelError
from codelens.model.adapter_meta import HEADS_FILE, AdapterMetadata
from codelens.model.lora_merge import merge_into, merge_plan, replace_weights
from codelens.model.options import ModelSpec, device_name, dtype_name, resolve_device, resolve_dtype
from codelens.model.packed import is_packed

SHIPPED_MODELS = ("codelens-small", "codelens-nano")
"""The models codelens can ship, best first: a scan with no --model uses the first one installed."""
DEFAULT_MODEL = "default"
"""What --model may say for the embedded default (or name one of SHIPPED_MODELS)."""
_HUB_TIMEOUT_S = "10"


@dataclass
class LoadedModel:
    """A base model carrying its adapter, ready for the engine."""

    model: Any
    """The causal LM in eval mode: with the LoRA folded into its weights when ``merged``, else a
    peft.PeftModel around it."""
    tokenizer: Any
    """The base's tokenizer; always has a pad token (EOS when the base defines none)."""
    heads: Any
    """TaskHeads in fp32, eval mode, on ``device``."""
    meta: AdapterMetadata
    device: Any
    """torch.device the model runs on."""
    dtype: Any
    """torch.dtype of the computation (bf16 autocast when bfloat16)."""
    base_fingerprint: str
    adapter_hash: str
    """sha256 over the adapter folder's files: any retrained adapter gets a new hash (cache key)."""
    model_id: str
    """The base as resolved: a local folder path or a hub id."""
    quantize: Quantize = Quantize.NONE
    merged: bool = False
    """True when the adapter's LoRA was added into the base weights (see ``ModelSpec.merge``)."""
    model_given: str = ""
    """The base as the user named it (see ``given_base``); empty when it came from the adapter."""

    @property
    def device_name(self) -> str:
        return str(self.device)

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).replace("torch.", "")


def given_base(spec: ModelSpec) -> str:
    """The base model as the spec names it (a folder resolved, a hub id as written), or "" when the base comes
    from the adapter or the default. Part of the cache key: a scan with another --model must not be
    answered from results of the base the adapter records, before that model is even loaded."""
    if spec.model is None:
        return ""
    local = Path(spec.model).expanduser()
    return str(local.resolve()) if local.exists() else spec.model


def shipped_model_dir(name: str | None = None) -> Path:
    """The folder (with base/ and adapter/) of a shipped model, in the repository or the installed package:
    ``name`` (one of SHIPPED_MODELS), or the best one installed."""
    import codelens

    package = Path(codelens.__file__).resolve().parent
    names = SHIPPED_MODELS if name in (None, DEFAULT_MODEL) else (name,)
    candidates = [root / model for model in names
                  for root in (package.parent / "models", package / "_models", package / "models")]
    for folder in candidates:
        if (folder / "base").is_dir() and (folder / "adapter").is_dir():
            return folder
    what = "no default model is" if name in (None, DEFAULT_MODEL) else f"the model {name} is not"
    raise ModelError(
        f"{what} installed (looked in {', '.join(str(c) for c in candidates)})",
        hint="pass a base model and an adapter with --model and --adapter, or reinstall codelens with its models",
    )


def default_model_dir() -> Path:
    """The embedded default's folder: the best shipped model installed (see SHIPPED_MODELS)."""
    return shipped_model_dir()


def _offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _looks_like_path(model: str) -> bool:
    # A hub id is "name" or "owner/name": anything else with a separator was meant as a folder.
    return model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1 or Path(model).exists()


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' progress bars and info logging: library code never writes to the terminal."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _quantization_config(quantize: str, dtype):
    if quantize == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as exc:
        raise ModelError(
            f"--quantize {quantize} needs the bitsandbytes package, which is not installed",
            hint="pip install 'codelens[quantize]' (or bitsandbytes itself), or use --quantize none",
        ) from exc
    from transformers import BitsAndBytesConfig

    if quantize == "int8":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)


@dataclass(frozen=True)
class ModelSource:
    """Where a base model's files come from, as transformers' ``from_pretrained`` takes it."""

    path: str
    """The local folder, or the hub id."""
    folder: Path | None
    """The local folder; None for a hub id."""
    options: dict[str, Any]
    """``trust_remote_code`` and ``local_files_only`` for every ``from_pretrained`` of it."""


def model_source(model: str, trust_remote_code: bool = False) -> ModelSource:
    """Where ``model`` loads from, for its tokenizer and its weights alike: a local folder as it is; a hub id
    from the Hugging Face cache, and from the cache alone when HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set.
    A ModelError for a path that names no folder (it must not be taken for a hub id)."""
    # huggingface_hub reads these when first imported: set them before transformers pulls it in, so an
    # unreachable hub costs seconds, never minutes.
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", _HUB_TIMEOUT_S)
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", _HUB_TIMEOUT_S)
    local = Path(model).expanduser()
    if local.is_dir():
        return ModelSource(str(local), local, dict(trust_remote_code=trust_remote_code, local_files_only=False))
    if _looks_like_path(model):
        what = "is a file, not a model folder" if local.exists() else "does not exist"
        raise ModelError(f"model folder {model} {what}", hint="pass an existing folder or a hub id with --model")
    return ModelSource(model, None, dict(trust_remote_code=trust_remote_code, local_files_only=_offline()))


def load_base(model: str, device: str = "auto", dtype: Dtype = Dtype.AUTO, quantize: Quantize = Quantize.NONE,
              trust_remote_code: bool = False):
    """Load a causal LM and its tokenizer from a local folder or the Hugging Face cache: (model, tokenizer).

    The model is in eval mode on the resolved device; the tokenizer always has a pad token.
    Raises ModelError for anything that cannot be loaded, with the fix in the hint.
    """
    ModelSpec(model=model, device=device, quantize=quantize, dtype=dtype)  # validates the choices
    source = model_source(model, trust_remote_code)
    from transformers import AutoModelForCausalLM

    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    kwargs: dict[str, Any] = dict(source.options, dtype=torch_dtype, use_safetensors=True)
    quant = _quantization_config(quantize, torch_dtype)
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map={"": str(torch_device)})
    try:
        with _quiet_transformers():
            tokenizer = _tokenizer_of(source)
            if source.folder is not None and is_packed(source.folder):
                lm = _load_packed(source.folder, torch_dtype, torch_device, kwargs, quant)
            else:
                lm = AutoModelForCausalLM.from_pretrained(source.path, **kwargs)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - hub, network and format errors have no common base class
        if source.folder is not None:
            raise ModelError(
                f"cannot load the model in {source.path}: {_first_line(exc)}",
                hint="the folder needs config.json, safetensors weights and tokenizer files "
                     "(as written by save_pretrained); pickle (.bin) weights are refused",
            ) from exc
        raise ModelError(
            f"model '{model}' is not a local folder and is not in the Hugging Face cache; {_first_line(exc)}",
            hint=f"download it on a connected machine (huggingface-cli download {model}) "
                 "or pass a local folder with --model",
        ) from exc
    if quant is None:
        lm.to(torch_device)
    lm.eval()
    return lm, tokenizer


def _tokenizer_of(source: ModelSource):
    """The tokenizer of ``source`` as codelens uses it: no length limit, a pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.path, **source.options)
    # codelens cuts code to the prompt's own budget; the tokenizer's length limit would only make transformers
    # warn ("Token indices sequence length is longer than ...") about every long function it encodes.
    tokenizer.model_max_length = int(1e30)
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        else:
            # Any id will do: padded positions are masked out. Adding a new token would change the vocabulary
            # and with it the base fingerprint.
            tokenizer.pad_token = tokenizer.convert_ids_to_tokens(0)
    return tokenizer


def load_tokenizer(model: str, trust_remote_code: bool = False):
    """The tokenizer of the base ``model`` alone, from where ``load_base`` takes it and prepared as it is
    (no weights, no torch device): what a Ray driver needs to cut the batches its workers will run. Raises
    ModelError."""
    source = model_source(model, trust_remote_code)
    try:
        with _quiet_transformers():
            return _tokenizer_of(source)
    except Exception as exc:  # noqa: BLE001 - hub, network and format errors have no common base class
        raise ModelError(f"cannot load the tokenizer of {model}: {_first_line(exc)}",
                         hint="pass a model folder with tokenizer files") from exc


def _load_packed(folder: Path, dtype, device, kwargs: dict, quant):
    """A base stored in int8 (``codelens.model.packed``): dequantised into its transformers class; through a
    temporary plain folder when bitsandbytes is to quantise it again."""
    import tempfile

    from transformers import AutoModelForCausalLM

    from codelens.model.packed import load_packed, unpack_folder

    if quant is None:
        return load_packed(folder, dtype, device)
    with tempfile.TemporaryDirectory(prefix="codelens-unpacked-") as tmp:
        return AutoModelForCausalLM.from_pretrained(str(unpack_folder(folder, Path(tmp))), **kwargs)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# A base's fingerprint: architecture, tokenizer and a sample of its weights. An adapter records the
# fingerprint of the base it was trained on; loading it onto a base with another fingerprint is refused.
# The weight sample is the first rows of the input embedding, rounded to bf16, so the same weights give the
# same fingerprint whether they were loaded in fp32, bf16, int8 or NF4 (bitsandbytes leaves embeddings
# unquantised).
_CONFIG_KEYS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "intermediate_size",
    "vocab_size",
)


def base_fingerprint(model, tokenizer) -> str:
    """sha256 (first 16 hex digits) over config essentials, the tokenizer vocabulary and a weight sample."""
    import torch

    config = model.config.to_dict()
    h = hashlib.sha256()
    h.update(json.dumps({k: config.get(k) for k in _CONFIG_KEYS}, sort_keys=True).encode())
    vocab = tokenizer.get_vocab()
    h.update(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode("utf-8"))
    emb = model.get_input_embeddings().weight
    sample = emb[:64, :64].detach().float().cpu().to(torch.bfloat16).view(torch.int16)
    h.update(sample.numpy().tobytes())
    return h.hexdigest()[:16]


def adapter_hash(folder: Path) -> str:
    """sha256 over the relative paths and contents of every file in the adapter folder."""
    folder = Path(folder)
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def _resolve_paths(spec: ModelSpec) -> tuple[str, Path]:
    """(base model, adapter folder) for a spec, filling in the shipped defaults."""
    if spec.adapter is not None:
        adapter = Path(spec.adapter).expanduser()
        if not adapter.is_dir():
            raise ModelError(f"adapter folder {spec.adapter} does not exist",
                             hint="pass the folder written by `codelens train --out`, or omit --adapter")
        if spec.model is not None:
            return resolve_base(spec.model), adapter
        return resolve_base(AdapterMetadata.load(adapter).base_model), adapter
    if spec.model is None or spec.model == DEFAULT_MODEL or spec.model in SHIPPED_MODELS:
        folder = shipped_model_dir(spec.model)
        return str(folder / "base"), folder / "adapter"
    raise ModelError(
        f"no adapter given for the base model {spec.model}",
        hint=f"pass --adapter FOLDER trained on it (`codelens train --model {spec.model} --out FOLDER`), "
             "or omit --model to use the default",
    )


def resolve_base(model: str) -> str:
    """A shipped model's short name stands for its base folder."""
    if model == DEFAULT_MODEL or model in SHIPPED_MODELS:
        return str(shipped_model_dir(model) / "base")
    return model


def _load_heads(adapter: Path, meta: AdapterMetadata, device):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from codelens.model.heads import TaskHeads

    path = adapter / HEADS_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing: the adapter has no task heads", hint="re-create the adapter with `codelens train`")
    try:
        heads = TaskHeads.for_adapter(meta)
        heads.load_state_dict(load_file(str(path)), strict=True)
    except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
        raise ModelError(f"{path} is corrupt or does not match codelens.json: {_first_line(exc)}",
                         hint="re-create the adapter with `codelens train`") from exc
    return heads.float().to(device).eval()


def load_model(spec: ModelSpec) -> LoadedModel:
    """Load base + adapter + heads, refusing an adapter that was trained on another base."""
    model_id, adapter = _resolve_paths(spec)
    return _load_resolved(spec, model_id, adapter, AdapterMetadata.load(adapter), adapter_hash(adapter))


def _load_resolved(spec: ModelSpec, model_id: str, adapter: Path, meta: AdapterMetadata, hashed: str) -> LoadedModel:
    lm, tokenizer = load_base(model_id, spec.device, spec.dtype, spec.quantize, spec.trust_remote_code)
    fingerprint = base_fingerprint(lm, tokenizer)
    if fingerprint != meta.base_fingerprint:
        raise ModelError(
            f"adapter {adapter} was trained on base {meta.base_model} (fingerprint {meta.base_fingerprint}), "
            f"but the model given is {model_id} (fingerprint {fingerprint})",
            hint=f"pass --model {meta.base_model}",
        )
    hidden = getattr(lm.config, "hidden_size", None)
    if hidden is not None and meta.pooled_dim != 2 * hidden:
        raise ModelError(
            f"{adapter}: codelens.json says the heads read {meta.pooled_dim} features, "
            f"but this base gives {2 * hidden} (2 x hidden size {hidden})",
            hint="re-create the adapter with `codelens train`",
        )
    check_adapter_weights(adapter, meta.method)
    merged = spec.merge and spec.quantize == "none"
    plan = merge_plan(adapter)[0] if merged and meta.method != "full" else None
    if meta.method == "full":
        if spec.quantize != "none":
            raise ModelError(f"adapter {adapter} holds a fully fine-tuned model, which cannot go into a "
                             f"{spec.quantize} base", hint="pass --quantize none")
        replace_weights(lm, adapter)  # every weight replaced: nothing stays beside the base
        model, merged = lm, True
    elif plan is not None:
        merge_into(lm, adapter, plan)  # plain LoRA: no peft import at all
        model = lm
    else:
        model = _peft_model(lm, adapter)
        if merged:
            model = model.merge_and_unload()
    model.eval()
    device = resolve_device(spec.device)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        heads=_load_heads(adapter, meta, device),
        meta=meta,
        device=device,
        dtype=resolve_dtype(spec.dtype, device),
        base_fingerprint=fingerprint,
        adapter_hash=hashed,
        model_id=model_id,
        quantize=spec.quantize,
        merged=merged,
        model_given=given_base(spec),
    )


def check_adapter_weights(adapter: Path, method: str = "lora") -> None:
    """The adapter's weights (peft's, or the whole model's for method "full") are a readable safetensors
    file; a ModelError otherwise.

    Checked before peft sees the folder: peft falls back to adapter_model.bin (a pickle, which can run
    code) when the safetensors file is missing or broken. codelens loads safetensors only.
    """
    from safetensors import SafetensorError, safe_open

    from codelens.model.adapter_meta import FULL_WEIGHTS_FILE
    from codelens.model.lora_merge import CONFIG_FILE, WEIGHTS_FILE

    hint = "re-create the adapter with `codelens train` (codelens loads safetensors weights only, never .bin)"
    weights_file = FULL_WEIGHTS_FILE if method == "full" else WEIGHTS_FILE
    for name in (weights_file,) if method == "full" else (CONFIG_FILE, WEIGHTS_FILE):
        if not (adapter / name).is_file():
            raise ModelError(f"{adapter / name} is missing: the adapter has no {method} weights", hint=hint)
    try:
        with safe_open(str(adapter / weights_file), framework="pt") as weights:
            if not list(weights.keys()):
                raise ModelError(f"{adapter / weights_file} holds no tensors", hint=hint)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{adapter / weights_file} is corrupt: {_first_line(exc)}", hint=hint) from exc


def _peft_model(lm, adapter: Path):
    """The base wrapped by peft with the adapter's LoRA layers."""
    from peft import PeftModel

    try:
        with _quiet_transformers(), warnings.catch_warnings():
            # peft calls transformers APIs that transformers 5 marks deprecated: not the user's concern.
            warnings.simplefilter("ignore", FutureWarning)
            return PeftModel.from_pretrained(lm, str(adapter), is_trainable=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"cannot load the peft weights in {adapter}: {_first_line(exc)}",
                         hint="re-create the adapter with `codelens train`") from exc


class LazyModel:
    """A model's identity now, its weights on first use.

    Everything the result cache needs (adapter metadata, adapter hash, base fingerprint as recorded by
    the adapter, the base as given, device and dtype names) is known without loading the weights or
    importing torch, so a scan whose functions all come from the cache never does either. ``model``,
    ``tokenizer``, ``heads``, ``device`` and ``dtype`` load everything (and check the base's real
    fingerprint) the first time they are read; ``on_load(done)`` is told when that starts and ends.
    """

    _LOADED_ATTRS = ("model", "tokenizer", "heads", "device", "dtype")

    def __init__(self, spec: ModelSpec, on_load=None) -> None:
        self.spec = spec
        self.model_id, self._adapter = _resolve_paths(spec)
        self.meta = AdapterMetadata.load(self._adapter)
        self.adapter_hash = adapter_hash(self._adapter)
        self.base_fingerprint = self.meta.base_fingerprint
        self.device_name = device_name(spec.device)
        self.dtype_name = dtype_name(spec.dtype, self.device_name)
        self.quantize = spec.quantize
        self.model_given = given_base(spec)
        self.on_load = on_load
        self._loaded: LoadedModel | None = None

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> LoadedModel:
        if self._loaded is None:
            if self.on_load is not None:
                self.on_load(False)
            # The adapter folder was read and hashed at construction: not again.
            self._loaded = _load_resolved(self.spec, self.model_id, self._adapter, self.meta, self.adapter_hash)
            self.base_fingerprint = self._loaded.base_fingerprint
            if self.on_load is not None:
                self.on_load(True)
        return self._loaded

    def __getattr__(self, name: str):
        if name in LazyModel._LOADED_ATTRS:
            return getattr(self.load(), name)
        raise AttributeError(name)
