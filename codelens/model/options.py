"""Which model runs and how: ``ModelOptions``, the one declaration of the model settings that `codelens scan`,
`codelens train` and `codelens eval` share (their options and help come from its fields), and ``ModelSpec``,
what ``codelens.model.loading`` loads (the options plus the adapter).

``ScanConfig`` and ``TrainConfig`` extend ``ModelOptions``, so a model setting is named, typed, checked and
described once.
"""

from __future__ import annotations

from dataclasses import dataclass

from codelens.choices import Dtype, Quantize, check_device, choice
from codelens.errors import CodelensError, ConfigError, ModelError


@dataclass
class ModelOptions:
    """The base model and how it runs: device, precision, quantisation, remote-code trust."""

    model: str | None = None
    """Base model: a local folder or a Hugging Face hub id (default: the embedded model, codelens-small where
    installed, else codelens-nano)."""
    device: str = "auto"
    """auto, cpu, cuda or cuda:N."""
    quantize: Quantize = Quantize.NONE
    """Weight quantisation through bitsandbytes: none, int8 or nf4."""
    dtype: Dtype = Dtype.AUTO
    """Compute dtype: auto (bf16 where the hardware supports it), float32, bfloat16, float16."""
    trust_remote_code: bool = False
    """Allow a hub model's own Python code to run; off unless you trust the model's authors."""

    def check_model_options(self, error: type[CodelensError] = ConfigError) -> None:
        """Turn the choices into their Enums, raising ``error`` (naming the setting and what is allowed) for
        a value that is not one."""
        self.device = check_device("device", self.device, error)
        self.quantize = choice(Quantize, "quantize", self.quantize, error)
        self.dtype = choice(Dtype, "dtype", self.dtype, error)

    def __post_init__(self) -> None:
        self.check_model_options()


@dataclass
class ModelSpec(ModelOptions):
    """Which model to load and how (``codelens.model.loading.load_model``)."""

    adapter: str | None = None
    """Adapter folder written by `codelens train`. None = the embedded default's adapter; with ``model``
    None too, the default's base, and with ``adapter`` alone the base recorded in its codelens.json."""
    merge: bool = True
    """Fold the LoRA into the base's weights at load time (inference only; not possible for int8 /
    nf4 bases, whose layers keep the adapter beside them). Off leaves a peft.PeftModel, which can
    switch the adapter off."""

    def __post_init__(self) -> None:
        self.check_model_options(ModelError)

    @classmethod
    def of(cls, options: ModelOptions, adapter: str | None = None, **overrides) -> "ModelSpec":
        """The spec of ``options`` (a ``ScanConfig``, a ``TrainConfig``) with ``adapter``."""
        return cls(model=options.model, device=options.device, quantize=options.quantize, dtype=options.dtype,
                   trust_remote_code=options.trust_remote_code, adapter=adapter, **overrides)
