"""Text to image in miniature: a caption's tokens condition a U-Net through cross-attention.

    tokens (B, L)  --TextEncoder-->  context (B, L, D)
    context  --mean over the words, Linear-->  pooled (B, E)          (only with pooled=True)
    x_t, t, context  --UNet with CrossAttention at its attention sites,
                       pooled added to the time embedding-->  eps (B, C, H, W)

This is Stable Diffusion's arrangement (Rombach et al., 2022) without its autoencoder (our images
are small enough to denoise pixels directly) and without CLIP: the text encoder is trained with
the U-Net, on our captions only. The model's condition ``y`` is the caption's token ids, so the
training loop, the samplers and classifier-free guidance treat it like a class label: its null
condition is the empty caption (<start> and padding), which training substitutes for a fraction
of the captions (``TrainConfig(label_dropout=...)``).

With ``pooled=True`` the U-Net also gets the caption as one vector, the mean of its word
features, added to the time embedding that every ResBlock reads (as Imagen and Stable Diffusion
XL do with a pooled text embedding). On the shapes it is what lets the model draw colour-shape
pairs it never saw: 96% right instead of 65% with cross-attention alone (chapter 7).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..tokenizer import CaptionTokenizer
from .text_encoder import TextEncoder
from .unet import CrossAttention, UNet, UNetConfig


@dataclass(frozen=True)
class TextToImageConfig:
    """The U-Net's config (its ``context_dim`` must equal ``text_dim``), the tokenizer's
    vocabulary and caption length, and the text encoder's sizes."""

    unet: UNetConfig
    vocabulary: tuple[str, ...]  # the words, without the special tokens
    max_words: int
    text_dim: int = 64
    text_layers: int = 2
    text_heads: int = 4
    pooled: bool = False  # also add the mean of the caption's word features to the time embedding

    def __post_init__(self):
        if isinstance(self.unet, dict):  # from JSON
            object.__setattr__(self, "unet", UNetConfig(**self.unet))
        object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
        if self.unet.context_dim != self.text_dim:
            raise ValueError(f"the U-Net's context_dim ({self.unet.context_dim}) must equal text_dim ({self.text_dim})")

    @property
    def in_channels(self) -> int:  # what samplers and evaluate read
        return self.unet.in_channels


class TextToImage(nn.Module):
    """forward(x_t (B, C, H, W), t (B,), y = tokens (B, L)) -> eps (B, C, H, W).

    ``model.tokenizer.encode(captions)`` gives the tokens; ``y=None`` means the empty caption.
    """

    def __init__(self, config: TextToImageConfig):
        super().__init__()
        self.config = config
        self.tokenizer = CaptionTokenizer(config.vocabulary, config.max_words)
        self.text_encoder = TextEncoder(len(self.tokenizer), self.tokenizer.length, config.text_dim,
                                        config.text_layers, config.text_heads)
        self.unet = UNet(config.unet)
        self.pooled_projection = None
        if config.pooled:  # as Imagen and SDXL do with their pooled text embedding
            self.pooled_projection = nn.Linear(config.text_dim, 4 * config.unet.base_channels)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        tokens = self.null_condition(t) if y is None else y  # (B, L)
        context = self.text_encoder(tokens)  # (B, L, D)
        return self.unet(x, t, context=context, embedding=self.pooled(tokens, context))  # (B, C, H, W)

    def pooled(self, tokens: Tensor, context: Tensor) -> Tensor | None:
        """The caption as one vector, added to the U-Net's time embedding (config.pooled):

            pooled = W (mean of context over the caption's words) + b          (B, 4 * base_channels)

        <start> and <pad> are left out of the mean, so the empty caption pools to W 0 + b, the
        same vector for every null condition. Unlike cross-attention, which each position of the
        image reads differently, this tells every layer the whole caption at once."""
        if self.pooled_projection is None:
            return None
        words = (tokens > 1).unsqueeze(-1).to(context.dtype)  # (B, L, 1): 0 is <pad>, 1 is <start>
        mean = (context * words).sum(1) / words.sum(1).clamp(min=1)  # (B, D)
        return self.pooled_projection(mean)  # (B, 4 * base_channels)

    def null_condition(self, y: Tensor) -> Tensor:
        """The empty caption's tokens for every example of ``y`` (B, ...): (B, L)."""
        return self.tokenizer.null(len(y)).to(y.device)

    def check_condition(self, y: Tensor) -> None:
        """Raise a ValueError unless ``y`` is a batch of token ids this model reads."""
        if y.ndim != 2 or y.shape[1] != self.tokenizer.length or y.dtype != torch.long:
            raise ValueError(f"the condition of a text model is token ids (B, {self.tokenizer.length}) from "
                             f"model.tokenizer.encode(captions), got {y.dtype} {tuple(y.shape)}")
        if len(y) and (y.min() < 0 or y.max() >= len(self.tokenizer)):
            raise ValueError(f"token ids must be in [0, {len(self.tokenizer) - 1}]")

    def cross_attentions(self) -> dict[str, CrossAttention]:
        """The U-Net's cross-attention layers by name, e.g. "down.1.cross_attentions.0"."""
        return {name: m for name, m in self.unet.named_modules() if isinstance(m, CrossAttention)}


