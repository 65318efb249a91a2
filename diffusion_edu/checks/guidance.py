"""Checks for the exercises of chapter 6, conditioning and guidance.

Classifier-free guidance is compared with :class:`diffusion_edu.guidance.ClassifierFreeGuidance`
(course convention: w = 0 unconditional, w = 1 conditional), classifier guidance with the eps
form of :class:`~diffusion_edu.guidance.ClassifierGuidance`, and label dropout with the step of
:func:`diffusion_edu.train.train`. Everything runs in float64 on the digits16 model's schedule
(cosine, T=1000).
"""
from __future__ import annotations

import torch

from .. import guidance, schedules
from ._verdict import generator, limited, verdict

SCHEDULE = schedules.cosine_schedule(1000)
NUM_CLASSES = 10  # labels 0..9 are digits, label 10 is the null label ("no class")
SCALES = (3.0, 0.5, 7.5, 0.0, 1.0)


# --------------------------------------------------------------------- q1: the CFG combination
def cfg_eps(fn) -> bool:
    """fn(eps_uncond, eps_cond, w) -> eps_uncond + w (eps_cond - eps_uncond)."""
    fn = limited(fn)
    g = generator(61)
    for w in SCALES:
        eps_uncond = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
        eps_cond = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
        diff = eps_cond - eps_uncond
        verdict(
            fn(eps_uncond.clone(), eps_cond.clone(), w), eps_uncond + w * diff, f"cfg_eps with w={w}",
            hint="start from the unconditional estimate and move w times the difference (eps_cond - eps_uncond) "
                 "towards the conditional one: w = 0 gives eps_uncond, w = 1 gives eps_cond",
            mistakes={
                "that is Ho & Salimans' convention, (1 + w) eps_cond - w eps_uncond; this course's w is theirs "
                "plus one: w = 1 must give eps_cond exactly, w = 0 eps_uncond": eps_uncond + (1 + w) * diff,
                "eps_cond and eps_uncond have swapped roles: w = 0 must give the unconditional estimate and the "
                "step goes from eps_uncond towards eps_cond": eps_cond - w * diff,
                "the guidance term has the wrong sign: guidance moves *towards* the conditional estimate, "
                "eps_uncond + w (eps_cond - eps_uncond)": eps_uncond - w * diff,
                "eps_uncond is subtracted inside the difference: the guided estimate is eps_uncond plus w times "
                "(eps_cond - eps_uncond), not eps_uncond + w eps_cond": eps_uncond + w * eps_cond,
                "the starting point is missing: w (eps_cond - eps_uncond) is only the step, add it to eps_uncond":
                    w * diff,
                "w multiplies the unconditional estimate: it scales the *difference* eps_cond - eps_uncond":
                    w * eps_uncond + diff,
            },
            rtol=1e-6, atol=1e-9,
        )
    return True


# ---------------------------------------------------- q2: score and eps, classifier guidance
def _call(fn, what: str, *args):
    """Call the student's function; a broadcasting error becomes a message about the reshape."""
    try:
        return fn(*args)
    except RuntimeError as error:
        raise AssertionError(
            f"{what} raised {error!r}: alpha_bar_t has one value per example, shape (B,); reshape it to "
            "(B, 1, 1, 1) so that it broadcasts against the images (B, C, H, W)"
        ) from None


# B = W = 4 first: a (B,) alpha_bar_t that is not reshaped broadcasts along the image width
CASES_Q2 = ((4, 1, 4, 4), torch.tensor([0, 250, 600, 999])), ((3, 2, 3, 5), torch.tensor([10, 10, 900]))


