"""train.py: the training loop learns a 2D distribution, reports what it did, and stops on NaN.

The smoke-size swiss-roll model (conftest.trained_swiss_roll) is trained once per session. Its
samples are judged by the sliced Wasserstein distance (SWD) to fresh data, relative to the
data-vs-data baseline at the same sample size (2000 points, 256 projections seeded 0).
Measured on a 2-core CPU (torch 2.13): baseline 0.066, DDPM (clip_x0=3) 0.085 (1.28x),
DDIM 20 steps 0.172 (2.6x), pure N(0, I) 0.289 (4.4x), an untrained model 1.6 (DDPM) and 2.2 (DDIM).
Over ten seeds of model and sampler, DDPM ranged from 1.24x to 1.63x the baseline and DDIM-20 from
2.0x to 2.8x: the thresholds sit above that spread (a change of seed or of torch version must
not fail them) and below pure noise.
"""
from __future__ import annotations

import math

import pytest
import torch

from conftest import max_abs_error
from diffusion_edu.data import sample_toy
from diffusion_edu.losses import diffusion_loss
from diffusion_edu.models import MLPDenoiser
from diffusion_edu.schedules import linear_schedule
from diffusion_edu.train import EMA, TrainConfig, bf16_supported, train, warmup_cosine

DDPM_THRESHOLD = 2.0  # x the data-vs-data baseline
DDIM20_THRESHOLD = 3.5


# ------------------------------------------------------------------ the smoke model learns
def test_smoke_ddpm_samples_are_close_to_the_data(trained_swiss_roll):
    run = trained_swiss_roll
    assert run.swd_ddpm < DDPM_THRESHOLD * run.swd_baseline, (
        f"DDPM SWD {run.swd_ddpm:.3f} vs data baseline {run.swd_baseline:.3f}"
    )


def test_smoke_ddim20_samples_are_close_to_the_data(trained_swiss_roll):
    run = trained_swiss_roll
    assert run.swd_ddim20 < DDIM20_THRESHOLD * run.swd_baseline, (
        f"DDIM-20 SWD {run.swd_ddim20:.3f} vs data baseline {run.swd_baseline:.3f}"
    )


def test_untrained_model_and_pure_noise_fail_the_thresholds(trained_swiss_roll):
    # the thresholds can fail: a model that learned nothing, or no model at all, is far above them
    run = trained_swiss_roll
    assert run.swd_untrained_ddpm > DDPM_THRESHOLD * run.swd_baseline
    assert run.swd_untrained_ddim20 > DDIM20_THRESHOLD * run.swd_baseline
    assert run.swd_noise > DDIM20_THRESHOLD * run.swd_baseline


def test_loss_decreases(trained_swiss_roll):
    losses = trained_swiss_roll.result.losses
    assert len(losses) == 600
    assert all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:100]) / 100, sum(losses[-100:]) / 100
    assert last < 0.7 * first, f"first 100 steps {first:.3f}, last 100 steps {last:.3f}"


def test_t_bucket_loss_is_largest_at_small_t_for_eps_prediction(trained_swiss_roll):
    # predicting eps from an almost clean x_t is hard; from almost pure noise, x_t is eps
    result = trained_swiss_roll.result
    assert result.t_bucket_loss.shape == (10,)
    assert torch.isfinite(result.t_bucket_loss).all() and (result.t_bucket_loss > 0).all()
    assert result.t_bucket_loss[0] > 10 * result.t_bucket_loss[-1]
    assert result.t_bucket_edges.tolist() == list(range(0, 1001, 100))


def test_result_reports_throughput(trained_swiss_roll):
    result = trained_swiss_roll.result
    assert result.seconds > 0
    assert result.steps_per_second == pytest.approx(600 / result.seconds)


def test_returned_model_is_the_ema_and_differs_from_the_raw_weights(trained_swiss_roll):
    ema, raw = trained_swiss_roll.result.model, trained_swiss_roll.raw_model
    assert ema is not raw
    assert not ema.training and not any(p.requires_grad for p in ema.parameters())
    differences = [max_abs_error(p, q) for p, q in zip(ema.parameters(), raw.parameters())]
    assert max(differences) > 1e-4


# ------------------------------------------------------------------------ reproducibility
def short_run(seed: int = 0, model_seed: int = 0, global_seed: int = 123, **overrides):
    torch.manual_seed(model_seed)
    model = MLPDenoiser(hidden=16, n_blocks=1)
    torch.manual_seed(global_seed)  # training must not read the global generator
    data = sample_toy("two_moons", 2000, seed=0)
    config = TrainConfig(steps=30, batch_size=64, warmup_steps=5, seed=seed, progress=False, **overrides)
    return train(model, data, linear_schedule(1000), config), model


