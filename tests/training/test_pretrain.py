import json
import sysconfig
from pathlib import Path

import pytest

from training.corpus import CorpusPackage
from training.pretrain import PretrainConfig, lr_at, parse_args, prepare_data, train

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def tiny_config(tmp: Path, name: str, **over) -> PretrainConfig:
    base = dict(out=str(tmp / name), data_dir=str(tmp / "data"), vocab_size=320, seq_len=32, batch_size=4,
                d_model=32, n_layers=2, n_heads=2, lr=3e-3, min_lr=3e-4, warmup_steps=2, minutes=0, max_tokens=20 * 4 * 32,
                eval_every=10, eval_batches=2, log_every=1, ckpt_minutes=100, threads=1, seed=7)
    return PretrainConfig(**{**base, **over})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pretrain")
    packages = [
        CorpusPackage("stdlib/json", STDLIB, sorted((STDLIB / "json").glob("*.py")), "PSF-2.0", "train"),
        CorpusPackage("stdlib/textwrap", STDLIB, [STDLIB / "textwrap.py"], "PSF-2.0", "train"),
        CorpusPackage("stdlib/colorsys", STDLIB, [STDLIB / "colorsys.py"], "PSF-2.0", "val"),
    ]
    prepare_data(tiny_config(tmp, "unused"), packages)
    return tmp


def read_log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_data_files(workdir):
    import numpy as np

    meta = json.loads((workdir / "data" / "meta.json").read_text())
    train_ids = np.fromfile(workdir / "data" / "train.bin", dtype=np.uint16)
    assert meta["tokens"]["train"] == train_ids.size > 1000
    assert train_ids[0] == 0 and int(train_ids.max()) < 320  # starts with <|bos|>, ids fit the vocabulary
    n_train_files = len(list((STDLIB / "json").glob("*.py"))) + 1  # json package + textwrap.py
    assert (train_ids == 0).sum() == (train_ids == 1).sum() == n_train_files  # <|bos|> file <|eos|>
    manifest = json.loads((workdir / "data" / "manifest.json").read_text())
    assert [m["split"] for m in manifest] == ["train", "train", "val"]


def test_loss_decreases_and_export_loads(workdir):
    cfg = tiny_config(workdir, "full", export=str(workdir / "export"))
    state = train(cfg)
    rows = read_log(Path(cfg.out))
    assert [r["step"] for r in rows] == list(range(1, 21))
    assert state["step"] == 20 and state["tokens"] == 20 * 128
    first = sum(r["train_loss"] for r in rows[:3]) / 3
    last = sum(r["train_loss"] for r in rows[-3:]) / 3
    assert last < first - 0.5
    assert [r["step"] for r in rows if "val_loss" in r] == [10, 20]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = workdir / "export"
    assert (folder / "model.safetensors").exists() and not list(folder.glob("*.bin"))
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert model.config.tie_word_embeddings and model.config.vocab_size == 320
    ids = tok("def f(x):\n    return x\n", return_tensors="pt", add_special_tokens=False)["input_ids"]
    out = model.generate(ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 3
    assert json.loads((folder / "pretraining.json").read_text())["steps"] == 20
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_resume_continues_exactly(workdir):
    full = train(tiny_config(workdir, "ref"))
    cut = tiny_config(workdir, "cut", stop_at_step=10)
    half = train(cut)
    assert half["step"] == 10 and (Path(cut.out) / "ckpt.pt").exists()
    resumed = train(tiny_config(workdir, "cut"), resume=True)
    assert resumed["step"] == full["step"] == 20
    ref = {r["step"]: r["train_loss"] for r in read_log(workdir / "ref")}
    got = {r["step"]: r["train_loss"] for r in read_log(workdir / "cut")}
    assert got == ref
    assert resumed["val_loss"] == full["val_loss"]


def test_schedule_and_cli():
    cfg = PretrainConfig(lr=1e-3, min_lr=1e-4, warmup_steps=10)
    assert lr_at(0, 100, cfg) == pytest.approx(1e-4)
    assert lr_at(9, 100, cfg) == pytest.approx(1e-3)
    assert lr_at(55, 100, cfg) == pytest.approx(5.5e-4)
    assert lr_at(100, 100, cfg) == pytest.approx(1e-4)
    parsed, resume, export_only = parse_args(["--out", "x", "--d-model", "256", "--minutes", "2.5", "--bf16", "false",
                                              "--resume"])
    assert (parsed.out, parsed.d_model, parsed.minutes, parsed.bf16, resume, export_only) == (
        "x", 256, 2.5, False, True, "")


def test_bad_configs_are_config_errors(tmp_path):
    from codelens.errors import ConfigError

    with pytest.raises(ConfigError, match="no budget"):
        PretrainConfig(minutes=0, max_tokens=0)
    with pytest.raises(ConfigError, match="multiple of n_heads"):
        PretrainConfig(d_model=100, n_heads=3)
    with pytest.raises(ConfigError, match="no run to resume"):
        train(PretrainConfig(out=str(tmp_path / "nothing")), resume=True)


def test_help_lists_field_docstrings(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Training window; covers the 384-token code cut" in text
    assert "Wall-clock budget of training" in text
