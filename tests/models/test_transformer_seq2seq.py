"""The Transformer seq2seq model behind the decoding protocol: cached incremental decoding equals
full recomputation, beam 1 is greedy, padding has no influence, save/load is exact, and the
decoders, policies, REINFORCE, the adversarial trainer and the environment drive it unchanged."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from cli.main import cli
from hybrid.config import ConfigError, Seq2SeqConfig, Seq2SeqModelConfig
from hybrid.data.pairs import Pair
from hybrid.data.parallel import Seq2SeqBatch, Seq2SeqVocabs
from hybrid.decoding import beam_search, greedy, sample
from hybrid.models.evaluation import translate
from hybrid.models.seq2seq import score_sequences
from hybrid.models.seq2seq_io import load_seq2seq, save_seq2seq
from hybrid.models.transformer_seq2seq import TransformerSeq2Seq
from hybrid.train.policies import Seq2SeqPolicy
from hybrid.train.seq2seq import inverse_sqrt
from tests.seq2seq_tiny import random_pairs, tiny_transformer, write_parallel_files

PAIRS = random_pairs(30, seed=5)
VOCABS = Seq2SeqVocabs.build(PAIRS, 1, 1)
SPECIAL = {"bos": VOCABS.bos, "eos": VOCABS.eos, "pad": VOCABS.target.pad_index}


def _memory(model, pairs=PAIRS[:10]):
    batch = VOCABS.encode(pairs, with_targets=False)
    return model.encode(batch.src, batch.src_mask), batch


@pytest.mark.parametrize("seed", range(4))
def test_cached_steps_give_the_log_probabilities_of_a_full_recomputation(seed):
    model = tiny_transformer(VOCABS, seed, scale=2.0).double()  # float64: the algorithm's error, not rounding
    batch = VOCABS.encode(PAIRS[:8])
    with torch.no_grad():
        full = torch.log_softmax(model(batch)[0], -1)  # (B, T, V): all positions at once
        memory = model.encode(batch.src, batch.src_mask)
        state = model.start(memory)
        for t in range(batch.tgt_in.shape[1]):
            logits, state, _ = model.step(memory, state, batch.tgt_in[:, t])
            real = batch.tgt_mask[:, t]
            torch.testing.assert_close(torch.log_softmax(logits, -1)[real], full[real, t], rtol=0, atol=1e-5)
        assert state.position == batch.tgt_in.shape[1]


@pytest.mark.parametrize("seed", range(4))
def test_beam_one_is_greedy_and_scores_are_the_models_log_probability(seed):
    model = tiny_transformer(VOCABS, seed, scale=3.0)
    with torch.no_grad():
        memory, batch = _memory(model)
        g = greedy(model, memory, max_length=9, **SPECIAL)
        b = beam_search(model, memory, beam=1, max_length=9, **SPECIAL)
        assert torch.equal(g.tokens, b.tokens) and torch.equal(g.scores, b.scores)
        for out in (g, beam_search(model, memory, beam=3, max_length=9, **SPECIAL),
                    sample(model, memory, max_length=9, generator=torch.Generator().manual_seed(seed), **SPECIAL)):
            scored = score_sequences(model, batch.src, batch.src_mask, out.tokens, out.mask, VOCABS.bos)[0]
            torch.testing.assert_close(out.scores, scored, rtol=1e-5, atol=1e-5)


def test_a_padded_batch_decodes_each_sentence_as_alone_and_padding_ids_have_no_influence():
    model = tiny_transformer(VOCABS, 7, scale=3.0)
    sources = [p.inputs for p in PAIRS[:10]]
    together = translate(model, sources, batch_size=10, max_length=10)  # below every batch's length limit
    assert together == [translate(model, [s], batch_size=1, max_length=10)[0] for s in sources]
    memory, batch = _memory(model)
    out = greedy(model, memory, max_length=9, **SPECIAL)
    scrambled = batch.src.masked_fill(~batch.src_mask, 3)  # another word under the mask
    memory2 = model.encode(scrambled, batch.src_mask)
    again = greedy(model, memory2, max_length=9, **SPECIAL)
    assert torch.equal(out.tokens, again.tokens)
    torch.testing.assert_close(out.scores, again.scores)


def test_attention_weights_of_step_and_forward_agree_and_skip_padding():
    model = tiny_transformer(VOCABS, 2)
    batch = VOCABS.encode(PAIRS[:6])
    with torch.no_grad():
        _, attention = model(batch, with_attention=True)  # (B, T, S)
        memory = model.encode(batch.src, batch.src_mask)
        state = model.start(memory)
        for t in range(3):
            _, state, weights = model.step(memory, state, batch.tgt_in[:, t])
            torch.testing.assert_close(weights, attention[:, t], rtol=1e-5, atol=1e-6)
    assert bool((attention.masked_select(~batch.src_mask.unsqueeze(1)) == 0).all())
    torch.testing.assert_close(attention.sum(-1), torch.ones(attention.shape[:2]))
    model.attention_head = 1
    with torch.no_grad():
        one_head = model(batch, with_attention=True)[1]
    assert not torch.allclose(one_head, attention)


def test_save_and_load_are_exact_and_the_config_is_checked(tmp_path):
    model = tiny_transformer(VOCABS, 3, scale=2.0, summary="attention", bottleneck=True)
    save_seq2seq(model, tmp_path / "m", Seq2SeqConfig(model=model.config))
    loaded = load_seq2seq(tmp_path / "m")
    assert isinstance(loaded, TransformerSeq2Seq)
    sources = [p.inputs for p in PAIRS]
    assert translate(model, sources, beam=3) == translate(loaded, sources, beam=3)
    batch = VOCABS.encode(PAIRS)
    with torch.no_grad():
        assert torch.equal(model.log_prob(batch), loaded.log_prob(batch))
    assert torch.equal(model.summarize(batch.src, batch.src_mask), loaded.summarize(batch.src, batch.src_mask))
    with pytest.raises(ConfigError, match="multiple of its heads"):
        Seq2SeqModelConfig(arch="transformer", embedding_dim=10, heads=4)
    with pytest.raises(ConfigError, match="attention pooling of a transformer's summary is learned only"):
        Seq2SeqModelConfig(arch="transformer", summary="attention")
    with pytest.raises(ConfigError, match="scheduled sampling"):
        model.loss(batch, feed_own=0.5)


def test_a_bottleneck_transformer_sees_the_source_only_through_its_summary():
    model = tiny_transformer(VOCABS, 4, scale=2.0, bottleneck=True)
    memory, _ = _memory(model)
    assert memory.values.shape == (10, 1, 8) and bool(memory.mask.all())
    fixed = torch.randn(1, 8)
    model.summary.forward = lambda states, mask: fixed.expand(states.shape[0], -1)  # type: ignore[method-assign]
    batch = VOCABS.encode(PAIRS[:6])
    other = VOCABS.encode([Pair(tuple(reversed(p.inputs)) + p.inputs, p.labels) for p in PAIRS[:6]])
    with torch.no_grad():
        logits = model(batch)[0]
        other_logits = model(Seq2SeqBatch(other.src, other.src_mask, batch.tgt_in, batch.tgt_out, batch.tgt_mask))[0]
    torch.testing.assert_close(logits, other_logits)


def test_the_policy_scores_its_samples_as_the_steps_did():
    model = tiny_transformer(VOCABS, 6, scale=2.0)
    policy = Seq2SeqPolicy(model)
    rollout = policy.sample(PAIRS[:4], 3, generator=torch.Generator().manual_seed(0), max_length=8)
    logp, entropy = policy.score(rollout)
    assert logp.shape == (12,) and bool((logp < 0).all()) and bool((entropy > 0).all())
    logp.sum().backward()
    assert model.tgt_embedding.weight.grad is not None


def test_the_warmup_schedule_rises_then_falls_as_inverse_sqrt():
    assert inverse_sqrt(1, 100) == pytest.approx(0.01)
    assert inverse_sqrt(100, 100) == pytest.approx(1.0)
    assert inverse_sqrt(400, 100) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = write_parallel_files(tmp_path_factory.mktemp("transformer"), {"train": 40, "dev": 8})
    args = ["seq2seq", "train", "--arch", "transformer", "--train-src", str(folder / "train.src"), "--train-tgt",
            str(folder / "train.tgt"), "--dev-src", str(folder / "dev.src"), "--dev-tgt", str(folder / "dev.tgt"),
            "--out", str(folder / "run"), "--embedding-dim", "16", "--heads", "2", "--transformer-layers", "2",
            "--min-freq", "1", "--epochs", "2", "--warmup-steps", "4", "-q"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return folder


def test_train_generate_plot_and_info_through_the_cli(trained, tmp_path):
    runner = CliRunner()
    model = str(trained / "run" / "model")
    log = [json.loads(line) for line in (trained / "run" / "train_log.jsonl").read_text().splitlines()]
    assert len(log) == 2
    out = runner.invoke(cli, ["generate", "--model", model, "--beam", "3", "--attention-plot", str(tmp_path / "a.png")],
                        input="w1 w2 w3\nw4\n")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "a.png").stat().st_size > 0
    info = runner.invoke(cli, ["info", model])
    assert "encoder    transformer, 2 layer(s), width 16, 2 heads" in info.output
    one_head = runner.invoke(cli, ["generate", "--model", model, "--attention-plot", str(tmp_path / "h.png"),
                                   "--attention-layer", "0", "--attention-head", "1"], input="w1 w2\n")
    assert one_head.exit_code == 0 and (tmp_path / "h.png").stat().st_size > 0
    for bad, message in ((["--attention-layer", "2"], "has 2 decoder layers"), (["--attention-head", "2"], "2 heads")):
        refused = runner.invoke(cli, ["generate", "--model", model, *bad], input="w1\n")
        assert refused.exit_code == 2 and message in refused.output
    vectors = runner.invoke(cli, ["encode", "--model", model], input="w1 w2\n")
    assert vectors.exit_code == 0 and len(vectors.output.split()) == 16


def test_rl_finetune_and_gan_train_drive_the_transformer(trained):
    files = ["--train-src", str(trained / "train.src"), "--train-tgt", str(trained / "train.tgt"),
             "--dev-src", str(trained / "dev.src"), "--dev-tgt", str(trained / "dev.tgt")]
    model = str(trained / "run" / "model")
    rl = CliRunner().invoke(cli, ["rl-finetune", "--model", model, "--out", str(trained / "rl"), "--steps", "3",
                                  "--eval-every", "3", "--batch-size", "4", "--control", "shuffled", "-q", *files])
    assert rl.exit_code == 0, rl.output
    assert json.loads((trained / "rl" / "rl_config.json").read_text())["control"] == "shuffled"
    refused = CliRunner().invoke(cli, ["gan-train", "--model", model, "--out", str(trained / "x"), "--rollouts", "2",
                                       "--control", "constant", *files])
    assert refused.exit_code == 2 and "needs --rollouts 0" in refused.output
    gan = CliRunner().invoke(cli, ["gan-train", "--model", model, "--out", str(trained / "gan"), "--rounds", "1",
                                   "--eval-every", "1", "--g-steps", "1", "--d-samples", "8", "--batch-size", "4",
                                   "--pretrain-d-steps", "1", "-q", *files])
    assert gan.exit_code == 0, gan.output
    for run in ("rl", "gan"):
        assert json.loads((trained / run / "summary.json").read_text())["steps_run"] >= 1


def test_an_outside_agent_plays_the_generation_environment_with_a_transformer():
    """The agent reads the observation's source ids, feeds the model one token at a time
    (its cached steps), and the episode's reward is the sentence BLEU of what it wrote."""
    from hybrid.envs import GenerationEnv
    from hybrid.rewards import SentenceBLEU

    model = tiny_transformer(VOCABS, 8, scale=3.0)
    env = GenerationEnv(PAIRS, VOCABS, max_length=8)
    obs, info = env.reset(seed=0, options={"index": 3})
    n = int(obs["source_length"])
    src = torch.as_tensor(obs["source"][:n]).unsqueeze(0)
    with torch.no_grad():
        memory = model.encode(src, src != 0)
        state, token, done, reward = model.start(memory), torch.tensor([VOCABS.bos]), False, 0.0
        while not done:
            logits, state, _ = model.step(memory, state, token)
            token = logits.argmax(-1)
            obs, reward, terminated, truncated, step_info = env.step(int(token))
            done = terminated or truncated
    expected = translate(model, [PAIRS[3].inputs], max_length=8)[0]
    assert step_info["output"] == expected
    assert reward == SentenceBLEU()([expected], [list(PAIRS[3].labels)], [list(PAIRS[3].inputs)])[0]
