"""Chapter 7's figures and its prompt box: captions on images, one attention map per token, and a
widget that samples a caption or says which word it does not know."""
import numpy as np
import pytest
import torch

from diffusion_edu import viz, widgets
from diffusion_edu.data.shapes import VOCABULARY
from diffusion_edu.models.text_to_image import TextToImage, TextToImageConfig
from diffusion_edu.models.unet import UNetConfig
from diffusion_edu.schedules import make_schedule


def test_captioned_images_titles_each_image_with_its_caption():
    images = torch.rand(6, 3, 16, 16) * 2 - 1
    captions = [f"a big red circle in the top {side}" for side in ("left", "right")] * 3
    fig = viz.captioned_images(images, captions, ncols=4)
    titled = [ax for ax in fig.axes if ax.images]
    assert len(titled) == 6 and len(fig.axes) == 8, "two rows of four, the last two empty"
    assert titled[1].get_title() == "a big red circle\nin the top right"
    np.testing.assert_allclose(titled[0].images[0].get_array(), viz.to_rgb(images[0]))
    with pytest.raises(ValueError, match="one caption per image"):
        viz.captioned_images(images, captions[:2])


def test_word_attention_figure_has_the_image_then_one_map_per_token_and_the_padding_summed():
    maps = torch.softmax(torch.randn(2, 9, 8, 8), dim=1)  # (B, L, h, w), summing to 1 over tokens
    pieces = [["<start>", "a", "big", "red", "circle", "in", "the", "middle"],
              ["<start>", "a", "small", "red", "circle", "in", "the", "top", "left"]]
    fig = viz.plot_word_attention(torch.zeros(2, 3, 16, 16), maps, pieces)
    rows = np.asarray(fig.axes).reshape(2, -1)
    assert [ax.get_title() for ax in rows[0] if ax.images] == ["image", *pieces[0], "<pad> x 1"]
    assert [ax.get_title() for ax in rows[1] if ax.images] == ["image", *pieces[1]]
    np.testing.assert_allclose(rows[0][9].images[0].get_array(), maps[0, 8].numpy(), rtol=1e-6)


def test_adherence_plot_has_one_panel_per_set_and_one_line_per_score():
    scores = {"colour_and_shape": 0.5, "all": 0.25}
    fig = viz.plot_adherence_vs_w({w: {"held out": scores, "seen": scores} for w in (0.0, 1.0, 3.0)})
    assert [ax.get_title() for ax in fig.axes] == ["held out captions", "seen captions"]
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [0.25] * 3)


def _tiny_text_model():
    torch.manual_seed(0)
    unet = UNetConfig(in_channels=3, base_channels=8, channel_mults=(1, 2), attention_levels=(1,),
                      attention_heads=2, groups=4, context_dim=16)
    return TextToImage(TextToImageConfig(unet, VOCABULARY, 8, text_dim=16, text_layers=1, text_heads=2)).eval()


def test_prompt_box_samples_the_caption_and_names_an_unknown_word(capsys):
    box = widgets.prompt_box(_tiny_text_model(), make_schedule("cosine", 1000), n=2, steps=2)
    text, (w, seed, button), out = box.children[0], box.children[1].children, box.children[2]
    assert text.value == "a small blue triangle in the top left" and w.value == 3.0
    text.value = "a big pink circle in the middle"  # generates on change, like pressing Enter
    assert "unknown word(s) ['pink']" in capsys.readouterr().out + str(out.outputs)
