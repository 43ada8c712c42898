"""Audio-Lip Memory: a key (audio) memory and a value (lip) memory of S slots × E channels.

Addressing: A = softmax over slots of κ · cos(proj(f), slot_i). Key addressing uses the projected audio
feature against the key memory; value addressing the projected lip feature against the value memory;
either address recalls a lip feature as A · M_value. The recalled lip feature is fused with the raw audio
feature (dropout → linear 2E → E) and drives the decoder.

With `address_norm="batch"` (an stfbench option, not in the paper or code) both projections are followed by
a BatchNorm without affine parameters, so queries are centred: a component shared by all queries (ReLU
features projected into one cone) cannot make every query pick the same slot. With `train_path_audio="drop"`
(also stfbench's) the training path's fusion gets zeros in place of f_aud, so Î_G can only be made from the
lip feature.

Losses (released-code forms): store = MSE(A_lip·M_value, v_embd(f_lip).detach()) (or, paper option,
‖f_lip − A_lip·M_value‖²); align = KL(A_lip.detach() ‖ A_aud) summed over slots, mean over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def address(query: torch.Tensor, slots: torch.Tensor, kappa: float) -> torch.Tensor:
    """softmax_i(κ · cos(query, slot_i)): (N, E) × (S, E) → (N, S), rows sum to 1."""
    similarity = F.normalize(query, dim=1) @ F.normalize(slots, dim=1).t()  # (N, S)
    return torch.softmax(kappa * similarity, dim=1)


def align_loss(value_address: torch.Tensor, key_address: torch.Tensor, eps: float = 1e-13) -> torch.Tensor:
    """D_KL(A_lip ‖ A_aud) = Σ_i A_lip,i (log A_lip,i − log A_aud,i), mean over rows; A_lip is a fixed target."""
    target = value_address.detach()
    return F.kl_div(torch.log(key_address + eps), target, reduction="batchmean")


@dataclass
class MemoryOutput:
    """What one memory pass yields. Training-only fields are None at inference."""

    fused_key: torch.Tensor  # (N, E) decoder input on the inference path (key-addressed recall ⊕ audio)
    key_address: torch.Tensor  # (N, S)
    fused_value: torch.Tensor | None = None  # (N, E) decoder input on the training path
    value_address: torch.Tensor | None = None  # (N, S)
    store_loss: torch.Tensor | None = None
    align_loss: torch.Tensor | None = None


class AudioLipMemory(nn.Module):
    """Key/value memories (S × E, initialised N(0, 0.5²)), query/value projections and the fusion layer."""

    def __init__(self, slots: int, dim: int, kappa: float = 16.0, dropout: float = 0.5, address_norm: str = "none"):
        super().__init__()
        self.kappa = kappa
        self.key = nn.Parameter(torch.randn(slots, dim) * 0.5)
        self.value = nn.Parameter(torch.randn(slots, dim) * 0.5)
        norm = (lambda: nn.BatchNorm1d(dim, affine=False)) if address_norm == "batch" else nn.Identity
        self.q_embd = nn.Linear(dim, dim)
        self.v_embd = nn.Linear(dim, dim)
        self.q_norm = norm()
        self.v_norm = norm()
        self.dropout = nn.Dropout(dropout)
        self.fusion = nn.Linear(2 * dim, dim)

    @property
    def slots(self) -> int:
        return int(self.key.shape[0])

    @torch.no_grad()
    def initialize_from(self, audio: torch.Tensor, lip: torch.Tensor, store_target: str = "projected") -> None:
        """Set slot i of the key memory to q_embd(f_aud,i) and of the value memory to the store loss's
        target for f_lip,i (v_embd(f_lip,i), or f_lip,i with the paper's store loss) for S paired (audio, lip)
        features of training frames, (S, E) each: every slot starts where real features are, instead of
        N(0, 0.5²) directions that the (ReLU, hence same-orthant) projected features all address alike —
        the start of the one-slot collapse seen with random slots."""
        if audio.shape != (self.slots, self.key.shape[1]) or lip.shape != audio.shape:
            raise ValueError(f"need ({self.slots}, {self.key.shape[1]}) features, got {tuple(audio.shape)}")
        self.key.copy_(self.audio_query(audio))
        self.value.copy_(self.lip_query(lip) if store_target == "projected" else lip)

    def fuse(self, audio: torch.Tensor, lip: torch.Tensor) -> torch.Tensor:
        """Decoder input from the raw audio feature and a lip feature: fusion(dropout(f_aud ⊕ f_lip))."""
        return self.fusion(self.dropout(torch.cat([audio, lip], dim=1)))  # (N, E)

    def recall(self, lip_address: torch.Tensor) -> torch.Tensor:
        """Lip feature recalled by an address: (N, S) · (S, E) → (N, E) (one-hot = one slot's value)."""
        return lip_address @ self.value

    def audio_query(self, audio: torch.Tensor) -> torch.Tensor:
        """Projected audio feature that addresses the key memory, (N, E)."""
        return self.q_norm(self.q_embd(audio))

    def lip_query(self, lip: torch.Tensor) -> torch.Tensor:
        """Projected lip feature that addresses the value memory (and the store loss's target), (N, E)."""
        return self.v_norm(self.v_embd(lip))

    def key_address(self, audio: torch.Tensor) -> torch.Tensor:
        return address(self.audio_query(audio), self.key, self.kappa)

    def forward(
        self,
        audio: torch.Tensor,
        lip: torch.Tensor | None = None,
        train_lip_source: str = "value-recalled",
        store_target: str = "projected",
        train_path_audio: str = "keep",
    ) -> MemoryOutput:
        key_address = self.key_address(audio)  # (N, S)
        out = MemoryOutput(fused_key=self.fuse(audio, self.recall(key_address)), key_address=key_address)
        if lip is None:
            return out
        projected = self.lip_query(lip)  # (N, E)
        value_address = address(projected, self.value, self.kappa)  # (N, S)
        recalled = self.recall(value_address)  # (N, E)
        target = projected.detach() if store_target == "projected" else lip
        out.value_address = value_address
        out.store_loss = F.mse_loss(recalled, target)
        out.align_loss = align_loss(value_address, key_address)
        lip_input = recalled if train_lip_source == "value-recalled" else lip
        out.fused_value = self.fuse(audio if train_path_audio == "keep" else torch.zeros_like(audio), lip_input)
        return out
