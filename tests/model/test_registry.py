"""The registry of supported bases lists the real targets with what a user needs to choose."""

from codelens.model.registry import SUPPORTED_BASES, BaseModelInfo, base_info


def test_lists_the_real_targets_and_the_default():
    assert set(SUPPORTED_BASES) == {
        "codelens-nano",
        "deepseek-ai/deepseek-coder-1.3b-base",
        "Qwen/Qwen2.5-Coder-0.5B",
        "Qwen/Qwen2.5-Coder-1.5B",
        "bigcode/starcoder2-3b",
    }


def test_entries_are_complete():
    for name, info in SUPPORTED_BASES.items():
        assert isinstance(info, BaseModelInfo)
        assert info.architecture in {"llama", "qwen2", "starcoder2"}, name
        assert info.params and info.licence and info.notes, name


def test_lookup_ignores_case():
    assert base_info("qwen/qwen2.5-coder-0.5b") is SUPPORTED_BASES["Qwen/Qwen2.5-Coder-0.5B"]
    assert base_info("gpt2") is None