def eps_from_score(fn) -> bool:
    """fn(score, alpha_bar_t) -> eps = -sqrt(1 - alpha_bar_t) * score, alpha_bar_t of shape (B,)."""
    fn = limited(fn)
    g = generator(62)
    for shape, t in CASES_Q2:
        score = torch.randn(shape, generator=g, dtype=torch.float64)
        ab = SCHEDULE.alpha_bar[t]  # (B,)
        a = ab.reshape(-1, 1, 1, 1)
        what = f"eps_from_score for a batch of shape {shape}"
        mistakes = {
            "the sign: the score points towards more likely images, the noise points away from them, so "
            "eps = -sqrt(1 - alpha_bar_t) score": (1 - a).sqrt() * score,
            "the square root is missing: sigma_t = sqrt(1 - alpha_bar_t) is the noise's standard deviation, "
            "not its variance": -(1 - a) * score,
            "that is the conversion the other way round (score = -eps / sigma_t): here you are given the "
            "score, so multiply by -sigma_t": -score / (1 - a).sqrt(),
            "alpha_bar_t stands where sqrt(1 - alpha_bar_t) belongs: the factor is the noise's standard "
            "deviation sigma_t = sqrt(1 - alpha_bar_t)": -a * score,
            "sqrt(alpha_bar_t) (the signal's scale) stands where sqrt(1 - alpha_bar_t) (the noise's) belongs":
                -a.sqrt() * score,
        }
        if shape[0] == shape[-1]:
            flat = ab  # (B,), not reshaped: it broadcasts along the last axis (W)
            mistakes["alpha_bar_t must be reshaped to (B, 1, 1, 1): a (B,) tensor broadcasts along the image "
                     "width, so each column gets another example's alpha_bar"] = -(1 - flat).sqrt() * score
        value = _call(fn, what, score.clone(), ab.clone())
        verdict(value, -(1 - a).sqrt() * score, what,
                hint="x_t = sqrt(alpha_bar_t) x_0 + sigma_t eps has score -eps / sigma_t, so eps = -sigma_t score "
                     "with sigma_t = sqrt(1 - alpha_bar_t)",
                mistakes=mistakes, rtol=1e-6, atol=1e-9)
    return True


def classifier_guided_eps(fn) -> bool:
    """fn(eps, grad_log_p, alpha_bar_t, s) -> eps - s sqrt(1 - alpha_bar_t) grad_log_p (alpha_bar_t: (B,))."""
    fn = limited(fn)
    g = generator(63)
    for (shape, t), s in zip(CASES_Q2 + CASES_Q2, (2.0, 10.0, 0.5, 1.0)):
        eps = torch.randn(shape, generator=g, dtype=torch.float64)
        grad = torch.randn(shape, generator=g, dtype=torch.float64)
        ab = SCHEDULE.alpha_bar[t]  # (B,)
        a = ab.reshape(-1, 1, 1, 1)
        sigma = (1 - a).sqrt()
        what = f"classifier_guided_eps with s={s} for a batch of shape {shape}"
        mistakes = {
            "the sign of the gradient term: adding grad log p(y | x_t) to the *score* means subtracting "
            "sigma_t times it from eps (eps = -sigma_t score)": eps + s * sigma * grad,
            "the square root is missing: the factor is sigma_t = sqrt(1 - alpha_bar_t), not 1 - alpha_bar_t":
                eps - s * (1 - a) * grad,
            "alpha_bar_t stands where sqrt(1 - alpha_bar_t) belongs: converting a score to eps multiplies by "
            "the noise's standard deviation sigma_t": eps - s * a * grad,
            "sqrt(alpha_bar_t) stands where sqrt(1 - alpha_bar_t) belongs: the factor is the noise's standard "
            "deviation, sigma_t": eps - s * a.sqrt() * grad,
            "the gradient was divided by sigma_t: that converts eps to a score; a score (the gradient) becomes "
            "eps by multiplying by -sigma_t": eps - s * grad / sigma,
            "the factor sigma_t = sqrt(1 - alpha_bar_t) is missing: the gradient is a score, and a score "
            "becomes eps only after multiplying by -sigma_t": eps - s * grad,
            "the scale s is missing: it multiplies the gradient term": eps - sigma * grad,
        }
        if shape[0] == shape[-1]:
            flat = ab  # (B,), not reshaped: it broadcasts along the last axis (W)
            mistakes["alpha_bar_t must be reshaped to (B, 1, 1, 1): a (B,) tensor broadcasts along the image "
                     "width, so each column gets another example's alpha_bar"] = eps - s * (1 - flat).sqrt() * grad
        value = _call(fn, what, eps.clone(), grad.clone(), ab.clone(), s)
        verdict(value, eps - s * sigma * grad, what,
                hint="in score form guidance adds s grad log p(y | x_t); with eps = -sigma_t score that is "
                     "eps - s sigma_t grad, sigma_t = sqrt(1 - alpha_bar_t) reshaped to (B, 1, 1, 1)",
                mistakes=mistakes, rtol=1e-6, atol=1e-9)
    return True