def test_same_seed_gives_identical_losses():
    # config.seed alone draws batches, timesteps and noise, whatever the global generator's state
    (a, _), (b, _) = short_run(global_seed=1), short_run(global_seed=2)
    assert a.losses == b.losses
    assert all(max_abs_error(p, q) == 0 for p, q in zip(a.model.parameters(), b.model.parameters()))


def test_different_seed_gives_different_losses():
    (a, _), (b, _) = short_run(seed=0), short_run(seed=1)
    assert a.losses != b.losses


def test_without_ema_the_trained_model_itself_is_returned():
    result, model = short_run(ema_decay=None)
    assert result.model is model


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_other_predictions_train(prediction):
    result, _ = short_run(prediction=prediction)
    assert len(result.losses) == 30 and all(math.isfinite(v) for v in result.losses)


# ------------------------------------------------------------------------------ the NaN guard
def test_nan_in_the_data_stops_training_naming_the_step():
    data = torch.full((100, 2), float("nan"))
    with pytest.raises(FloatingPointError, match=r"the loss became nan at step 0.*NaN or inf in the data"):
        train(MLPDenoiser(hidden=16), data, linear_schedule(100), TrainConfig(steps=5, progress=False))


def test_a_huge_learning_rate_stops_training_naming_the_step():
    torch.manual_seed(0)
    with pytest.raises(FloatingPointError, match=r"at step \d+: training stopped.*lr=1000000.0"):
        train(MLPDenoiser(hidden=32), sample_toy("swiss_roll", 1000, seed=0), linear_schedule(1000),
              TrainConfig(steps=200, batch_size=64, lr=1e6, progress=False))


