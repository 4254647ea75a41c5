import json

import pytest

from training.tokenizer import BOS, EOS, PAD, save_tokenizer, train_tokenizer

SAMPLES = [
    "def add(a, b):\n    return a + b\n",
    "class Box:\n\tdef __init__(self):\n\t\tself.items = []\n\n\n\tdef put(self, x):\n\t\tself.items.append(x)\n",
    "if x:\n        deeply = {'k': [1, 2, 3]}\n\n    # comment   \r\n    pass\n",
    'name = "caf\u00e9 \u2603 \u4e2d\u6587 \U0001f600"\n',
]
TRICKY = [
    "def f(x):\n\tif x:\n\t\treturn x  \n\n\n    else:\n        return None\n",
    "        eight = 8\n    four = 4\n\t\ttabs\t\there\n\n\n\n",
    "s = 'na\u00efve \u00fcber \u2603 \u4e2d\u6587 \U0001f600'  # unicode\r\n",
    "a . b , c ; d ( e ) ' f ' n't \n",
    "",
    "   ",
    "\n",
]


@pytest.fixture(scope="module")
def tok_folder(tmp_path_factory):
    tok = train_tokenizer(SAMPLES * 20, vocab_size=400)
    folder = tmp_path_factory.mktemp("tok")
    save_tokenizer(tok, folder)
    return folder


def test_special_tokens_and_files(tok_folder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_folder))
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == (BOS, EOS, PAD)
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (0, 1, 2)
    assert {p.name for p in tok_folder.iterdir()} >= {"tokenizer.json", "tokenizer_config.json"}
    config = json.loads((tok_folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # loadable by transformers 4 and 5
    assert config["clean_up_tokenization_spaces"] is False and "is_local" not in config
    # Special tokens are atomic when they appear in text.
    assert tok.encode(BOS + "x" + EOS, add_special_tokens=False)[0] == 0
    assert tok.encode(BOS + "x" + EOS, add_special_tokens=False)[-1] == 1


@pytest.mark.parametrize("text", TRICKY)
def test_round_trip_is_exact(tok_folder, text):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_folder))
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_bpe_learns_indentation_and_keywords(tok_folder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_folder))
    vocab = tok.get_vocab()
    assert "Ġreturn" in vocab  # " return"
    assert len(tok.encode("    return a + b\n", add_special_tokens=False)) < len("    return a + b\n") / 2
