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


@pytest.mark.slow
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
    cfg = PretrainConfig(lr=1e-3, min_lr=1e-4, warmup_steps=10, schedule="cosine")
    assert lr_at(0, 100, cfg) == pytest.approx(1e-4)
    assert lr_at(9, 100, cfg) == pytest.approx(1e-3)
    assert lr_at(55, 100, cfg) == pytest.approx(5.5e-4)
    assert lr_at(100, 100, cfg) == pytest.approx(1e-4)
    wsd = PretrainConfig(lr=1e-3, min_lr=1e-4, warmup_steps=10, decay_frac=0.2)  # the default schedule
    assert lr_at(9, 100, wsd) == pytest.approx(1e-3)
    assert lr_at(50, 100, wsd) == lr_at(80, 100, wsd) == pytest.approx(1e-3)  # stable until the last 20 steps
    assert lr_at(90, 100, wsd) == pytest.approx(5.5e-4)
    assert lr_at(100, 100, wsd) == pytest.approx(1e-4)
    # a longer budget moves the decay: a run resumed with more tokens is still at its peak at step 90
    assert lr_at(90, 200, wsd) == pytest.approx(1e-3)
    parsed, resume, export_only = parse_args(["--out", "x", "--d-model", "256", "--minutes", "2.5", "--dtype",
                                              "float32", "--compile", "true", "--resume"])
    assert (parsed.out, parsed.d_model, parsed.minutes, parsed.dtype, parsed.compile, resume, export_only) == (
        "x", 256, 2.5, "float32", True, True, "")


def test_batches_are_a_pure_function_of_the_index(workdir):
    """Made ahead in a thread or one by one, from the start or from index 5: the same stream."""
    from training.tokens import TokenBatches

    path = workdir / "data" / "train.bin"
    ahead = TokenBatches(path, 16, 3, seed=11, ahead=2)
    try:
        streamed = [ahead.next() for _ in range(8)]
    finally:
        ahead.close()
    later = TokenBatches(path, 16, 3, seed=11, next_index=5)
    for index in range(5, 8):
        x, y = later.next()
        assert x.equal(streamed[index][0]) and y.equal(streamed[index][1])
    x, y = streamed[0]
    assert x.shape == (3, 16) and x[:, 1:].equal(y[:, :-1])  # targets are the inputs shifted by one


def test_accumulation_and_throughput_log(workdir):
    """Two micro-batches of 2 per step see as many tokens as one batch of 4; every row reports GFLOP/s
    against the matmul ceiling measured in the same run."""
    cfg = tiny_config(workdir, "accum", batch_size=2, accum=2, max_tokens=6 * 4 * 32)
    state = train(cfg)
    rows = read_log(Path(cfg.out))
    assert state["step"] == 6 and state["tokens"] == 6 * 4 * 32
    assert all(r["gflops"] > 0 and 0 < r["ceiling_ratio"] for r in rows)
    assert state["ceiling_gflops"] > 0


def test_init_from_exported_weights_and_mismatch(workdir):
    """A run can start from exported weights of the same shape (continuing a shipped base); a folder of
    another shape is a ConfigError, not a silent partial load."""
    import torch

    from codelens.errors import ConfigError
    from training.pretrain import build_model, load_weights

    cfg = tiny_config(workdir, "src", max_tokens=3 * 4 * 32, export=str(workdir / "src-export"))
    train(cfg)
    model = build_model(tiny_config(workdir, "dst", seed=99))
    load_weights(model, str(workdir / "src-export"))
    exported = build_model(cfg)
    load_weights(exported, str(workdir / "src-export"))
    assert torch.equal(model.model.embed_tokens.weight, exported.model.embed_tokens.weight)
    continued = train(tiny_config(workdir, "cont", max_tokens=2 * 4 * 32, init_from=str(workdir / "src-export")))
    assert continued["init_from"] == str(workdir / "src-export")
    with pytest.raises(ConfigError, match="does not match"):
        load_weights(build_model(tiny_config(workdir, "big", d_model=64)), str(workdir / "src-export"))


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


@pytest.mark.slow
def test_branch_extends_a_wsd_run_from_its_stable_phase(workdir):
    """A 20-step wsd run decays over its last 4 steps; branched at step 16 to 30 steps, it goes on exactly as a
    30-step run from scratch would (same batches, same peak learning rate) until that run's own decay."""
    from training.pretrain import STABLE_CHECKPOINT, branch

    short = tiny_config(workdir, "short", decay_frac=0.2)
    train(short)
    assert (Path(short.out) / STABLE_CHECKPOINT).is_file()
    longer = branch(Path(short.out), workdir / "longer", max_tokens=30 * 4 * 32)
    state = train(longer, resume=True)
    assert state["step"] == 30
    scratch = train(tiny_config(workdir, "scratch30", decay_frac=0.2, max_tokens=30 * 4 * 32))
    assert scratch["step"] == 30
    got = {r["step"]: r["train_loss"] for r in read_log(workdir / "longer")}
    ref = {r["step"]: r["train_loss"] for r in read_log(workdir / "scratch30")}
    assert [got[s] for s in range(1, 25)] == [ref[s] for s in range(1, 25)]
