"""codelens: static analysis with one small code model and one multi-task LoRA adapter."""

__version__ = "0.1.0"
