"""CTCModel: shapes, padding, and that it learns a tiny unaligned task."""

from __future__ import annotations

import torch

from hybrid.models.ctc import CTCModel


def test_shapes_and_padding_independence():
    torch.manual_seed(0)
    model = CTCModel(6, 3, embedding_dim=4, hidden_size=5).eval()
    ids = torch.tensor([[1, 2, 3, 4], [2, 5, 0, 0]])
    lp, lengths = model(ids)
    assert lp.shape == (2, 4, 4) and lengths.tolist() == [4, 2]
    alone, _ = model(ids[1:, :2])
    assert torch.allclose(lp[1, :2], alone[0], atol=1e-6)


def test_learns_collapsed_runs():
    # input "a a b b b a" -> labels "a b a": the collapsed runs, shorter than the input
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(1, 3, (int(torch.randint(3, 7, (1,), generator=g)),), generator=g) for _ in range(64)]
    runs = [torch.unique_consecutive(s) for s in seqs]
    ids = torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True)
    tgt = torch.nn.utils.rnn.pad_sequence(runs, batch_first=True)
    tlen = torch.tensor([len(r) for r in runs])
    model = CTCModel(3, 2, embedding_dim=8, hidden_size=16)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(150):
        opt.zero_grad()
        loss = model.loss(ids, tgt, tlen)
        loss.backward()
        opt.step()
    model.eval()
    hyps = model.decode(ids, beam=4)
    assert sum(h == r.tolist() for h, r in zip(hyps, runs, strict=True)) >= 60
