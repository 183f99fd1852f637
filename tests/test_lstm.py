"""serkit.lstm: the fused one-direction passes compute what the packed bidirectional LSTM computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from serkit.lstm import bidirectional, packed, reversal_index
from serkit.models.blocks import MaskedBiLSTM


def test_reversal_index_reverses_each_row_within_its_length() -> None:
    index = reversal_index(torch.tensor([3, 1, 5]), 5)
    assert index.tolist() == [[2, 1, 0, 3, 4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
@pytest.mark.parametrize("layers, dropout, training", [(1, 0.0, True), (2, 0.0, True), (2, 0.4, False)])
def test_outputs_final_states_and_gradients_equal_the_packed_rnn(cell, layers, dropout, training) -> None:
    torch.manual_seed(0)
    lstm = cell(7, 6, num_layers=layers, dropout=dropout, batch_first=True, bidirectional=True)
    lstm.train(training)
    lengths = torch.tensor([9, 1, 4, 9, 6])
    x = torch.randn(5, 9, 7)
    x[2, 4:] = 50.0  # padding: never read by a real output
    out, final = bidirectional(lstm, x, lengths)
    want_out, want_final = packed(lstm, x, lengths)
    assert torch.allclose(out, want_out, atol=1e-6) and torch.allclose(final, want_final, atol=1e-6)
    assert not out[2, 4:].any()
    params = list(lstm.parameters())
    got = torch.autograd.grad((out**2).sum() + final.sum(), params)
    want = torch.autograd.grad((want_out**2).sum() + want_final.sum(), params)
    for a, b in zip(got, want, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("layers", [1, 2])
def test_final_states_alone_are_those_with_the_outputs(layers: int) -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(7, 6, num_layers=layers, batch_first=True, bidirectional=True)
    lengths = torch.tensor([9, 1, 4, 9, 6])
    x = torch.randn(5, 9, 7)
    out, final = bidirectional(lstm, x, lengths, outputs=False)
    assert out is None and torch.equal(final, bidirectional(lstm, x, lengths)[1])


def test_masked_bilstm_keeps_its_parameters_and_ignores_padding() -> None:
    torch.manual_seed(0)
    block = MaskedBiLSTM(4, 3, layers=2)
    plain = nn.LSTM(4, 3, 2, batch_first=True, bidirectional=True)
    assert set(block.state_dict()) == {f"lstm.{key}" for key in plain.state_dict()}
    x = torch.randn(2, 6, 4)
    mask = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    padded = x.clone()
    padded[1, 2:] = -9.0
    assert torch.equal(block(x, mask), block(padded, mask))
    assert torch.allclose(block(x, mask), packed(block.lstm, x, mask.sum(1))[0], atol=1e-6)
