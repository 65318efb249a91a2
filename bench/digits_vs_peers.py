"""Same data, same machine, same wall time: the course's digits U-Net against two libraries.

    python bench/digits_vs_peers.py                          # budgets 150 300 600 s, every system
    python bench/digits_vs_peers.py --budgets 30 60 --systems course diffusers-tuned

Protocol (bench/README.md says why):
1. digits16: scikit-learn's digits, the library's fixed 80/20 split, [-1, 1], 16x16.
2. For each system, calibrate: time training steps in float32 and under bf16 autocast, keep the
   faster, and count the FLOPs of one step (forward and backward, FlopCounterMode).
3. For each budget B: train from scratch for N = B x (calibrated steps/s) steps, batch 128, with
   the system's recipe, so that N does not depend on what else ran during training.
4. Draw 500 samples (50 deterministic DDIM steps, from the EMA weights where there are any) and
   judge them with the course's oracle (chapter 4): the Frechet distance of its features to the
   360 test digits, and the fraction it classifies with confidence above 0.9.
5. At the end, time each system's sampler once more, one after the other (the sampling column;
   the timings taken during the runs are kept too, but the machine may have been busier then).

Results go to bench/results/digits_vs_peers-<device>.json (after every run, so an interrupted
bench keeps what it measured), a table on stdout and in a .md file, and a plot of quality against
training seconds.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # silence denoising-diffusion-pytorch's sampling progress bar; before
    os.environ.setdefault("TQDM_DISABLE", "1")  # torch, which imports tqdm, which reads it then

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))  # run as a script: systems.py sits beside it

from systems import SYSTEMS, Recipe  # noqa: E402

RESULTS = Path(__file__).parent / "results"
BATCH, SAMPLES, WARMUP = 128, 500, 100
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # the same protocol on a GPU


# ----------------------------------------------------------------------------- the machine
def machine() -> dict:
    """What ran the bench: CPU model, cores and threads, or the GPU; torch's version."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def matmul_peak(seconds: float = 3.0) -> float:
    """float32 GFLOP/s of square matrix products on the bench's device: the peak a training step
    is measured against (2 n^3 FLOPs per product; n = 1024 on a CPU, 8192 on a GPU)."""
    n = 8192 if DEVICE.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=DEVICE), torch.randn(n, n, device=DEVICE)
    a @ b  # warm-up
    _synchronize()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
        _synchronize()
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def _synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------------------ training
def autocast(bf16: bool):
    return torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=bf16)


def make_optimizer(model, recipe: Recipe, steps: int):
    from diffusion_edu.train import warmup_cosine

    kind = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.Adam
    optimizer = kind(model.parameters(), lr=recipe.lr, betas=recipe.betas)
    schedule = None
    if recipe.warmup_cosine:
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, WARMUP, steps))
    return optimizer, schedule


def make_ema(model, recipe: Recipe):
    """The weights to sample from, and the function that updates them after each step."""
    if recipe.ema == "course":
        from diffusion_edu.train import EMA

        ema = EMA(model, 0.995)
        return (lambda: ema.model), (lambda: ema.update(model))
    if recipe.ema == "lucidrains":  # what its Trainer does: ema_pytorch, beta 0.995, every 10 steps
        from ema_pytorch import EMA

        ema = EMA(model, beta=0.995, update_every=10)
        return (lambda: ema.ema_model), ema.update
    return (lambda: model), (lambda: None)


