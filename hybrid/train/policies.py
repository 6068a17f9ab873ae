"""Policies for the sequence-level trainers: models behind the protocols of
hybrid.train.protocols (Policy, AdversarialPolicy, SequencePolicy).

`Seq2SeqPolicy` wraps a generator, `TaggerPolicy` a tagger (exact samples of its chain),
`ClassifierPolicy` a sequence classifier (one sampled label per sentence),
`LanguageModelPolicy` an unconditional generator over words, `FixedLengthLMPolicy` one over
ids with sequences of a fixed length (SeqGAN's synthetic oracle setting). Sampling and scoring
run without dropout (eval mode), so the gradient is that of the very distribution the samples
came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hybrid.config import ClassifierConfig, Seq2SeqConfig, TaggerConfig
from hybrid.data.pairs import Pair
from hybrid.decoding import greedy, sample
from hybrid.decoding.rollouts import Judge, mc_rollout_rewards
from hybrid.decoding.search import SpecialIds
from hybrid.errors import ConfigError
from hybrid.models.classifier import SequenceClassifier
from hybrid.models.classifier_io import save_classifier
from hybrid.models.discriminator import Judged
from hybrid.models.evaluation import bleu_of, dev_metric, evaluate
from hybrid.models.io import save_tagger
from hybrid.models.language_model import EmptyMemory, LanguageModel
from hybrid.models.language_model_io import TextLanguageModel, save_language_model
from hybrid.models.seq2seq import EncoderDecoder, repeat_sources, score_sequences, score_tokens
from hybrid.models.seq2seq_io import save_seq2seq
from hybrid.models.tagger import Tagger
from hybrid.train.classification import evaluate_classifier
from hybrid.train.protocols import Rollout


@dataclass
class _Generated:
    tokens: Tensor  # (N, L)
    mask: Tensor  # (N, L)
    src: Tensor  # (N, S)
    src_mask: Tensor  # (N, S)


class Seq2SeqPolicy:
    """A seq2seq model as a policy over target sentences; inputs are Pairs (source, reference)."""

    def __init__(self, model: EncoderDecoder):
        self.model = model
        self.vocabs = model.vocabs
        self.special: SpecialIds = {"bos": self.vocabs.bos, "eos": self.vocabs.eos,
                                    "pad": self.vocabs.target.pad_index}

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _encode(self, inputs: list[Pair], with_targets: bool = False):
        return self.vocabs.encode(inputs, with_targets=with_targets).to(self.device)

    def _outputs(self, tokens: Tensor) -> list[list[str]]:
        return [self.vocabs.decode(row) for row in tokens.tolist()]

    def sample(self, inputs: list[Pair], n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               max_length: int = 100) -> Rollout:
        self.model.eval()
        batch = self._encode(inputs)
        src, src_mask = repeat_sources(batch.src, batch.src_mask, n)
        with torch.no_grad():
            memory = self.model.encode(src, src_mask)
            out = sample(self.model, memory, max_length=max_length, temperature=temperature, generator=generator,
                         **self.special)
        return Rollout(self._outputs(out.tokens), _Generated(out.tokens, out.mask, src, src_mask))

    def greedy(self, inputs: list[Pair], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        batch = self._encode(inputs)
        with torch.no_grad():
            out = greedy(self.model, self.model.encode(batch.src, batch.src_mask), max_length=max_length,
                         **self.special)
        return self._outputs(out.tokens)

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        generated = rollout.state
        return score_sequences(self.model, generated.src, generated.src_mask, generated.tokens, generated.mask,
                               self.vocabs.bos)

    def references(self, inputs: list[Pair]) -> list[list[str]]:
        return [list(p.labels) for p in inputs]

    def sources(self, inputs: list[Pair]) -> list[list[str]]:
        return [list(p.inputs) for p in inputs]

    def mle_loss(self, inputs: list[Pair]) -> Tensor:
        self.model.eval()
        return self.model.loss(self._encode(inputs, with_targets=True))

    def evaluate(self, inputs: list[Pair], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        scores = bleu_of(self.model, inputs, beam=beam, max_length=max_length)
        return {"metric": "bleu", "score": scores["bleu"], "chrf": scores["chrf"]}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        save_seq2seq(self.model, directory, Seq2SeqConfig(model=self.model.config), training)

    # -- the adversarial trainer's view --------------------------------------------------
    def discriminator_vocab(self) -> tuple[int, int]:
        return len(self.vocabs.target), len(self.vocabs.source)

    def judged(self, rollout: Rollout) -> Judged:
        """Samples as D reads them: target ids with </s> (where reached), with their sources."""
        generated = rollout.state
        return Judged(generated.tokens, generated.mask, generated.src, generated.src_mask)

    def real(self, inputs: list[Pair]) -> Judged:
        """References as D reads them: y </s>, with their sources."""
        batch = self._encode(inputs, with_targets=True)
        return Judged(batch.tgt_out, batch.tgt_mask, batch.src, batch.src_mask)

    def token_log_probs(self, rollout: Rollout) -> Tensor:
        """(N, L) log p(y_t | y_<t, x) of the samples, 0 at padding; differentiable."""
        self.model.eval()
        generated = rollout.state
        return score_tokens(self.model, generated.src, generated.src_mask, generated.tokens, generated.mask,
                            self.vocabs.bos)[0]

    def rollout_rewards(self, rollout: Rollout, judge: Judge, n: int, generator: torch.Generator | None,
                        max_length: int) -> Tensor:
        """(N, L) SeqGAN rewards: each prefix completed n times by the model itself, judged."""
        self.model.eval()
        generated = rollout.state
        with torch.no_grad():
            memory = self.model.encode(generated.src, generated.src_mask)
        return mc_rollout_rewards(self.model, memory, generated.tokens, generated.mask, judge, n, max_length=max_length,
                                  generator=generator, **self.special)


class TaggerPolicy:
    """A tagger as a policy over tag sequences (exact samples from its chain distribution);
    inputs are Sentences whose gold tags are the references. The entropy is the sum of the
    per-position marginal entropies (an upper bound of the sequence entropy), differentiable."""

    def __init__(self, tagger: Tagger, config: TaggerConfig):
        self.model, self.config = tagger, config

    def _batch(self, inputs: list[Any], with_tags: bool = False) -> Any:
        device = next(self.model.parameters()).device
        return self.model.vocabs.encode(inputs, with_tags=with_tags).to(device)

    def _names(self, paths: Tensor, lengths: list[int]) -> list[list[str]]:
        names = self.model.tag_names
        return [[names[t] for t in row[:n]] for row, n in zip(paths.tolist(), lengths, strict=True)]

    def sample(self, inputs: list[Any], n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               max_length: int = 100) -> Rollout:
        if temperature != 1.0:
            raise ConfigError("tagger policies sample at temperature 1 (exact samples of the chain)")
        self.model.eval()
        batch = self._batch(inputs)
        samples = self.model.sample(batch, n, generator)  # (B, n, T)
        lengths = [int(m) for m in batch.mask.sum(1).tolist() for _ in range(n)]
        return Rollout(self._names(samples.flatten(0, 1), lengths), (batch, samples))

    def greedy(self, inputs: list[Any], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        batch = self._batch(inputs)
        return self._names(self.model.greedy(batch), batch.mask.sum(1).tolist())

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        batch, samples = rollout.state
        emissions = self.model.emissions(batch)
        logp = self.model.layer.log_prob(emissions, batch.mask, samples)  # (B, n)
        p = self.model.layer.marginals(emissions, batch.mask)  # (B, T, K)
        entropy = -(p * p.clamp_min(1e-30).log()).sum(-1).masked_fill(~batch.mask, 0.0).sum(1)  # (B,)
        n = samples.shape[1]
        return logp.reshape(-1), entropy.repeat_interleave(n)

    def references(self, inputs: list[Any]) -> list[list[str]]:
        return [list(s.tags) for s in inputs]

    def sources(self, inputs: list[Any]) -> list[list[str]]:
        return [list(s.words) for s in inputs]

    def mle_loss(self, inputs: list[Any]) -> Tensor:
        self.model.eval()
        return self.model.loss(self._batch(inputs, with_tags=True))

    def evaluate(self, inputs: list[Any], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        metric = dev_metric(self.config, self.model.tag_names)
        return {"metric": metric, "score": evaluate(self.model, inputs)[metric]}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        save_tagger(self.model, directory, self.config, training)

    # -- the adversarial trainer's view (per-sequence rewards only) -----------------------
    def discriminator_vocab(self) -> tuple[int, int]:
        return len(self.model.tag_names), len(self.model.vocabs.words)

    def judged(self, rollout: Rollout) -> Judged:
        """Sampled tag sequences (B*n, T) with their sentences' word ids as the condition."""
        batch, samples = rollout.state
        n = samples.shape[1]
        mask = batch.mask.repeat_interleave(n, 0)
        return Judged(samples.flatten(0, 1).masked_fill(~mask, 0), mask, batch.words.repeat_interleave(n, 0), mask)

    def real(self, inputs: list[Any]) -> Judged:
        batch = self._batch(inputs, with_tags=True)
        return Judged(batch.tags.masked_fill(~batch.mask, 0), batch.mask, batch.words, batch.mask)


