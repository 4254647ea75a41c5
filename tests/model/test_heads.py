"""The defect head's inputs of a left-padded batch: one construction for scanning, evaluation and training."""

from __future__ import annotations

import torch

from codelens.model.heads import defect_inputs
from codelens.model.prompt import Prompt


def test_defect_inputs_follow_each_rows_left_padding():
    # "a = a" in three tokens after one prompt token; "b" alone after two: the second row is padded by 2.
    long = Prompt([1, 10, 11, 12], 1, [(0, 1), (2, 3), (4, 5)])
    short = Prompt([1, 2, 13], 2, [(0, 1)])
    inputs = defect_inputs(["a = a", "b"], [long, short], 4, torch.device("cpu"))

    assert inputs.starts == [1, 3]
    assert inputs.code_mask.tolist() == [[0, 1, 1, 1], [0, 0, 0, 1]]
    # the two tokens of the name `a` (code tokens 0 and 2) are related, at batch positions 1 and 3
    assert sorted(inputs.relations[0]) == [(1, 1, 3), (1, 3, 1)]
    assert inputs.relations[1] == []