# ------------------------------------------------------------------- schedule and EMA pieces
def test_warmup_cosine_rises_linearly_then_decays_to_a_tenth():
    assert warmup_cosine(0, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100) == pytest.approx(0.55)  # half way down the cosine
    assert warmup_cosine(100, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(500, 10, 100) == pytest.approx(0.1)


def test_ema_update_is_a_moving_average_with_warmed_up_decay():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    ema = EMA(model, decay=0.999)
    before = [p.detach().clone() for p in ema.model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    d = 2 / 11  # min(0.999, (1 + n) / (10 + n)) after n = 1 update
    for p_ema, p_old, p in zip(ema.model.parameters(), before, model.parameters()):
        assert max_abs_error(p_ema, d * p_old + (1 - d) * p) < 1e-6


def test_ema_copy_is_independent_of_the_model():
    model = torch.nn.Linear(3, 2)
    original = model.weight.detach().clone()
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model.weight.add_(1.0)
    assert max_abs_error(ema.model.weight, original) == 0
    assert max_abs_error(model.weight, original) > 0.5


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("field", ["steps", "batch_size", "t_buckets"])
@pytest.mark.parametrize("value", [0, -3, 2.5])
def test_train_config_needs_positive_int_counts(field, value):
    kwargs = {"steps": 10, field: value}
    with pytest.raises(ValueError, match=f"{field} must be a positive int, got {value}"):
        TrainConfig(**kwargs)


def test_train_config_rejects_bad_lr_and_ema_decay():
    with pytest.raises(ValueError, match="lr must be positive, got 0"):
        TrainConfig(steps=10, lr=0)
    with pytest.raises(ValueError, match=r"ema_decay must be in \(0, 1\) or None, got 1.0"):
        TrainConfig(steps=10, ema_decay=1.0)


def test_train_rejects_data_without_a_batch_dimension():
    with pytest.raises(ValueError, match=r"data must be a tensor \(N, \.\.\.\)"):
        train(MLPDenoiser(hidden=16), torch.zeros(10), linear_schedule(10),
              TrainConfig(steps=1, progress=False))


# ------------------------------------------------------------------ labels, bf16, snapshots
class LabelRecorder(torch.nn.Module):
    """A denoiser that predicts 0 and records the labels it was given."""

    class config:  # what train reads: the null label is num_classes
        num_classes = 3

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.zeros(()))
        self.seen: list[torch.Tensor] = []

    def forward(self, x, t, y=None):
        self.seen.append(y)
        return self.scale * x


def test_labels_reach_the_model_and_dropout_replaces_them_by_the_null_label():
    data = torch.randn(200, 2)
    labels = torch.arange(200) % 3
    model = LabelRecorder()
    train(model, data, linear_schedule(10), TrainConfig(steps=20, batch_size=50, progress=False), labels=labels)
    seen = torch.cat(model.seen)
    assert seen.dtype == torch.long and seen.min() >= 0 and seen.max() <= 2, "no dropout: only real labels"

    model = LabelRecorder()
    config = TrainConfig(steps=40, batch_size=50, progress=False, label_dropout=0.3)
    train(model, data, linear_schedule(10), config, labels=labels)
    null_fraction = (torch.cat(model.seen) == 3).double().mean().item()
    assert 0.25 < null_fraction < 0.35, f"about 30% of labels should be null (3), got {null_fraction:.3f}"


def test_labels_are_drawn_with_their_images(monkeypatch):
    """Each batch's labels must belong to its images: train on data that encodes its label."""
    import diffusion_edu.train as train_module

    labels = torch.arange(90) % 3
    data = labels[:, None].float().repeat(1, 2)  # (90, 2): the point (k, k) has label k
    batches = []

    def spy(model, x0, *args, **kwargs):
        batches.append((x0[:, 0].long(), kwargs["y"]))
        return diffusion_loss(model, x0, *args, **kwargs)

    monkeypatch.setattr(train_module, "diffusion_loss", spy)
    train(LabelRecorder(), data, linear_schedule(10), TrainConfig(steps=5, batch_size=16, progress=False), labels=labels)
    assert len(batches) == 5
    for from_images, y in batches:
        assert torch.equal(from_images, y), "labels must be indexed like the images"


@pytest.mark.parametrize(
    "model, labels, config, words",
    [
        (MLPDenoiser(hidden=8), torch.zeros(10, dtype=torch.long), TrainConfig(steps=1, progress=False), "unconditional"),
        (LabelRecorder(), torch.full((10,), 3), TrainConfig(steps=1, progress=False), "[0, 2]"),
        (LabelRecorder(), torch.zeros(9, dtype=torch.long), TrainConfig(steps=1, progress=False), "(10,)"),
        (LabelRecorder(), torch.zeros(10), TrainConfig(steps=1, progress=False), "long"),
        (LabelRecorder(), None, TrainConfig(steps=1, progress=False, label_dropout=0.1), "needs labels"),
    ],
    ids=["unconditional-model", "out-of-range", "wrong-length", "float-labels", "dropout-without-labels"],
)
def test_bad_labels_are_refused_with_what_was_expected(model, labels, config, words):
    with pytest.raises(ValueError) as error:
        train(model, torch.randn(10, 2), linear_schedule(10), config, labels=labels)
    assert words in str(error.value)


def test_label_dropout_must_be_a_probability():
    with pytest.raises(ValueError, match=r"label_dropout must be in \[0, 1\)"):
        TrainConfig(steps=1, label_dropout=1.0)


def test_snapshots_keep_the_model_as_it_was_at_those_steps():
    data = sample_toy("swiss_roll", 500, seed=0)
    torch.manual_seed(0)
    config = TrainConfig(steps=30, batch_size=64, progress=False, snapshots=(1, 10, 30))
    result = train(MLPDenoiser(hidden=16), data, linear_schedule(100), config)
    assert sorted(result.snapshots) == [1, 10, 30]
    final = dict(result.model.named_parameters())
    for name, p in result.snapshots[30].named_parameters():
        assert torch.equal(p, final[name]), "the snapshot after the last step is the returned (EMA) model"
    early = dict(result.snapshots[1].named_parameters())
    assert any(not torch.equal(early[n], p) for n, p in result.snapshots[10].named_parameters()), "snapshots are copies"
    with pytest.raises(ValueError, match="snapshots"):
        TrainConfig(steps=5, snapshots=(6,))


@pytest.mark.skipif(not bf16_supported("cpu"), reason="this CPU has no native bfloat16")
def test_bf16_autocast_trains_and_keeps_float32_weights():
    from diffusion_edu.models.unet import UNet, UNetConfig

    model = UNet(UNetConfig(base_channels=8, channel_mults=(1, 2), mid_attention=True))
    seen = []
    model.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    result = train(model, torch.randn(32, 1, 8, 8), linear_schedule(100),
                   TrainConfig(steps=3, batch_size=8, progress=False, bf16=True))
    assert seen == [torch.bfloat16] * 3, "the forward pass runs under bf16 autocast"
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    assert all(math.isfinite(v) for v in result.losses)


def test_bf16_without_native_support_warns_and_trains_in_float32(monkeypatch):
    import diffusion_edu.train as train_module

    monkeypatch.setattr(train_module, "bf16_supported", lambda device: False)
    model = MLPDenoiser(hidden=8)
    seen = []
    model.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    with pytest.warns(UserWarning, match="no native bfloat16"):
        train(model, torch.randn(20, 2), linear_schedule(10), TrainConfig(steps=2, batch_size=4, progress=False, bf16=True))
    assert seen == [torch.float32] * 2
