"""`hybrid rl-finetune`: REINFORCE fine-tuning of a seq2seq, tagger, classifier or language model on a reward."""

from __future__ import annotations

import click

from cli.params import CONTROL_HELP, MODEL_DIR, device_option, echo_summary, nproc_option, run_options
from cli.policy_data import data_options, load_policy
from hybrid.config import CONTROLS, ReinforceConfig

RL = ReinforceConfig()  # the defaults: the CLI and the Python API run the same experiment


@click.command("rl-finetune")
@click.option("--model", "model_dir", type=MODEL_DIR, required=True,
              help="Seq2seq, tagger, classifier or language model to start from.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Run directory: the best model by dev score goes to OUT/model; steps.jsonl, "
                   "train_log.jsonl, curves.png.")
@click.option("--reward", default=RL.reward, show_default=True,
              help="bleu | chrf | ter | span-f1 | accuracy | module:function (a callable "
                   "f(hypotheses, references, sources) -> floats).")
@click.option("--baseline", type=click.Choice(["self-critical", "mean", "ema"]), default=RL.baseline,
              show_default=True,
              help="Greedy output's reward (SCST), leave-one-out mean of the samples, or a running mean.")
@click.option("--control", type=click.Choice(CONTROLS), default=RL.control, show_default=True, help=CONTROL_HELP)
@click.option("--samples", type=click.IntRange(1), default=RL.samples, show_default=True, help="Samples per input.")
@click.option("--steps", type=click.IntRange(1), default=RL.steps, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=RL.batch_size, show_default=True,
              help="Inputs per step (per process with --nproc).")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=RL.lr, show_default=True)
@click.option("--mle-weight", type=click.FloatRange(0), default=RL.mle_weight, show_default=True,
              help="Weight of the cross-entropy on the references, mixed in (MIXER-style).")
@click.option("--entropy-weight", type=click.FloatRange(0), default=RL.entropy_weight, show_default=True,
              help="Entropy bonus.")
@click.option("--kl-weight", type=click.FloatRange(0), default=RL.kl_weight, show_default=True,
              help="Penalty on log p - log p_start (KL to the starting model).")
@click.option("--eval-every", type=click.IntRange(1), default=RL.eval_every, show_default=True,
              help="Dev score every N steps.")
@click.option("--max-minutes", type=click.FloatRange(0, min_open=True), default=None, help="Time budget.")
@click.option("--seed", type=int, default=RL.seed, show_default=True)
@device_option
@data_options
@run_options
@nproc_option
def rl_finetune(model_dir, out_dir, reward, baseline, control, samples, steps, batch_size, lr, mle_weight,
                entropy_weight, kl_weight, eval_every, max_minutes, seed, device, train_src, train_tgt, dev_src,
                dev_tgt, train_file, dev_file, resume, overwrite, quiet) -> None:
    """Fine-tune MODEL with REINFORCE on a sequence-level reward.

    \b
    A translation model on sentence BLEU, self-critical baseline:
        hybrid rl-finetune --model runs/de-en/model --out runs/de-en-rl --reward bleu \\
            --train-src train.de --train-tgt train.en --dev-src val.de --dev-tgt val.en
    A chunker on span F1:
        hybrid rl-finetune --model runs/chunker/model --out runs/chunker-rl --reward span-f1 \\
            --baseline mean --train train.txt --dev dev.txt
    A sentence classifier on the accuracy of its sampled label (or any module:function reward):
        hybrid rl-finetune --model runs/sst2/model --out runs/sst2-rl --reward accuracy \\
            --baseline mean --train train.tsv --dev dev.tsv
    With --nproc N each of N processes samples the rollouts of its share of the inputs.
    """
    from hybrid.config import ReinforceConfig
    from hybrid.rewards import load_reward
    from hybrid.train.reinforce import reinforce

    config = ReinforceConfig(reward=reward, baseline=baseline, control=control, samples=samples, steps=steps,
                             batch_size=batch_size, lr=lr, mle_weight=mle_weight, entropy_weight=entropy_weight,
                             kl_weight=kl_weight, eval_every=eval_every, max_minutes=max_minutes, seed=seed)
    scorer = load_reward(reward)
    policy, train, dev = load_policy(model_dir, train_src, train_tgt, dev_src, dev_tgt, train_file, dev_file,
                                     device=device)
    summary = reinforce(policy, config, train, dev, out_dir, resume=resume, overwrite=overwrite,
                        progress=not quiet, log=click.echo, reward=scorer)
    echo_summary(summary)