def token_maps(weights: Tensor) -> Tensor:
    """Cross-attention weights (B, heads, HW, L) -> one map per token (B, L, h, w), h = w = sqrt(HW):
    the mean over heads, with the positions (row-major, as the U-Net flattened them) put back
    into a square."""
    B, _, HW, L = weights.shape
    side = int(round(HW**0.5))
    if side * side != HW:
        raise ValueError(f"the {HW} positions of the weights do not form a square feature map")
    return weights.mean(1).transpose(1, 2).reshape(B, L, side, side)  # (B, L, h, w)


@torch.no_grad()
def word_attention(model: TextToImage, schedule, captions: list[str], w: float = 3.0, steps: int = 50,
                   seed: int = 0) -> tuple[Tensor, Tensor]:
    """Where each word of a caption looks while its image is drawn.

    Samples one image per caption (DDIM with classifier-free guidance of scale ``w``) and
    averages the cross-attention weights of the conditional branch over heads, sampling steps
    and every cross-attention layer at the finest resolution that has one. Returns the images
    (B, C, H, W) and the maps (B, L, h, w): map [b, l] is how much each position attended to
    token l (each position's weights over the L tokens sum to 1).
    """
    from ..evaluate import generate
    from ..guidance import ClassifierFreeGuidance

    layers = model.cross_attentions()
    sizes, totals, calls = {}, {}, {}  # per layer: side h of its map, summed maps (B, L, h, w), calls

    def keep(name):
        def hook(module, inputs, output):
            attention = token_maps(module.attention[: len(captions)])  # (B, L, h, w): the conditional half
            sizes[name] = attention.shape[-1]
            totals[name] = totals.get(name, 0) + attention
            calls[name] = calls.get(name, 0) + 1
        return hook

    handles = []
    for name, layer in layers.items():
        layer.record = True
        handles.append(layer.register_forward_hook(keep(name)))
    try:
        tokens = model.tokenizer.encode(captions)  # (B, L)
        images = generate(ClassifierFreeGuidance(model, w), schedule, len(captions), "ddim", steps, seed=seed,
                          y=tokens.to(next(model.parameters()).device))
    finally:
        for name, layer in layers.items():
            layer.record, layer.attention = False, None
        for handle in handles:
            handle.remove()
    finest = [name for name in totals if sizes[name] == max(sizes.values())]
    return images, (sum(totals[name] / calls[name] for name in finest) / len(finest)).cpu()  # (B, L, h, w)


__all__ = ["TextToImage", "TextToImageConfig", "token_maps", "word_attention"]
