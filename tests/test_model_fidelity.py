"""The model equals the authors' implementation on their own outputs (../shared/reference/case_*.pt)."""

from __future__ import annotations

import pytest
import torch

from diffsv.losses import AAMSoftmax
from diffsv.models import DiffSV, convert_reference_state_dict, prior_loss

ENHANCER_TOL = 1e-5  # enhancer output and losses
LOOSE_TOL = 1e-4  # front end, z0_hat, embedding


def relative_error(ours: torch.Tensor, reference: torch.Tensor) -> float:
    """Largest absolute difference over the largest absolute reference value."""
    return float((ours - reference).abs().max() / reference.abs().max())


@pytest.fixture(scope="module", params=["case_a", "case_b"])
def case(request, reference_dir):
    data = torch.load(reference_dir / f"{request.param}.pt", weights_only=True)
    model = DiffSV()
    model.load_state_dict(convert_reference_state_dict(data["state_dict"]), strict=True)
    model.eval()
    return model, data


def test_front_end(case):
    model, data = case
    assert relative_error(model.frontend(data["noisy_wav"]), data["noisy_fbank"]) < LOOSE_TOL
    assert relative_error(model.frontend(data["clean_wav"]), data["clean_fbank"]) < LOOSE_TOL


@torch.no_grad()
def test_enhancer(case):
    model, data = case
    assert relative_error(model.enhancer(data["noisy_fbank"]), data["x_hat"]) < ENHANCER_TOL


def test_sampler(case):
    model, data = case
    z0_hat = model.diffusion.sample(data["x_hat"], init_noise=data["init_noise"], steps=10)
    assert relative_error(z0_hat, data["z0_hat"]) < LOOSE_TOL


@torch.no_grad()
def test_extractor(case):
    model, data = case
    embedding = model.extractor(data["noisy_fbank"], data["x_hat"], data["z0_hat"])
    assert relative_error(embedding, data["embedding"]) < LOOSE_TOL


@torch.no_grad()
def test_embed_end_to_end(case):
    model, data = case
    embedding = model.embed(data["noisy_wav"], init_noise=data["init_noise"])
    assert relative_error(embedding, data["embedding"]) < LOOSE_TOL


@torch.no_grad()
def test_losses(case):
    model, data = case
    assert relative_error(prior_loss(data["clean_fbank"], data["x_hat"]), data["prior_loss"]) < ENHANCER_TOL
    diffusion = model.diffusion.loss(data["clean_fbank"], data["x_hat"], t=data["t"], noise=data["loss_noise"])
    assert relative_error(diffusion, data["diffusion_loss"]) < ENHANCER_TOL
    aam = AAMSoftmax(embed_dim=128, num_classes=data["aam_weight"].shape[0])
    aam.weight.copy_(data["aam_weight"])
    assert relative_error(aam(data["embedding"], data["labels"]), data["aam_loss"]) < ENHANCER_TOL


def test_state_dict_covers_reference_names(reference_dir):
    """Every tensor listed in official_state_dict.tsv maps onto a model tensor of the same shape."""
    own = DiffSV().state_dict()
    rows = (reference_dir / "official_state_dict.tsv").read_text().splitlines()
    shapes = {}
    for row in rows:
        name, shape, _ = row.split("\t")
        shapes[name] = torch.zeros(tuple(int(s) for s in shape.strip("()").split(",") if s.strip()))
    shapes["torchfbank.0.flipped_filter"] = torch.tensor([[[-0.97, 1.0]]])
    converted = convert_reference_state_dict(shapes)
    assert set(converted) == set(own)
    assert all(converted[k].shape == own[k].shape for k in own)