class ClassifierPolicy:
    """A sequence classifier as a policy over one-label outputs (`[label]`); inputs are Labelled
    sentences whose gold labels are the references, so the `accuracy` reward (or any callable)
    scores a sampled label against them. A discriminator judges (sentence, label) pairs."""

    def __init__(self, model: SequenceClassifier, config: ClassifierConfig | None = None):
        self.model, self.config = model, config or ClassifierConfig(model=model.config)

    def _encoded(self, inputs: list[Any]) -> tuple[Tensor, Tensor, Tensor | None]:
        device = next(self.model.parameters()).device
        ids, mask, labels = self.model.vocabs.encode(inputs, with_labels=all(e.label is not None for e in inputs))
        return ids.to(device), mask.to(device), None if labels is None else labels.to(device)

    def _names(self, labels: Tensor) -> list[list[str]]:
        return [[self.model.label_names[i]] for i in labels.tolist()]

    def sample(self, inputs: list[Any], n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               max_length: int = 100) -> Rollout:
        self.model.eval()
        ids, mask, _ = self._encoded(inputs)
        with torch.no_grad():
            probs = torch.softmax(self.model(ids, mask).float() / temperature, dim=-1)  # (B, C)
        labels = torch.multinomial(probs, n, replacement=True, generator=generator)  # (B, n)
        return Rollout(self._names(labels.flatten()), (ids, mask, labels))

    def greedy(self, inputs: list[Any], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        ids, mask, _ = self._encoded(inputs)
        with torch.no_grad():
            return self._names(self.model(ids, mask).argmax(-1))

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        ids, mask, labels = rollout.state
        log_probs = torch.log_softmax(self.model(ids, mask).float(), dim=-1)  # (B, C)
        entropy = -(log_probs.exp() * log_probs).sum(-1)  # (B,)
        return log_probs.gather(1, labels).reshape(-1), entropy.repeat_interleave(labels.shape[1])

    def references(self, inputs: list[Any]) -> list[list[str]]:
        return [[e.label] for e in inputs]

    def sources(self, inputs: list[Any]) -> list[list[str]]:
        return [list(e.tokens) for e in inputs]

    def mle_loss(self, inputs: list[Any]) -> Tensor:
        self.model.eval()
        ids, mask, labels = self._encoded(inputs)
        return self.model.loss(ids, mask, labels)  # type: ignore[arg-type]

    def evaluate(self, inputs: list[Any], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        scores = evaluate_classifier(self.model, inputs)
        return {"metric": "accuracy", "score": scores["accuracy"], "dev_macro_f1": scores["macro_f1"]}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        save_classifier(self.model, directory, self.config, training)

    # -- the adversarial trainer's view: the label (one position) given the sentence -----------
    def discriminator_vocab(self) -> tuple[int, int]:
        return len(self.model.label_names), len(self.model.vocabs.words)

    def judged(self, rollout: Rollout) -> Judged:
        ids, mask, labels = rollout.state
        n = labels.shape[1]
        return Judged(labels.reshape(-1, 1), torch.ones_like(labels.reshape(-1, 1), dtype=torch.bool),
                      ids.repeat_interleave(n, 0), mask.repeat_interleave(n, 0))

    def real(self, inputs: list[Any]) -> Judged:
        ids, mask, labels = self._encoded(inputs)
        if labels is None:
            raise ConfigError("the discriminator's real examples need gold labels")
        column = labels.unsqueeze(1)
        return Judged(column, torch.ones_like(column, dtype=torch.bool), ids, mask)


class _LanguageModelPolicyBase:
    """What both unconditional policies share: samples from EmptyMemory, scores, D's view
    (no condition), SeqGAN rollouts. Subclasses say how inputs become tokens and outputs words."""

    model: LanguageModel
    eos: int  # -1: fixed-length sequences (no end token)
    length: int | None  # sequences of exactly this many tokens (eos -1), else up to max_length

    def _memory(self, n: int) -> EmptyMemory:
        return EmptyMemory.of(n, next(self.model.parameters()).device)

    def encode_inputs(self, inputs: Sequence[Any]) -> tuple[Tensor, Tensor]:
        """tokens (B, L) and mask (B, L) of real sequences given as inputs."""
        raise NotImplementedError

    def _outputs(self, tokens: Tensor) -> list[list[str]]:
        raise NotImplementedError

    def _special(self) -> SpecialIds:
        return {"bos": self.model.bos, "eos": self.eos, "pad": self.model.pad}

    def sample(self, inputs: list[Any], n: int, temperature: float = 1.0, generator: torch.Generator | None = None,
               max_length: int = 100) -> Rollout:
        self.model.eval()
        with torch.no_grad():
            out = sample(self.model, self._memory(len(inputs) * n), max_length=self.length or max_length,
                         temperature=temperature, generator=generator, **self._special())
        return Rollout(self._outputs(out.tokens), Judged(out.tokens, out.mask))

    def greedy(self, inputs: list[Any], max_length: int = 100) -> list[list[str]]:
        self.model.eval()
        with torch.no_grad():
            out = greedy(self.model, self._memory(len(inputs)), max_length=self.length or max_length,
                         **self._special())
        return self._outputs(out.tokens)

    def _token_scores(self, tokens: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(N, L) log-probabilities of the tokens and entropies of each step, 0 at padding."""
        logp_all = torch.log_softmax(self.model(tokens).float(), dim=-1)  # (N, L, V)
        real = mask.to(logp_all.dtype)
        entropy = -(logp_all.exp() * logp_all.clamp_min(-1e30)).sum(-1)  # never-emitted ids: 0 * -1e30
        return logp_all.gather(2, tokens.unsqueeze(-1)).squeeze(-1) * real, entropy * real

    def score(self, rollout: Rollout) -> tuple[Tensor, Tensor]:
        self.model.eval()
        logp, entropy = self._token_scores(rollout.state.tokens, rollout.state.mask)
        return logp.sum(1), entropy.sum(1)

    def sources(self, inputs: list[Any]) -> list[list[str]]:
        return [[] for _ in inputs]

    def mle_loss(self, inputs: list[Any]) -> Tensor:
        self.model.eval()
        return self.model.loss(*self.encode_inputs(inputs))

    def log_likelihood(self, inputs: list[Any]) -> float:
        """Mean log-likelihood per token (</s> included, if any) of `inputs`."""
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(inputs), 256):
                tokens, mask = self.encode_inputs(inputs[i: i + 256])
                total += float(self.model.token_log_probs(tokens, mask).sum())
                count += int(mask.sum())
        return total / max(count, 1)

    # -- the adversarial trainer's view (unconditional: no condition) --------------------
    def discriminator_vocab(self) -> tuple[int, int]:
        return self.model.vocab_size, 0

    def judged(self, rollout: Rollout) -> Judged:
        return rollout.state

    def real(self, inputs: list[Any]) -> Judged:
        return Judged(*self.encode_inputs(inputs))

    def token_log_probs(self, rollout: Rollout) -> Tensor:
        self.model.eval()
        return self.model.token_log_probs(rollout.state.tokens, rollout.state.mask)

    def rollout_rewards(self, rollout: Rollout, judge: Judge, n: int, generator: torch.Generator | None,
                        max_length: int) -> Tensor:
        self.model.eval()
        generated = rollout.state
        return mc_rollout_rewards(self.model, self._memory(len(generated)), generated.tokens, generated.mask, judge, n,
                                  max_length=self.length or max_length, generator=generator, **self._special())


class LanguageModelPolicy(_LanguageModelPolicyBase):
    """An unconditional generator over words (TextLanguageModel) as a policy; inputs are Pairs
    whose `inputs` are the real sentences (as `read_parallel(file)` gives them). Sampling ignores
    them but for their count; they are the references of rewards and D's real examples. The
    dev score is the log-likelihood per token."""

    def __init__(self, model: TextLanguageModel):
        self.model: TextLanguageModel = model
        self.eos, self.length = model.eos, None

    def encode_inputs(self, inputs: Sequence[Pair]) -> tuple[Tensor, Tensor]:
        return self.model.encode([p.inputs for p in inputs])

    def _outputs(self, tokens: Tensor) -> list[list[str]]:
        return [self.model.decode(row) for row in tokens.tolist()]

    def references(self, inputs: list[Pair]) -> list[list[str]]:
        return [list(p.inputs) for p in inputs]

    def evaluate(self, inputs: list[Pair], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        """Mean log-likelihood per token (</s> included) of the dev sentences, and the perplexity."""
        mean = self.log_likelihood(inputs)
        return {"metric": "log_likelihood", "score": mean, "perplexity": float(torch.tensor(-mean).exp())}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        save_language_model(self.model, directory, training)


class FixedLengthLMPolicy(_LanguageModelPolicyBase):
    """A LanguageModel over ids whose sequences have exactly `length` tokens and no end token
    (SeqGAN's synthetic setting); inputs are real sequences as (length,) id tensors or tuples.
    `quality(model)`, if given, is the dev score (higher is better, e.g. minus an oracle's NLL);
    else the log-likelihood per token of the dev inputs. `save` writes the weights only
    (model.safetensors)."""

    def __init__(self, model: LanguageModel, length: int,
                 quality: Callable[[LanguageModel], float] | None = None, metric: str = "quality"):
        self.model, self.eos, self.length = model, -1, length
        self.quality, self.metric = quality, metric

    def encode_inputs(self, inputs: Sequence[Any]) -> tuple[Tensor, Tensor]:
        device = next(self.model.parameters()).device
        tokens = torch.stack([torch.as_tensor(x, dtype=torch.long) for x in inputs]).to(device)
        return tokens, torch.ones_like(tokens, dtype=torch.bool)

    def _outputs(self, tokens: Tensor) -> list[list[str]]:
        return [[str(i) for i in row] for row in tokens.tolist()]

    def references(self, inputs: list[Any]) -> list[list[str]]:
        return [[str(int(i)) for i in x] for x in inputs]

    def evaluate(self, inputs: list[Any], beam: int = 1, max_length: int = 100) -> dict[str, Any]:
        if self.quality is not None:
            return {"metric": self.metric, "score": self.quality(self.model)}
        return {"metric": "log_likelihood", "score": self.log_likelihood(inputs)}

    def save(self, directory: str | Path, training: dict[str, Any]) -> None:
        from safetensors.torch import save_file

        from hybrid.config import atomic_write_text

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / ".model.safetensors.tmp"
        save_file({k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}, str(tmp))
        tmp.replace(directory / "model.safetensors")
        atomic_write_text(directory / "training.json", json.dumps(training, indent=2) + "\n")


def sample_fixed_length(model: LanguageModel, n: int, length: int, generator: torch.Generator | None = None,
                        temperature: float = 1.0) -> Tensor:
    """(n, length) token ids sampled from `model` (no end token): SeqGAN's oracle data."""
    device = next(model.parameters()).device
    with torch.no_grad():
        out = sample(model, EmptyMemory.of(n, device), bos=model.bos, eos=-1, pad=model.pad, max_length=length,
                     temperature=temperature, generator=generator)
    return out.tokens