def train_steps(system, steps: int, bf16: bool, data, seed: int = 0, built=None) -> dict:
    """Train a freshly built ``system`` for ``steps`` steps; return the weights to sample from,
    the losses and the seconds it took."""
    torch.manual_seed(seed)
    built = built or system.build()
    model, recipe = built.model.to(DEVICE), system.recipe
    generator = torch.Generator().manual_seed(seed)
    optimizer, schedule = make_optimizer(model, recipe, steps)
    weights, update_ema = make_ema(model, recipe)
    model.train()
    losses, start = [], time.perf_counter()
    for _ in range(steps):
        x0 = data[torch.randint(0, len(data), (BATCH,), generator=generator)].to(DEVICE)  # (128, 1, 16, 16)
        with autocast(bf16):
            loss = built.loss(x0, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        update_ema()
        losses.append(loss.detach())
    losses = torch.stack(losses).tolist()  # one synchronisation at the end, not one per step
    seconds = time.perf_counter() - start
    model.eval()
    return {"built": built, "weights": weights().eval(), "losses": losses, "seconds": seconds}


def calibrate(system, data, seconds: float = 8.0) -> dict:
    """Steps per second in float32 and (where the CPU has native bf16) under bf16 autocast, after
    a few warm-up steps; and the FLOPs of one step. The faster precision is the one trained."""
    from torch.utils.flop_counter import FlopCounterMode

    from diffusion_edu.train import bf16_supported

    rates = {}
    for bf16 in (False, True) if bf16_supported(DEVICE) else (False,):
        built = system.build()
        train_steps(system, 3, bf16, data, built=built)  # warm-up (allocations, kernels)
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or steps < 5:
            train_steps(system, 10 if DEVICE.type == "cuda" else 1, bf16, data, seed=steps, built=built)
            steps += 10 if DEVICE.type == "cuda" else 1
        rates["bf16" if bf16 else "fp32"] = steps / (time.perf_counter() - start)
    built = system.build()
    built.model.to(DEVICE)
    x0 = data[:BATCH].to(DEVICE)
    with FlopCounterMode(display=False) as counter:
        built.loss(x0, torch.Generator().manual_seed(0)).backward()
    best = max(rates, key=rates.get)
    return {"steps_per_second": rates, "precision": best, "flops_per_step": counter.get_total_flops(),
            "parameters": built.parameters}


def sampling_speed(systems: list[str], samples: int, path: Path) -> dict:
    """Seconds to draw ``samples`` images with each system's sampler (50 DDIM steps), timed on
    freshly built weights (speed does not depend on them), one system after the other: run it on
    a quiet machine. Stored in the results under "sampling_seconds"."""
    results = json.loads(path.read_text())
    timings = results.setdefault("sampling_seconds", {})
    for name in systems:
        built = SYSTEMS[name].build()
        built.model.to(DEVICE).eval()
        weights = built.model
        built.sample(weights, 8, 0)  # warm-up
        start = time.perf_counter()
        built.sample(weights, samples, 0)
        timings[name] = time.perf_counter() - start
        print(f"{name}: {samples} samples in {timings[name]:.1f} s", flush=True)
    path.write_text(json.dumps(results, indent=1))
    return results


# ---------------------------------------------------------------------------------- judge
def judge_samples(samples, oracle, test_images) -> dict:
    from diffusion_edu.evaluate import judge

    verdict = judge(samples, oracle, test_images)
    return {"frechet": verdict["frechet"], "confident": verdict["confident"], "class_balance": verdict["class_balance"]}


def diagnose(samples, oracle, test_images, data) -> dict:
    """Why a Frechet distance is what it is, in three numbers:

    - ``mean_term``: the part of the distance that is || mu_samples - mu_test ||^2 in the oracle's
      features (the rest comes from the covariances: the samples vary too little, too much, or
      in other directions than real digits);
    - ``diversity``: Tr(S_samples) / Tr(S_test), the spread of the samples' features against the
      test digits' (below 1: the samples are more alike than real digits are);
    - ``copying``: the median pixel distance from a sample to its nearest training digit, divided
      by the same for the test digits (below 1: samples sit closer to training digits than new
      real digits do, the sign of a model that reproduces its training set)."""
    from diffusion_edu.metrics import classifier_outputs

    _, f_samples = classifier_outputs(oracle, samples)  # (N, 64)
    _, f_test = classifier_outputs(oracle, test_images)  # (M, 64)
    f_samples, f_test = f_samples.double(), f_test.double()
    mean_term = (f_samples.mean(0) - f_test.mean(0)).square().sum().item()
    diversity = (torch.cov(f_samples.T).trace() / torch.cov(f_test.T).trace()).item()

    def nearest(images):  # (K,): distance to the closest training digit
        return torch.cdist(images.flatten(1).double(), data.flatten(1).double()).min(1).values

    copying = (nearest(samples).median() / nearest(test_images).median()).item()
    return {"mean_term": mean_term, "diversity": diversity, "copying": copying}


@torch.no_grad()
def held_out_loss(trained: dict, test_images, repeats: int = 8) -> float:
    """The training objective of the weights that sampled (the EMA's, where there is one) on the
    360 test digits, which no system trains on: the mean of ``repeats`` passes, each with fresh
    t and noise from a fixed generator, in float32. Every tuned system predicts eps under the same
    cosine schedule, so the numbers compare directly, and with far less noise than a Frechet
    distance of 500 samples."""
    built = trained["built"]
    built.model.load_state_dict(trained["weights"].state_dict())  # the weights that sampled
    built.model.eval()
    generator = torch.Generator().manual_seed(1234)
    x0 = test_images.to(DEVICE)
    return sum(built.loss(x0, generator).item() for _ in range(repeats)) / repeats


def floor_spread(data, oracle, test_images, samples: int, repeats: int = 10) -> dict:
    """The Frechet distance of ``repeats`` random sets of ``samples`` real training digits: its
    standard deviation is how far two equally good samplers' scores can lie apart by chance."""
    scores = []
    for seed in range(repeats):
        chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:samples]
        scores.append(judge_samples(data[chosen], oracle, test_images)["frechet"])
    scores = torch.tensor(scores)
    return {"mean": scores.mean().item(), "std": scores.std().item(), "repeats": repeats}


