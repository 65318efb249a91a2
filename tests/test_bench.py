"""The benchmark's own logic (bench/): the parts that turn measurements into the table and the
"seconds to reach a Frechet distance" figures, and the course's system. Timings are never
asserted here; the peers are not installed by make test, so their systems are not built."""
import math
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import digits_vs_peers as bench  # noqa: E402
import systems  # noqa: E402


def _results(frechets: dict[str, list[tuple[float, float]]]) -> dict:
    runs = {}
    for system, points in frechets.items():
        for budget, frechet in points:
            runs[f"{system}@{budget:g}"] = dict(
                system=system, label=system, recipe="tuned", budget=budget, steps=int(budget * 2),
                train_seconds=budget, sample_seconds=3.0, steps_per_second={"fp32": 2.0, "bf16": 3.0},
                precision="bf16", parameters=1_000_000, flops_per_step=5e10, gflops_per_second=150.0,
                frechet=frechet, confident=0.9, class_balance=1.0)
    return dict(runs=runs, peak_gflops=200.0, floor=dict(frechet=40.0, confident=0.99),
                noise=dict(frechet=700.0, confident=0.0),
                machine=dict(cpu="test CPU", cores=2, threads=2, torch="x"))


def test_time_to_reach_interpolates_in_log_distance():
    results = _results({"a": [(150, 100.0), (300, 25.0), (600, 10.0)]})
    # between 150 s (100) and 300 s (25): 50 is halfway in log distance
    assert bench.time_to_reach(results, "a", 50.0) == pytest.approx(225.0)
    assert bench.time_to_reach(results, "a", 25.0) == pytest.approx(300.0)
    assert bench.time_to_reach(results, "a", 200.0) == 150  # already there at the first budget
    assert bench.time_to_reach(results, "a", 5.0) is None  # never reached
    assert bench.time_to_reach(results, "missing", 50.0) is None


def test_runs_with_another_seed_are_averaged_per_budget():
    results = _results({"a": [(150, 100.0), (300, 30.0)]})
    extra = dict(results["runs"]["a@300"], seed=1, frechet=50.0, confident=0.7)
    results["runs"]["a@300#seed1"] = extra
    assert bench.by_budget(results, "a") == [(150, 100.0, 0.9), (300, 40.0, pytest.approx(0.8))]
    assert bench.time_to_reach(results, "a", 40.0) == pytest.approx(300.0)  # the mean, not the best seed
    assert "| a | 300 (seed 1) |" in bench.table(results)


def test_reach_table_gives_seconds_to_multiples_of_the_floor():
    # floor 40: 1.5 x floor = 60, reached by "a" between 150 s (100) and 300 s (25); "b" never
    results = _results({"a": [(150, 100.0), (300, 25.0)], "b": [(300, 61.0)], "c": [(150, 50.0), (300, 45.0)]})
    rows = bench.reach_table(results, factors=(1.5,)).splitlines()
    assert "Frechet 60 (1.5 x floor)" in rows[0]
    expected = 150 + 150 * (math.log(100) - math.log(60)) / (math.log(100) - math.log(25))
    assert rows[2] == f"| a | {expected:.0f} s |"
    assert rows[3] == "| b | not within 300 s |"
    assert rows[4] == "| c | <= 150 s |"  # there already at its first budget: an upper bound


def test_table_has_one_row_per_run_and_the_fraction_of_peak():
    results = _results({"a": [(150, 100.0), (300, 25.0)], "b": [(300, 60.0)]})
    text = bench.table(results)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 3  # the header and three runs
    assert "150 (75%)" in rows[1]  # 150 GFLOP/s of a 200 GFLOP/s peak
    assert "Frechet 40.0" in text and "test CPU" in text
    assert "chance" not in text  # no spread measured, none claimed
    results.update(floor_spread=dict(mean=38.0, std=4.5, repeats=10), protocol=dict(samples=500))
    assert "ten random sets of 500 real digits score 38.0 +- 4.5" in bench.table(results)


def test_diagnose_separates_copies_of_the_training_set_from_new_real_digits():
    data, test_images, oracle = bench._judging_kit()
    itself = bench.diagnose(test_images, oracle, test_images, data)
    assert itself["mean_term"] == pytest.approx(0.0, abs=1e-9)
    assert itself["diversity"] == pytest.approx(1.0) and itself["copying"] == pytest.approx(1.0)
    copies = bench.diagnose(data[:360], oracle, test_images, data)
    assert copies["copying"] == 0.0  # every sample is a training digit
    alike = bench.diagnose(test_images[:1].repeat(360, 1, 1, 1), oracle, test_images, data)
    assert alike["diversity"] == pytest.approx(0.0, abs=1e-9)  # one digit 360 times: no spread at all
    assert alike["mean_term"] > itself["mean_term"]


