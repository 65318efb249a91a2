"""Text conditioning: the tokenizer, the text encoder, cross-attention and the text-to-image model."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import max_abs_error
from diffusion_edu.data.shapes import VOCABULARY, make_shapes
from diffusion_edu.guidance import ClassifierFreeGuidance
from diffusion_edu.models.text_encoder import TextEncoder
from diffusion_edu.models.text_to_image import TextToImage, TextToImageConfig
from diffusion_edu.models.unet import CrossAttention, UNet, UNetConfig, shape_trace
from diffusion_edu.schedules import make_schedule
from diffusion_edu.tokenizer import CaptionTokenizer
from diffusion_edu.train import TrainConfig, train


def _tiny_model(seed=0, untrained_zeros=True):
    """A small text model; with ``untrained_zeros=False`` the layers initialised to zero (residual
    projections, the output convolution) get random weights, so that eps depends on everything."""
    torch.manual_seed(seed)
    unet = UNetConfig(in_channels=3, base_channels=8, channel_mults=(1, 2), attention_levels=(1,),
                      attention_heads=2, groups=4, context_dim=16)
    model = TextToImage(TextToImageConfig(unet, VOCABULARY, 8, text_dim=16, text_layers=1, text_heads=2))
    if not untrained_zeros:
        for name, parameter in model.named_parameters():
            if parameter.ndim > 1 and not parameter.detach().any():
                torch.nn.init.normal_(parameter, std=0.1)
    return model


# ------------------------------------------------------------------ tokenizer
def test_tokenizer_round_trips_every_caption_at_one_length():
    tokenizer = CaptionTokenizer()
    data = make_shapes(200, 16, seed=0)
    tokens = tokenizer.encode(data.captions)
    assert tokens.shape == (200, 9) and tokens.dtype == torch.long  # <start> + the longest caption (8 words)
    assert tokenizer.decode(tokens) == data.captions
    assert (tokens[:, 0] == 1).all(), "every caption starts with <start>"
    assert len(tokenizer) == 2 + len(VOCABULARY)


def test_the_empty_caption_is_start_and_padding():
    tokens = CaptionTokenizer().encode("")
    assert tokens.tolist() == [[1] + [0] * 8]
    assert torch.equal(CaptionTokenizer().null(3), tokens.expand(3, -1))


def test_tokenizer_names_unknown_words_and_long_captions():
    tokenizer = CaptionTokenizer()
    with pytest.raises(ValueError, match=r"unknown word\(s\) \['pink'\].*knows only"):
        tokenizer.encode("a big pink circle in the middle")
    with pytest.raises(ValueError, match="more than max_words=8"):
        tokenizer.encode("a big red circle in the top left left")
    assert tokenizer.encode("A Big Red Circle in the middle").tolist() == tokenizer.encode(
        "a big red circle in the middle").tolist()


# ------------------------------------------------------------------ text encoder
def test_text_encoder_shapes_and_word_order_matters():
    torch.manual_seed(0)
    encoder = TextEncoder(vocab_size=21, length=9, dim=16, layers=1, heads=2)
    tokens = CaptionTokenizer().encode(["a big red circle in the middle", "a red big circle in the middle"])
    context = encoder(tokens)
    assert context.shape == (2, 9, 16)
    assert max_abs_error(context[0], context[1]) > 1e-3, "the position embedding tells word orders apart"
    with pytest.raises(ValueError, match=r"long token ids of shape \(B, 9\)"):
        encoder(tokens[:, :5])
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 20\]"):
        encoder(torch.full((1, 9), 21))


# ------------------------------------------------------------------ cross-attention
def _cross_attention(seed=0):
    torch.manual_seed(seed)
    layer = CrossAttention(channels=8, context_dim=6, heads=2, groups=4)
    torch.nn.init.normal_(layer.proj.weight)  # the zero initialisation would hide everything
    return layer


def test_cross_attention_matches_scaled_dot_product_attention():
    layer = _cross_attention()
    x, context = torch.randn(3, 8, 4, 4), torch.randn(3, 5, 6)
    B, C, H, W = x.shape
    q = layer.q(layer.norm(x)).reshape(B, 2, 4, H * W).transpose(-1, -2)  # (B, nh, HW, hs)
    k, v = layer.kv(context).reshape(B, 5, 2, 2, 4).permute(2, 0, 3, 1, 4)  # (B, nh, L, hs)
    reference = F.scaled_dot_product_attention(q, k, v).transpose(-1, -2).reshape(B, C, H, W)
    assert max_abs_error(layer(x, context), x + layer.proj(reference)) < 1e-5


def test_cross_attention_weights_are_a_distribution_over_tokens_and_order_free():
    layer = _cross_attention()
    layer.record = True
    x, context = torch.randn(2, 8, 4, 4), torch.randn(2, 5, 6)
    out = layer(x, context)
    assert layer.attention.shape == (2, 2, 16, 5)  # (B, heads, HW, L)
    assert max_abs_error(layer.attention.sum(-1), torch.ones(2, 2, 16)) < 1e-6
    shuffled = context[:, torch.tensor([3, 0, 4, 1, 2])]
    assert max_abs_error(layer(x, shuffled), out) < 1e-5, "attention is a weighted sum: token order is invisible to it"


def test_untrained_cross_attention_is_the_identity():
    layer = CrossAttention(channels=8, context_dim=6, heads=2, groups=4)
    x = torch.randn(2, 8, 4, 4)
    assert max_abs_error(layer(x, torch.randn(2, 5, 6)), x) == 0


def test_unet_with_context_dim_needs_and_checks_a_context():
    cfg = UNetConfig(in_channels=3, base_channels=8, channel_mults=(1, 2), attention_levels=(1,),
                     attention_heads=2, groups=4, context_dim=16)
    model, x, t = UNet(cfg), torch.randn(2, 3, 8, 8), torch.tensor([1, 500])
    assert model(x, t, context=torch.randn(2, 9, 16)).shape == x.shape
    with pytest.raises(ValueError, match=r"context of shape \(B, L, 16\) = \(2, L, 16\), got None"):
        model(x, t)
    with pytest.raises(ValueError, match=r"got \(2, 9, 8\)"):
        model(x, t, context=torch.randn(2, 9, 8))
    names = [name for name, _ in shape_trace(model, x, t, context=torch.randn(2, 9, 16))]
    assert sum("cross_attention" in name for name in names) == 1 + 2 + 1  # down.1, up.0 (two blocks), middle
    with pytest.raises(ValueError, match="at least one attention site"):
        UNetConfig(attention_levels=(), mid_attention=False, context_dim=16)


# ------------------------------------------------------------------ the text-to-image model
def test_text_model_reads_the_caption():
    model = _tiny_model(untrained_zeros=False)
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 10])
    red, blue = (model.tokenizer.encode([f"a big {c} circle in the middle"] * 2) for c in ("red", "blue"))
    assert max_abs_error(model(x, t, y=red), model(x, t, y=blue)) > 1e-4, "the caption changes eps"
    assert max_abs_error(model(x, t), model(x, t, y=model.tokenizer.null(2))) == 0, "y=None is the empty caption"
    with pytest.raises(ValueError, match=r"token ids \(B, 9\) from model.tokenizer.encode"):
        model.check_condition(torch.zeros(2, dtype=torch.long))


def test_cfg_with_captions_is_the_formula_on_the_empty_caption():
    model = _tiny_model(untrained_zeros=False)
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 700])
    y = model.tokenizer.encode(["a big red circle in the middle", "a small blue square in the top left"])
    cond, uncond = model(x, t, y), model(x, t, model.tokenizer.null(2))
    guided = ClassifierFreeGuidance(model, 3.0)(x, t, y)
    assert max_abs_error(guided, uncond + 3.0 * (cond - uncond)) < 1e-5


def test_training_with_caption_dropout_uses_the_empty_caption():
    model = _tiny_model()
    data = make_shapes(64, 8, seed=0)
    tokens = model.tokenizer.encode(data.captions)
    seen = []
    forward = model.forward
    model.forward = lambda x, t, y=None: (seen.append(y.clone()), forward(x, t, y))[1]
    config = TrainConfig(steps=20, batch_size=16, label_dropout=0.5, progress=False, ema_decay=None)
    train(model, data.images, make_schedule("cosine", 1000), config, labels=tokens)
    rows = torch.cat(seen)  # (20 * 16, L)
    empty = (rows == model.tokenizer.null(1)).all(1)
    assert 0.35 < empty.float().mean() < 0.65, "about half the captions are replaced by the empty one"
    assert ((rows[~empty, 1:] > 0).sum(1) >= 7).all(), "the others are whole captions"
    with pytest.raises(ValueError, match=r"token ids \(B, 9\)"):
        train(model, data.images, make_schedule("cosine", 1000), config, labels=tokens[:, :4])


def test_text_model_saves_and_loads_as_a_checkpoint(tmp_path):
    from diffusion_edu import checkpoints

    model = _tiny_model(untrained_zeros=False)
    checkpoints.save("tiny_text", model, "TextToImage", model.config, {"recipe": "none"}, folder=tmp_path, half=False)
    loaded, meta = checkpoints.load("tiny_text", folder=tmp_path)
    assert isinstance(loaded, TextToImage) and loaded.config == model.config
    x, t, y = torch.randn(2, 3, 8, 8), torch.tensor([3, 900]), model.tokenizer.encode(["", "a big red circle in the middle"])
    assert max_abs_error(loaded(x, t, y), model(x, t, y)) == 0


def test_word_attention_gives_one_map_per_token_summing_to_one():
    from diffusion_edu.models.text_to_image import word_attention

    model = _tiny_model(untrained_zeros=False)
    images, maps = word_attention(model, make_schedule("cosine", 1000), ["a big red circle in the middle", ""],
                                  w=2.0, steps=3)
    assert images.shape == (2, 3, 16, 16) and maps.shape == (2, 9, 8, 8)  # the finest cross-attention: 8x8
    assert max_abs_error(maps.sum(1), torch.ones(2, 8, 8)) < 1e-5
    assert all(not layer.record and layer.attention is None for layer in model.cross_attentions().values())


def test_token_maps_put_each_position_back_in_its_place():
    from diffusion_edu.models.text_to_image import token_maps

    weights = torch.rand(2, 3, 16, 5)  # (B, heads, HW, L)
    maps = token_maps(weights)
    assert maps.shape == (2, 5, 4, 4)
    row, column, token = 2, 3, 4
    assert maps[1, token, row, column] == pytest.approx(weights[1, :, 4 * row + column, token].mean().item())
    with pytest.raises(ValueError, match="do not form a square"):
        token_maps(torch.rand(1, 1, 12, 5))


# ------------------------------------------------------------------ the pooled caption
def _pooled_model(seed=0):
    torch.manual_seed(seed)
    unet = UNetConfig(in_channels=3, base_channels=8, channel_mults=(1, 2), attention_levels=(1,),
                      attention_heads=2, groups=4, context_dim=16)
    return TextToImage(TextToImageConfig(unet, VOCABULARY, 8, text_dim=16, text_layers=0, text_heads=2,
                                         pooled=True)).eval()


def test_pooled_caption_is_the_projected_mean_of_the_word_features():
    model = _pooled_model()
    tokens = model.tokenizer.encode(["a big red circle in the middle", "a small blue square in the top left"])
    context = model.text_encoder(tokens)  # (2, L, D)
    pooled = model.pooled(tokens, context)  # (2, 4 * base_channels)
    assert pooled.shape == (2, 32)
    for b in range(2):
        words = tokens[b] > 1  # neither <pad> nor <start>
        expected = model.pooled_projection(context[b, words].mean(0))
        assert max_abs_error(pooled[b], expected) < 1e-6
    # the empty caption pools to the projection's bias alone: one null vector for every example
    null = model.tokenizer.null(3)
    assert max_abs_error(model.pooled(null, model.text_encoder(null)), model.pooled_projection.bias.expand(3, -1)) < 1e-7


def test_pooled_caption_reaches_the_unet_through_the_time_embedding():
    model = _pooled_model()
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([10, 700])
    tokens = model.tokenizer.encode(["a big red circle in the middle"] * 2)
    context = model.text_encoder(tokens)
    with torch.no_grad():
        for parameter in model.parameters():  # layers initialised to zero get weights, so eps depends on all
            if parameter.ndim > 1 and not parameter.any():
                torch.nn.init.normal_(parameter, std=0.1)
        pooled = model.pooled(tokens, context)
        assert max_abs_error(model(x, t, tokens), model.unet(x, t, context=context, embedding=pooled)) < 1e-6
        # the U-Net adds the vector to its time embedding: no embedding is the same as zeros
        zeros = torch.zeros_like(pooled)
        assert max_abs_error(model.unet(x, t, context=context), model.unet(x, t, context=context, embedding=zeros)) < 1e-7
        assert max_abs_error(model.unet(x, t, context=context), model.unet(x, t, context=context, embedding=pooled)) > 1e-4
    # a model without pooling has no such layer, and its forward ignores the option entirely
    assert _tiny_model().pooled_projection is None