def _judging_kit():
    """The data, the test images and the oracle every run is judged with."""
    from diffusion_edu import checkpoints
    from diffusion_edu.data.digits import load_digits16

    data, _ = load_digits16("train")  # (1437, 1, 16, 16) in [-1, 1]
    test_images, _ = load_digits16("test")  # (360, 1, 16, 16)
    oracle, _ = checkpoints.load("digits16_oracle")
    return data, test_images, oracle


def run(systems: list[str], budgets: list[float], default_budgets: list[float], out: Path, samples: int,
        calibration_seconds: float = 8.0, seed: int = 0, resamples: int = 0) -> dict:
    """Calibrate every system, then train, sample and judge it at each budget; ``seed`` seeds the
    model's initialisation, the batches, the noise and the samples (a run with another seed is
    stored beside the seed-0 run, and the plot and the reach table average over seeds).
    ``resamples`` more sets of samples (seeds seed + 1000 k) are judged from the same weights, to
    measure how much of a run's score is the luck of its samples; every set is diagnosed."""
    data, test_images, oracle = _judging_kit()
    path = out / f"digits_vs_peers-{device_tag()}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update(machine=machine(), protocol=dict(batch=BATCH, samples=samples, sampler="ddim-50"))
    if "peak_gflops" not in results:
        results["peak_gflops"] = matmul_peak()
    results["floor"] = judge_samples(data[:samples], oracle, test_images)
    results["floor_spread"] = floor_spread(data, oracle, test_images, samples)
    results["noise"] = judge_samples(torch.randn(samples, 1, 16, 16).clamp(-1, 1), oracle, test_images)
    runs = results.setdefault("runs", {})
    # every calibration first, on a quiet machine; the long training runs after them only get
    # slower, not shorter, if something else runs meanwhile
    calibrations = {}
    for name in systems:
        calibrations[name] = calibration = calibrate(SYSTEMS[name], data, calibration_seconds)
        print(f"{name}: {calibration['parameters'] / 1e6:.2f}M parameters, "
              + ", ".join(f"{k} {v:.2f} steps/s" for k, v in calibration["steps_per_second"].items()), flush=True)
    for name in systems:
        system, calibration = SYSTEMS[name], calibrations[name]
        rate = calibration["steps_per_second"][calibration["precision"]]
        for budget in budgets if system.recipe.name == "tuned" else default_budgets:
            steps = max(1, round(budget * rate))
            trained = train_steps(system, steps, calibration["precision"] == "bf16", data, seed)
            start = time.perf_counter()
            images = trained["built"].sample(trained["weights"], samples, seed)
            sample_seconds = time.perf_counter() - start
            verdict = judge_samples(images, oracle, test_images)
            verdict["diagnosis"] = diagnose(images, oracle, test_images, data)
            verdict["test_loss"] = held_out_loss(trained, test_images)
            if resamples:
                verdict["resamples"] = []
                for k in range(1, resamples + 1):
                    more = trained["built"].sample(trained["weights"], samples, seed + 1000 * k)
                    verdict["resamples"].append(dict(judge_samples(more, oracle, test_images),
                                                     diagnosis=diagnose(more, oracle, test_images, data)))
            runs[f"{name}@{budget:g}" + (f"#seed{seed}" if seed else "")] = dict(
                system=name, label=system.label, recipe=system.recipe.name, budget=budget, seed=seed, steps=steps,
                train_seconds=trained["seconds"], sample_seconds=sample_seconds,
                final_loss=sum(trained["losses"][-50:]) / len(trained["losses"][-50:]),
                gflops_per_second=calibration["flops_per_step"] * rate / 1e9, **calibration, **verdict)
            print(f"{name} at {budget:g} s (seed {seed}): {steps} steps in {trained['seconds']:.0f} s, Frechet "
                  f"{verdict['frechet']:.1f}, confident {verdict['confident']:.2f}, sampling {sample_seconds:.1f} s",
                  flush=True)
            out.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(results, indent=1))
    return results