def test_held_out_loss_is_the_eps_loss_on_test_digits_with_fixed_noise():
    data, test_images, _ = bench._judging_kit()
    trained = bench.train_steps(systems.SYSTEMS["course"], 1, False, data)
    loss = bench.held_out_loss(trained, test_images, repeats=2)
    assert loss == bench.held_out_loss(trained, test_images, repeats=2)  # the same t and noise every call
    # the U-Net's output layer starts at zero: it predicts eps = 0, so the loss is E[eps^2] = 1
    assert loss == pytest.approx(1.0, abs=0.05)


def test_spread_table_separates_seeds_from_sample_sets():
    results = _results({"a": [(600, 50.0)], "b": [(600, 70.0)]})
    diagnosis = dict(mean_term=5.0, diversity=0.9, copying=0.8)
    results["runs"]["a@600"].update(final_loss=0.04, diagnosis=diagnosis, resamples=[
        dict(frechet=52.0, confident=0.9, diagnosis=diagnosis), dict(frechet=54.0, confident=0.9, diagnosis=diagnosis)])
    results["runs"]["a@600#seed1"] = dict(results["runs"]["a@600"], seed=1, frechet=60.0, resamples=[],
                                          final_loss=0.06, test_loss=0.05)
    results["runs"]["b@600"]["final_loss"] = 0.07
    rows = bench.spread_table(results).splitlines()
    assert len(rows) == 2 + 2  # the header, its rule, one row per system and budget
    # over seeds: 50 and 60; every set judged: 50, 52, 54 (seed 0) and 60 (seed 1); over the sets
    # of seed 0's weights: 50, 52, 54 (std 2); training loss over seeds: 0.04 and 0.06; the
    # held-out loss measured on seed 1 only
    assert rows[2] == "| a | 600 | 2 | 55.0 +- 7.1 | 4, 54.0 | 2.0 | 0.90 | 0.80 | 0.0500 | 0.0500 (1) |"
    assert rows[3] == "| b | 600 | 1 | 70.0 | 1, 70.0 |  |  |  | 0.0700 |  |"  # nothing resampled or diagnosed


def test_the_torchvision_stand_in_is_on_the_path_only_inside_the_context():
    before = list(sys.path)
    with systems.stand_in_torchvision():
        import torchvision

        assert hasattr(torchvision, "transforms") and hasattr(torchvision, "utils")
    assert sys.path == before
    assert "torchvision" not in sys.modules  # diffusers, imported later, must not find it


def test_course_system_trains_and_samples_in_range():
    data = torch.rand(64, 1, 16, 16) * 2 - 1
    trained = bench.train_steps(systems.SYSTEMS["course"], 3, False, data)
    assert len(trained["losses"]) == 3 and all(math.isfinite(x) for x in trained["losses"])
    images = trained["built"].sample(trained["weights"], 4, 0)
    assert images.shape == (4, 1, 16, 16) and images.min() >= -1 and images.max() <= 1
    # the EMA weights are a separate copy of the model
    assert trained["weights"] is not trained["built"].model


def test_every_system_names_a_recipe_and_the_tuned_recipe_is_the_protocols():
    assert systems.TUNED.lr == 1e-3 and systems.TUNED.grad_clip == 1.0 and systems.TUNED.ema == "course"
    assert {s.recipe.name for s in systems.SYSTEMS.values()} == {"tuned", "default"}
    assert systems.SYSTEMS["course"].needs == ()  # runs without any peer installed


def test_the_committed_results_match_their_tables_and_the_book_page_shows_them():
    """bench/results/ is what the book's "How good is this library?" page shows: its tables must
    be the ones the committed measurements give (rerun `--report` after editing either)."""
    import json

    path = BENCH / "results" / "digits_vs_peers-cpu2.json"
    results = json.loads(path.read_text())
    assert path.with_suffix(".md").read_text() == bench.table(results) + "\n"
    assert path.with_name(path.stem + "-reach.md").read_text() == bench.reach_table(results) + "\n"
    assert path.with_name(path.stem + "-spread.md").read_text() == bench.spread_table(results) + "\n"
    page = (BENCH.parent / "book" / "how_good.md").read_text()
    for name in (path.with_suffix(".png").name, path.with_suffix(".md").name, path.stem + "-reach.md",
                 path.stem + "-spread.md"):
        assert f"../bench/results/{name}" in page, f"book/how_good.md does not show {name}"
        assert (BENCH / "results" / name).exists()
