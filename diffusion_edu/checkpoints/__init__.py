"""Small pretrained weights that ship with the package, loaded offline by name.

Each checkpoint is two files in this folder:

- ``NAME.pt``: the model's ``state_dict`` (float16 where that loses nothing visible, to stay small);
- ``NAME.json``: what produced it and how to rebuild the model: the recipe name, the model class
  and its config, the noise schedule, the training time and device, the metrics measured on it,
  and the SHA-256 of ``NAME.pt``, checked on every load.

``python -m diffusion_edu.train RECIPE`` reproduces a checkpoint from its recipe; chapters load
them so that the ``smoke`` profile runs in seconds and later chapters need not retrain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

FOLDER = Path(str(resources.files("diffusion_edu") / "checkpoints"))


def available(folder: Path | None = None) -> list[str]:
    """Names of the checkpoints shipped with the package (or found in ``folder``)."""
    return sorted(p.stem for p in Path(folder or FOLDER).glob("*.json"))


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_from_config(kind: str, config: dict) -> nn.Module:
    """Build an untrained model of class ``kind`` from its saved config."""
    from .. import models

    if kind == "UNet":
        from ..models.unet import UNet, UNetConfig

        return UNet(UNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}))
    if kind == "TextToImage":
        from ..models.text_to_image import TextToImage, TextToImageConfig

        return TextToImage(TextToImageConfig(**config))
    if kind == "MLPDenoiser":
        return models.MLPDenoiser(**config)
    if kind in ("ImageClassifier", "NoisyImageClassifier"):
        from ..models import classifier

        return getattr(classifier, kind)(**config)
    raise ValueError(f"unknown model class {kind!r} in checkpoint: expected UNet, TextToImage, MLPDenoiser, "
                     "ImageClassifier or NoisyImageClassifier")


def load(name: str, device: str | torch.device = "cpu", folder: Path | None = None) -> tuple[nn.Module, dict]:
    """The model of checkpoint ``name`` (in eval mode, float32) and its metadata dict."""
    folder = Path(folder or FOLDER)
    meta_path, weights_path = folder / f"{name}.json", folder / f"{name}.pt"
    if not meta_path.exists():
        raise ValueError(f"unknown checkpoint {name!r}: expected one of {available(folder)}")
    meta = json.loads(meta_path.read_text())
    if not weights_path.exists():
        raise FileNotFoundError(f"{weights_path} is missing: reinstall the package or rerun its recipe")
    digest = sha256(weights_path)
    if digest != meta["sha256"]:
        raise ValueError(
            f"checkpoint {name!r} is corrupt or was replaced: SHA-256 {digest[:12]}..., expected "
            f"{meta['sha256'][:12]}...; rerun `python -m diffusion_edu.train {meta['recipe']}`"
        )
    model = model_from_config(meta["model_class"], meta["model_config"])
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device).eval(), meta


def save(name: str, model: nn.Module, model_class: str, model_config, meta: dict, folder: Path | None = None,
         half: bool = True) -> Path:
    """Write ``name``.pt and ``name``.json into ``folder`` (default: the package's own folder)."""
    folder = Path(folder or FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    weights_path = folder / f"{name}.pt"
    torch.save(state, weights_path)
    config = asdict(model_config) if is_dataclass(model_config) else dict(model_config)
    record = {"name": name, "model_class": model_class, "model_config": config, **meta, "sha256": sha256(weights_path)}
    (folder / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return weights_path
