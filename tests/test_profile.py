"""profile.py: smoke / cpu / gpu sizes, chosen by argument, environment or hardware."""
from __future__ import annotations

from dataclasses import fields

import pytest
import torch

from diffusion_edu.profile import ENV_VAR, PROFILES, Profile, describe, get_profile

INT_FIELDS = [f.name for f in fields(Profile) if f.type in (int, "int")]


def test_every_profile_is_registered_under_its_name():
    assert sorted(PROFILES) == ["cpu", "gpu", "smoke"]
    assert all(PROFILES[name].name == name for name in PROFILES)
    assert PROFILES["gpu"].device == "cuda" and PROFILES["cpu"].device == "cpu"


def test_profile_has_size_fields():
    assert len(INT_FIELDS) >= 8  # guard: the ordering test below must have something to compare
    assert all(isinstance(getattr(p, name), int) and getattr(p, name) > 0
               for p in PROFILES.values() for name in INT_FIELDS)


@pytest.mark.parametrize("field", INT_FIELDS)
def test_smoke_is_smaller_than_cpu_and_cpu_no_larger_than_gpu(field):
    smoke, cpu, gpu = (getattr(PROFILES[name], field) for name in ("smoke", "cpu", "gpu"))
    assert smoke < cpu, f"{field}: smoke {smoke} is not smaller than cpu {cpu}"
    # ddim_steps is 50 on both cpu and gpu (the usual DDIM step count): equal is allowed here
    assert cpu <= gpu, f"{field}: cpu {cpu} is larger than gpu {gpu}"
    assert smoke < gpu


def test_get_profile_reads_the_environment_variable(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "smoke")
    assert get_profile() is PROFILES["smoke"]
    monkeypatch.setenv(ENV_VAR, "  CPU ")  # case and spaces forgiven
    assert get_profile() is PROFILES["cpu"]


def test_the_argument_overrides_the_environment(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "cpu")
    assert get_profile("smoke") is PROFILES["smoke"]


@pytest.mark.parametrize("cuda, expected", [(False, "cpu"), (True, "gpu")])
def test_without_argument_or_environment_the_hardware_decides(monkeypatch, cuda, expected):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert get_profile().name == expected


def test_gpu_profile_without_cuda_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=f"needs a CUDA device.*{ENV_VAR}=cpu"):
        get_profile("gpu")


def test_unknown_profile_lists_the_known_ones(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown profile 'fast'.*\['cpu', 'gpu', 'smoke'\]"):
        get_profile("fast")
    monkeypatch.setenv(ENV_VAR, "tiny")
    with pytest.raises(ValueError, match=f"unknown profile 'tiny'.*{ENV_VAR}"):
        get_profile()


def test_describe_names_the_profile_and_every_size():
    line = describe(PROFILES["smoke"])
    assert line.startswith("profile 'smoke' on cpu:")
    for name in INT_FIELDS:
        assert f"{name}={getattr(PROFILES['smoke'], name)}" in line


def test_profiles_are_frozen():
    with pytest.raises(AttributeError):
        PROFILES["smoke"].toy_steps = 1
