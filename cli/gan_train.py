"""`hybrid gan-train`: adversarial (SeqGAN-style) training of a seq2seq, tagger or language model."""

from __future__ import annotations

import click

from cli.params import CONTROL_HELP, MODEL_DIR, device_option, echo_summary, nproc_option, run_options
from cli.policy_data import data_options, load_policy
from hybrid.config import CONTROLS, GANConfig

GAN = GANConfig()  # the defaults: the CLI and the Python API run the same experiment


@click.command("gan-train")
@click.option("--model", "model_dir", type=MODEL_DIR, required=True,
              help="Seq2seq, tagger, classifier or language model (hybrid lm-train) to start from.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: OUT/model (best by dev score), OUT/last, OUT/discriminator, steps.jsonl, "
                   "gan_curves.png, score.png.")
@click.option("--rollouts", type=click.IntRange(0), default=GAN.rollouts, show_default=True,
              help="Completions per prefix for SeqGAN's per-token rewards (not taggers); 0 = D's score of the "
                   "whole output for every token (N times cheaper).")
@click.option("--g-steps", type=click.IntRange(1), default=GAN.g_steps, show_default=True,
              help="Generator updates per round.")
@click.option("--d-steps", type=click.IntRange(1), default=GAN.d_steps, show_default=True,
              help="Discriminator updates per round.")
@click.option("--d-epochs", type=click.IntRange(1), default=GAN.d_epochs, show_default=True,
              help="Epochs over each d-step's pairs.")
@click.option("--d-samples", type=click.IntRange(1), default=GAN.d_samples, show_default=True,
              help="Training inputs per d-step: their references against one fresh output each.")
@click.option("--pretrain-d-steps", type=click.IntRange(0), default=GAN.pretrain_d_steps, show_default=True,
              help="d-steps before the first generator update.")
@click.option("--rounds", type=click.IntRange(1), default=GAN.rounds, show_default=True)
@click.option("--samples", type=click.IntRange(1), default=GAN.samples, show_default=True,
              help="Outputs per input in a g-step (>= 2: each is compared with the mean of the others).")
@click.option("--batch-size", type=click.IntRange(1), default=GAN.batch_size, show_default=True,
              help="Inputs per g-step (per process with --nproc).")
@click.option("--g-lr", type=click.FloatRange(0, min_open=True), default=GAN.g_lr, show_default=True)
@click.option("--d-lr", type=click.FloatRange(0, min_open=True), default=GAN.d_lr, show_default=True)
@click.option("--baseline", type=click.Choice(["mean", "none"]), default=GAN.baseline, show_default=True,
              help="Subtract the mean reward (of the other samples, or of the batch per position), or nothing.")
@click.option("--control", type=click.Choice(CONTROLS), default=GAN.control, show_default=True,
              help=CONTROL_HELP + " Per-sequence rewards only (--rollouts 0).")
@click.option("--mle-every", type=click.IntRange(0), default=GAN.mle_every, show_default=True,
              help="Add the references' cross-entropy every N g-steps (teacher forcing); 0 = never.")
@click.option("--task-reward", default=None,
              help="Mix a task reward into D's: bleu | chrf | ter | span-f1 | accuracy | module:function.")
@click.option("--task-weight", type=click.FloatRange(0, 1), default=GAN.task_weight, show_default=True,
              help="Reward = (1 - w) D + w task / 100.")
@click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True),
              default=GAN.label_smoothing, show_default=True,
              help="Real pairs are labelled 1 - this for D.")
@click.option("--mismatched/--no-mismatched", default=True, show_default=True,
              help="Train D on real outputs paired with another input as extra negatives.")
@click.option("--max-length", type=click.IntRange(1), default=GAN.max_length, show_default=True,
              help="Longest output sampled (seq2seq, language model).")
@click.option("--d-hidden", type=click.IntRange(1), default=64, show_default=True, help="D's RNN size.")
@click.option("--eval-every", type=click.IntRange(1), default=GAN.eval_every, show_default=True,
              help="Dev score every N rounds.")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Time budget.")
@click.option("--seed", type=int, default=GAN.seed, show_default=True)
@device_option
@data_options
@run_options
@nproc_option
def gan_train(model_dir, out_dir, rollouts, g_steps, d_steps, d_epochs, d_samples, pretrain_d_steps, rounds, samples,
              batch_size, g_lr, d_lr, baseline, control, mle_every, task_reward, task_weight, label_smoothing,
              mismatched, max_length, d_hidden, eval_every, max_minutes, seed, device, train_src, train_tgt, dev_src,
              dev_tgt, train_file, dev_file, resume, overwrite, quiet) -> None:
    """Fine-tune MODEL as the generator of a conditional GAN.

    A discriminator D learns to tell (input, reference) pairs from (input, model output)
    pairs; the model is trained by policy gradient to make D take its outputs for real,
    with the references' cross-entropy mixed in so that it stays a translator (or tagger).

    \b
    A translation model, per-sequence rewards:
        hybrid gan-train --model runs/de-en/model --out runs/de-en-gan \\
            --train-src train.de --train-tgt train.en --dev-src val.de --dev-tgt val.en
    SeqGAN's per-token rewards (4 rollouts), D's reward mixed with sentence BLEU:
        hybrid gan-train ... --rollouts 4 --samples 1 --task-reward bleu --task-weight 0.5
    A chunker:
        hybrid gan-train --model runs/chunker/model --out runs/chunker-gan --train train.txt --dev dev.txt
    An unconditional generator (D judges sentences alone; dev score: log-likelihood per token):
        hybrid gan-train --model runs/lm-en/model --out runs/lm-en-gan --train train.en --dev val.en \
            --rollouts 8 --samples 1
    With --nproc N each of N processes samples its share of every batch; one of them trains D.
    """
    from hybrid.config import GANConfig
    from hybrid.errors import ConfigError
    from hybrid.train.adversarial import adversarial_finetune, discriminator_for
    from hybrid.train.protocols import is_sequence_policy

    if task_weight > 0 and not task_reward:
        raise click.UsageError("--task-weight needs --task-reward")
    if control != "none" and rollouts > 0:
        raise click.UsageError("--control acts on one reward per sequence: it needs --rollouts 0")
    config = GANConfig(rounds=rounds, g_steps=g_steps, d_steps=d_steps, d_epochs=d_epochs, d_samples=d_samples,
                       rollouts=rollouts, batch_size=batch_size, g_lr=g_lr, d_lr=d_lr, baseline=baseline,
                       control=control, label_smoothing=label_smoothing, mismatched=mismatched, mle_every=mle_every,
                       pretrain_d_steps=pretrain_d_steps, eval_every=eval_every, max_minutes=max_minutes, seed=seed,
                       samples=samples, task_reward=task_reward, task_weight=task_weight, max_length=max_length)
    policy, train, dev = load_policy(model_dir, train_src, train_tgt, dev_src, dev_tgt, train_file, dev_file,
                                     "adversarial training", device=device)
    if rollouts > 0 and not is_sequence_policy(policy):
        raise click.UsageError("--rollouts needs a model that generates left to right (seq2seq, language "
                               "model); taggers take --rollouts 0")
    try:
        d = discriminator_for(policy, hidden_size=d_hidden).to(next(policy.model.parameters()).device)
    except ConfigError as exc:  # pragma: no cover - sizes come from a loaded model
        raise click.UsageError(str(exc)) from None
    summary = adversarial_finetune(policy, d, train, dev, config, out_dir, resume=resume, overwrite=overwrite,
                                   progress=not quiet, log=click.echo)
    echo_summary(summary)
