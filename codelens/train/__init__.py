"""What `codelens train` and `codelens eval` need: task data, batches, the trainer (alone or data-parallel),
checkpoints, evaluation.

Imported only by those two commands (lazily): the scan path never loads it. Their settings, ``TrainConfig``,
live outside it in ``codelens/train_config.py``, which the CLI reads to build the options of `codelens train`.
The recipes that built the shipped models (corpus, tokenizer, pretraining, the GPU build) live in the
repository's ``training/`` folder, which the wheel does not ship.
"""