# ------------------------------------------------------------------------ q3: label dropout
def _as_labels(value, what: str, n: int) -> torch.Tensor:
    if value is None or value is Ellipsis:
        raise AssertionError(f"{what} returned {value!r}: replace the `...` with your code and `return` the result")
    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} should return a torch.Tensor of labels, got {type(value).__name__}")
    if value.dtype != torch.long:
        raise AssertionError(f"{what} should return integer labels (dtype torch.long, as the embedding needs), "
                             f"got {value.dtype}: build the result from y and the null label, e.g. with torch.where")
    if value.shape != (n,):
        raise AssertionError(f"{what} should return one label per example, shape ({n},), got {tuple(value.shape)}")
    return value


def drop_labels(fn) -> bool:
    """fn(y (B,) long, p, null_label, generator) -> y with each label replaced by null_label where
    u < p, u = torch.rand(B, generator=generator)."""
    fn = limited(fn)
    hint = ("draw u = torch.rand(len(y), generator=generator), one uniform per label, and return "
            "torch.where(u < p, null_label, y), a new tensor")
    for n, p, seed in ((2000, 0.15, 0), (2000, 0.5, 1), (64, 0.15, 2), (50, 0.0, 3)):
        y = torch.randint(0, NUM_CLASSES, (n,), generator=generator(100 + seed))
        y_before = y.clone()
        what = f"drop_labels with p={p} on {n} labels"
        got = _as_labels(fn(y, p, NUM_CLASSES, generator(seed)), what, n)
        if not torch.equal(y, y_before):
            raise AssertionError(f"{what} changed the labels it was given (in place): the caller's batch keeps its "
                                 "labels; return a new tensor (torch.where, or y.clone() before assigning)")
        u = torch.rand(n, generator=generator(seed))
        expected = torch.where(u < p, torch.full_like(y, NUM_CLASSES), y)
        if torch.equal(got, expected):
            continue
        mistakes = {
            "labels are dropped where u > p, that is with probability 1 - p: keep the label unless u < p":
                torch.where(u > p, torch.full_like(y, NUM_CLASSES), y),
            "dropped labels became 0, a real digit: a dropped label must become the null label (num_classes), "
            "the extra row of the embedding that means 'no class'": torch.where(u < p, torch.zeros_like(y), y),
            "dropped labels became -1: the null label is num_classes (here 10), the embedding's extra row; -1 "
            "is not a valid index": torch.where(u < p, torch.full_like(y, -1), y),
            "dropped labels became num_classes - 1 = 9, a real digit: the null label is num_classes itself":
                torch.where(u < p, torch.full_like(y, NUM_CLASSES - 1), y),
        }
        for message, wrong in mistakes.items():
            if torch.equal(got, wrong):
                raise AssertionError(f"{what} is not right: {message}")
        if not torch.equal(got, _as_labels(fn(y.clone(), p, NUM_CLASSES, generator(seed)), what, n)):
            raise AssertionError(f"{what} gives different labels for the same generator: draw the random numbers "
                                 f"with the generator you are given (generator=generator), so training is "
                                 f"reproducible. Hint: {hint}")
        changed = got != y
        if not (got[changed] == NUM_CLASSES).all():
            raise AssertionError(f"{what} changed some labels to something other than the null label "
                                 f"{NUM_CLASSES}. Hint: {hint}")
        dropped = (got == NUM_CLASSES).double().mean().item()
        if abs(dropped - p) < 4 * (p * (1 - p) / n) ** 0.5 + 1e-9:  # within 4 standard errors of p
            raise AssertionError(f"{what} dropped {dropped:.1%} of the labels, about p, but not the ones expected: "
                                 "drop exactly those with u < p, for u drawn from the generator you are given, "
                                 f"one uniform per label, in order. Hint: {hint}")
        raise AssertionError(f"{what} dropped {dropped:.1%} of the labels, expected about {p:.0%}. Hint: {hint}")
    return True