def device_tag() -> str:
    return "gpu" if torch.cuda.is_available() else f"cpu{os.cpu_count()}"


# ------------------------------------------------------------------------ table and plot
def table(results: dict) -> str:
    """The results as a Markdown table, one row per run, in the order they ran."""
    peak = results["peak_gflops"]
    lines = [
        "| system | budget (s) | params | precision | steps/s | steps | trained (s) | GFLOP/s (of peak) | "
        "Frechet | confident | sampling 500 (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    quiet = results.get("sampling_seconds", {})  # timed on a quiet machine, if measured
    for run in results["runs"].values():
        rate = run["steps_per_second"][run["precision"]]
        sampling = quiet.get(run["system"], run["sample_seconds"])
        lines.append(
            f"| {run['label']} | {run['budget']:g}{f' (seed {seed})' if (seed := run.get('seed', 0)) else ''} | "
            f"{run['parameters'] / 1e6:.2f}M | {run['precision']} | "
            f"{rate:.2f} | {run['steps']} | {run['train_seconds']:.0f} | "
            f"{run['gflops_per_second']:.0f} ({run['gflops_per_second'] / peak:.0%}) | {run['frechet']:.1f} | "
            f"{run['confident']:.2f} | {sampling:.1f} |")
    floor, noise = results["floor"], results["noise"]
    m = results["machine"]
    lines += [
        "",
        f"Real training digits score Frechet {floor['frechet']:.1f}, confident {floor['confident']:.2f} (the "
        f"floor)" + (f"; ten random sets of {results['protocol']['samples']} real digits score "
                     f"{spread['mean']:.1f} +- {spread['std']:.1f}, so Frechet differences of a few units are "
                     f"chance" if (spread := results.get("floor_spread")) else "") + f"; Gaussian noise {noise['frechet']:.0f}, {noise['confident']:.2f}. Machine: {m['cpu']}, "
        f"{m['cores']} cores, {m['threads']} threads, torch {m['torch']}"
        + (f", {m['gpu']}" if "gpu" in m else "") + f"; float32 matmul peak {peak:.0f} GFLOP/s.",
    ]
    return "\n".join(lines)


def reach_table(results: dict, factors: tuple[float, ...] = (2.0, 1.5, 1.25)) -> str:
    """Seconds of training each system needs to reach Frechet distances a little above the floor
    (``factors`` times the real digits' score), as a Markdown table: a budget-free summary.
    "<= B" means the system was already there at its smallest budget B."""
    floor = results["floor"]["frechet"]
    labels = {r["system"]: r["label"] for r in results["runs"].values()}
    lines = ["| system | " + " | ".join(f"to Frechet {f * floor:.0f} ({f:g} x floor)" for f in factors) + " |",
             "|---|" + "---|" * len(factors)]
    for system, label in labels.items():
        budgets = sorted(r["budget"] for r in results["runs"].values() if r["system"] == system)
        cells = []
        for factor in factors:
            seconds = time_to_reach(results, system, factor * floor)
            if seconds is None:
                cells.append(f"not within {budgets[-1]:g} s")
            else:
                cells.append(f"<= {seconds:.0f} s" if seconds == budgets[0] else f"{seconds:.0f} s")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spread_table(results: dict) -> str:
    """How far apart runs of one system at one budget land, as a Markdown table: the Frechet
    distance over training seeds (each run's first sample set, the protocol's score), the mean
    over every sample set judged (all seeds, resamples included: the most precise figure), the
    standard deviation over sample sets drawn from the same weights (where runs were resampled),
    the diagnosis of every sample set (diversity and copying, see :func:`diagnose`), and two
    numbers with far less noise: the training loss of the last 50 steps and the loss on the test
    digits (:func:`held_out_loss`, where measured), each averaged over the seeds."""
    groups = {}
    for r in results["runs"].values():
        groups.setdefault((r["label"], r["budget"]), []).append(r)
    lines = ["| system | budget (s) | seeds | Frechet over seeds | every sample set: n, mean | std over the sets "
             "of one model | diversity | copying | training loss | held-out loss |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def mean_std(values):
        values = torch.tensor(values, dtype=torch.float64)
        return values.mean().item(), (values.std().item() if len(values) > 1 else float("nan"))

    for (label, budget), runs in groups.items():
        mean, std = mean_std([r["frechet"] for r in runs])
        over_seeds = f"{mean:.1f}" + (f" +- {std:.1f}" if len(runs) > 1 else "")
        within = [mean_std([r["frechet"]] + [s["frechet"] for s in r["resamples"]])[1] for r in runs if r.get("resamples")]
        sets = [(r["frechet"], r["diagnosis"]) for r in runs if "diagnosis" in r]
        sets += [(s["frechet"], s["diagnosis"]) for r in runs for s in r.get("resamples", [])]
        every = [r["frechet"] for r in runs] + [s["frechet"] for r in runs for s in r.get("resamples", [])]
        cells = [label, f"{budget:g}", str(len(runs)), over_seeds, f"{len(every)}, {sum(every) / len(every):.1f}",
                 f"{sum(within) / len(within):.1f}" if within else ""]
        if sets:
            cells += [f"{sum(d['diversity'] for _, d in sets) / len(sets):.2f}",
                      f"{sum(d['copying'] for _, d in sets) / len(sets):.2f}"]
        else:
            cells += ["", ""]
        cells.append(f"{sum(r['final_loss'] for r in runs) / len(runs):.4f}")
        held_out = [r["test_loss"] for r in runs if "test_loss" in r]
        cells.append(f"{sum(held_out) / len(held_out):.4f} ({len(held_out)})" if held_out else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def by_budget(results: dict, system: str) -> list[tuple[float, float, float]]:
    """(budget, Frechet, confident fraction) of ``system``'s runs, by budget, each the mean over
    the seeds run at that budget."""
    groups = {}
    for r in results["runs"].values():
        if r["system"] == system:
            groups.setdefault(r["budget"], []).append(r)
    return [(budget, sum(r["frechet"] for r in rs) / len(rs), sum(r["confident"] for r in rs) / len(rs))
            for budget, rs in sorted(groups.items())]


def time_to_reach(results: dict, system: str, frechet: float) -> float | None:
    """Training seconds at which ``system``'s Frechet distance first reaches ``frechet``,
    interpolated linearly in log-distance between measured budgets; None if it never does."""
    points = [(budget, frechet) for budget, frechet, _ in by_budget(results, system)]
    if points and points[0][1] <= frechet:
        return points[0][0]
    for (b0, f0), (b1, f1) in zip(points, points[1:]):
        if f1 <= frechet < f0:
            return b0 + (b1 - b0) * (math.log(f0) - math.log(frechet)) / (math.log(f0) - math.log(f1))
    return None


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.8))
    labels = {r["system"]: r["label"] for r in results["runs"].values()}
    for name, label in labels.items():
        x, frechet, confident = zip(*by_budget(results, name))  # means over seeds
        style = dict(marker="o", lw=2.5 if name == "course" else 1.5, label=label)
        line, = left.plot(x, frechet, **style)
        right.plot(x, confident, **style)
        runs = [r for r in results["runs"].values() if r["system"] == name]
        if len(runs) > len(x):  # several seeds somewhere: show each run too
            left.scatter([r["budget"] for r in runs], [r["frechet"] for r in runs], s=12, color=line.get_color(),
                         alpha=0.5)
            right.scatter([r["budget"] for r in runs], [r["confident"] for r in runs], s=12,
                          color=line.get_color(), alpha=0.5)
    left.axhline(results["floor"]["frechet"], color="grey", ls="--", lw=1, label="real digits (floor)")
    if spread := results.get("floor_spread"):  # how far equally good samples scatter by chance
        left.axhspan(spread["mean"] - spread["std"], spread["mean"] + spread["std"], color="grey", alpha=0.15,
                     label=f"{spread['repeats']} sets of real digits, mean +- 1 std")
    right.axhline(results["floor"]["confident"], color="grey", ls="--", lw=1)
    left.set(xlabel="training seconds", ylabel="Frechet distance (lower is better)", yscale="log",
             title="Sample quality against training time")
    right.set(xlabel="training seconds", ylabel="confidently classified (higher is better)", ylim=(0, 1.02),
              title="Digits the oracle recognises")
    handles, names = left.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=3, fontsize=8, frameon=False)
    m = results["machine"]
    fig.suptitle(f"digits16, same protocol for every system; {m.get('gpu') or m['cpu']}, {m['threads']} threads",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0.16, 1, 1))  # room for the legend below the plots
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", type=float, nargs="+", default=[150, 300, 600],
                        help="training seconds per run, for the tuned systems (default 150 300 600)")
    parser.add_argument("--default-budgets", type=float, nargs="+",
                        help="budgets for the peers' default recipes (default: the largest budget)")
    parser.add_argument("--systems", nargs="+", choices=sorted(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the runs (default 0); runs with other seeds are added beside them")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="generated images judged per run")
    parser.add_argument("--resamples", type=int, default=0,
                        help="more sample sets judged per run, from the same weights (default 0)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--calibration-seconds", type=float, default=8.0,
                        help="seconds of timed steps per system and precision (default 8)")
    parser.add_argument("--report", action="store_true", help="only print the table and redraw the plot")
    parser.add_argument("--sampling-speed", action="store_true",
                        help="only time each system's sampler on a quiet machine and add it to the results")
    args = parser.parse_args(argv)
    path = args.out / f"digits_vs_peers-{device_tag()}.json"
    if args.report:
        results = json.loads(path.read_text())
        if "floor_spread" not in results:  # results from before the bench measured it
            data, test_images, oracle = _judging_kit()
            results["floor_spread"] = floor_spread(data, oracle, test_images, results["protocol"]["samples"])
            path.write_text(json.dumps(results, indent=1))
    elif args.sampling_speed:
        results = sampling_speed(args.systems, args.samples, path)
    else:
        missing = [f"{s} needs {p}" for s in args.systems for p in SYSTEMS[s].needs if not _importable(p)]
        if missing:
            sys.exit("missing peers (make bench installs them): " + "; ".join(missing))
        results = run(args.systems, args.budgets, args.default_budgets or [max(args.budgets)], args.out, args.samples,
                      args.calibration_seconds, args.seed, args.resamples)
        results = sampling_speed(args.systems, args.samples, path)  # the table's sampling column
    runs, reach, spread = table(results), reach_table(results), spread_table(results)
    print(runs + "\n\n" + reach + "\n\n" + spread)
    reach_path, spread_path = path.with_name(path.stem + "-reach.md"), path.with_name(path.stem + "-spread.md")
    path.with_suffix(".md").write_text(runs + "\n")
    reach_path.write_text(reach + "\n")
    spread_path.write_text(spread + "\n")
    plot(results, path.with_suffix(".png"))
    print(f"wrote {path}, {path.with_suffix('.md')}, {reach_path}, {spread_path} and {path.with_suffix('.png')}")


def _importable(package: str) -> bool:
    from importlib.util import find_spec

    return find_spec(package) is not None


if __name__ == "__main__":
    main()
