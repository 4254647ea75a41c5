"""The model layer: base model + one multi-task LoRA adapter + small task heads."""
