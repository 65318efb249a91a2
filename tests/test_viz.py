"""viz: the parts of figures that readers of the built book rely on."""
import re

import torch

from diffusion_edu import viz


def test_animation_html_carries_alt_text():
    """The animation's image gets alt text (a screen reader's description), by default made from
    the arguments; the built book's browser test fails on an animation without one."""
    xs = torch.randn(11, 20, 2)  # (S+1, B, 2)
    ts = list(range(9, -1, -1))
    html = viz.animate_trajectory(xs, ts, n_frames=3).to_jshtml()
    (img,) = re.findall(r'<img[^>]*id="_anim_img[^>]*>', html)
    assert 'alt="Animation in 3 frames of 20 points along the reverse process' in img

    html = viz.animate_trajectory(xs, ts, n_frames=3, alt='Noise <folds> into "data"').to_jshtml()
    assert 'alt="Noise &lt;folds&gt; into &quot;data&quot;"' in html
