"""R-AUGNN: the Relation-Aware AU Graph Neural Network (AULLM++), on torch-geometric.

Nodes are the AUs of the shipped relation prior (CAS(ME)^3 co-occurrence); edges are the prior's
sparse adjacency. Each edge carries a learned strength (initialised from the prior's weight, kept
in (0, 1) by a sigmoid) that enters GATv2 attention as an edge feature, so the network learns how
strongly AUs interact. Two residual GATv2 layers give node states; a linear head on each node
predicts that AU (multi-label), and ``m`` learned queries pool the nodes into Instruction Tokens
(IT) in the LLM's embedding space.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import GATv2Conv


class RAUGNN(nn.Module):
    """AU node features -> (instruction tokens (B, m, llm_dim), AU logits (B, N))."""

    def __init__(self, edge_index: np.ndarray, edge_weight: np.ndarray, node_dim: int, llm_dim: int,
                 hidden: int = 128, n_tokens: int = 2, heads: int = 4, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.register_buffer("edge_index", torch.as_tensor(edge_index, dtype=torch.long), persistent=False)
        w = torch.as_tensor(edge_weight, dtype=torch.float32).clamp(1e-3, 1 - 1e-3)
        self.edge_logit = nn.Parameter(torch.log(w / (1 - w)))
        n_nodes = int(self.edge_index.max()) + 1 if self.edge_index.numel() else 0
        self.n_nodes = n_nodes
        self.node_embed = nn.Parameter(torch.randn(n_nodes, hidden) * 0.02)
        self.inp = nn.Linear(node_dim, hidden)
        self.convs = nn.ModuleList(
            GATv2Conv(hidden, hidden // heads, heads=heads, edge_dim=1, dropout=dropout, add_self_loops=False)
            for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.au_head = nn.Linear(hidden, 1)
        self.queries = nn.Parameter(torch.randn(n_tokens, hidden) * 0.02)
        self.pool = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.out = nn.Sequential(nn.Linear(hidden, hidden * 2), nn.GELU(), nn.Linear(hidden * 2, llm_dim))

    def edge_strength(self) -> torch.Tensor:
        """Learned interaction strength of each prior edge, in (0, 1)."""
        return torch.sigmoid(self.edge_logit)

    def forward(self, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """nodes (B, N, node_dim) -> (instruction tokens (B, m, llm_dim), AU logits (B, N))."""
        b, n, _ = nodes.shape
        x = (self.inp(nodes) + self.node_embed).reshape(b * n, -1)
        offsets = (torch.arange(b, device=nodes.device) * n).repeat_interleave(self.edge_index.shape[1])
        edge_index = self.edge_index.repeat(1, b) + offsets
        edge_attr = self.edge_strength().repeat(b).unsqueeze(-1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = norm(x + torch.nn.functional.gelu(conv(x, edge_index, edge_attr)))
        x = x.reshape(b, n, -1)
        logits = self.au_head(x).squeeze(-1)
        pooled, _ = self.pool(self.queries.unsqueeze(0).expand(b, -1, -1), x, x, need_weights=False)
        return self.out(pooled), logits