# ---------------------------------------------------------------- q4: the doubled-batch forward
class ToyConditionalDenoiser:
    """A fixed stand-in for the conditional U-Net: eps(x, t, y) = x (1 + t / 1000) / 2 + e_y, with
    one random image e_y per label (label 10: null). It records the batch size of every call."""

    class config:
        num_classes = NUM_CLASSES
        in_channels = 1

    def __init__(self, shape: tuple[int, ...]):
        self.offsets = torch.randn(NUM_CLASSES + 1, *shape, generator=generator(64), dtype=torch.float64)
        self.calls: list[int] = []

    def __call__(self, x, t, y=None):
        if not isinstance(x, torch.Tensor) or not isinstance(t, torch.Tensor):
            raise AssertionError("the model takes tensors: model(x (B, C, H, W), t (B,), y=labels (B,))")
        if y is None:
            raise AssertionError("the model was called without labels: pass y=torch.cat([y, null]) (the null "
                                 "label for the unconditional half)")
        if len(t) != len(x) or len(y) != len(x):
            raise AssertionError(f"the model got x of batch {len(x)}, t of batch {len(t)} and y of batch {len(y)}: "
                                 "when x is doubled, t and the labels must be doubled too")
        if y.dtype != torch.long or y.min() < 0 or y.max() > NUM_CLASSES:
            raise AssertionError(f"labels must be long integers in [0, {NUM_CLASSES}] ({NUM_CLASSES} is the null "
                                 f"label), got {y.dtype} from {y.min().item()} to {y.max().item()}")
        self.calls.append(len(x))
        scale = (1 + t.double() / 1000).reshape(-1, *([1] * (x.ndim - 1)))
        return x * scale / 2 + self.offsets[y]


def cfg_forward(fn) -> bool:
    """fn(model, x, t, y, w, null_label) -> the CFG estimate from ONE call of model on the doubled batch."""
    fn = limited(fn)
    g = generator(65)
    hint = ("call model once on torch.cat([x, x]), torch.cat([t, t]) with y=torch.cat([y, null]), split the "
            "output with .chunk(2), then combine eps_uncond + w (eps_cond - eps_uncond)")
    for w, B in ((3.0, 4), (0.5, 3), (7.5, 5)):
        shape = (1, 4, 4)
        model = ToyConditionalDenoiser(shape)
        x = torch.randn(B, *shape, generator=g, dtype=torch.float64)
        t = torch.randint(0, 1000, (B,), generator=g)
        y = torch.randint(0, NUM_CLASSES, (B,), generator=g)
        what = f"cfg_forward with w={w} on a batch of {B}"
        got = fn(model, x.clone(), t.clone(), y.clone(), w, NUM_CLASSES)
        calls, model.calls = model.calls, []
        expected = guidance.ClassifierFreeGuidance(model, w)(x, t, y)
        model.calls = []
        cond, uncond = model(x, t, y), model(x, t, torch.full_like(y, NUM_CLASSES))
        zero = model(x, t, torch.zeros_like(y))  # label 0 where the null label belongs
        mistakes = {
            "the two halves are swapped: with the batch built as [conditional, unconditional], the first chunk "
            "is eps_cond and the second eps_uncond": cond + w * (uncond - cond),
            "that is Ho & Salimans' convention, (1 + w) eps_cond - w eps_uncond; in this course w = 1 is plainly "
            "conditional": uncond + (1 + w) * (cond - uncond),
            "the unconditional half used label 0, a real digit: it must use the null label (null_label)":
                zero + w * (cond - zero),
        }
        verdict(got, expected, what, hint=hint, mistakes=mistakes, rtol=1e-6, atol=1e-9)
        if calls != [2 * B]:
            raise AssertionError(f"{what} gives the right numbers, but called the model {len(calls)} time(s) with "
                                 f"batch sizes {calls}; the point of the trick is ONE call on a batch of {2 * B} "
                                 f"(both halves). Hint: {hint}")
    return True
