"""Model properties the reference fixtures cannot show: attention with a live gain, any input length,
gradient routing, the baseline, checkpoint conversion errors and the import command."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from diffsv.bin import import_reference_checkpoint
from diffsv.config import ConfigError, from_dict, load_config
from diffsv.models import DiffSV, ModelConfig, ReferenceCheckpointError, convert_reference_state_dict
from diffsv.models.enhancer import EnhancerConfig, TransformerEnhancer
from diffsv.models.reference_import import PREEMPHASIS_FILTER, reference_key_to_ours
from diffsv.models.score_network import RezeroLinearAttention
from diffsv.utils.checkpoint import CheckpointError, load_state_dict_strict


@pytest.fixture(scope="module")
def model() -> DiffSV:
    torch.manual_seed(0)
    return DiffSV().eval()


def test_parameter_counts_match_the_paper(model):
    def count(module):
        return sum(p.numel() for p in module.parameters())

    assert count(model.enhancer) == 1_103_328
    assert count(model.diffusion.score_network) == 566_263
    assert count(model.extractor) == 2_100_502
    assert count(model) == 3_770_093


def test_linear_attention_matches_the_formula():
    """Spec: q, k, v of (B, 4, 32, F*T) from 384 channels ordered (qkv, head, channel); softmax of k over
    positions; context = k v^T; out = context^T q; x + g * to_out(out)."""
    torch.manual_seed(1)
    attention = RezeroLinearAttention(16, heads=4, head_channels=32)
    with torch.no_grad():
        attention.gain.fill_(0.7)
    x = torch.randn(2, 16, 8, 12)
    qkv = F.conv2d(x, attention.to_qkv.weight).reshape(2, 3, 4, 32, 8 * 12)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
    context = torch.einsum("bhdn,bhen->bhde", k.softmax(dim=-1), v)
    out = torch.einsum("bhde,bhdn->bhen", context, q).reshape(2, 128, 8, 12)
    expected = x + 0.7 * F.conv2d(out, attention.to_out.weight, attention.to_out.bias)
    torch.testing.assert_close(attention(x), expected, rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_score_network_accepts_any_length(model):
    net = model.diffusion.score_network
    for frames in (201, 202, 203):
        x, mu = torch.randn(2, 80, frames), torch.randn(2, 80, frames)
        out = net(x, mu, torch.tensor([0.3, 0.9]))
        assert out.shape == (2, 80, frames)
        assert torch.isfinite(out).all()


@torch.no_grad()
def test_multiple_of_four_takes_the_unpadded_path(model):
    """A length already divisible by 4 is computed exactly as the reference does (no mask at all), and the
    masked path with nothing masked agrees with it."""
    net = model.diffusion.score_network
    x, mu, t = torch.randn(1, 80, 48), torch.randn(1, 80, 48), torch.tensor([0.5])
    time = net.embed_time(t)
    stacked = torch.stack([mu, x], 1)
    torch.testing.assert_close(net(x, mu, t), net._unet(stacked, None, time), rtol=0, atol=0)
    torch.testing.assert_close(net._unet(stacked, torch.ones(1, 1, 1, 48), time), net(x, mu, t))


@torch.no_grad()
def test_embed_odd_length_waveform(model):
    embedding = model.embed(torch.randn(2, 16_100) * 0.1, steps=2)
    assert embedding.shape == (2, 128)
    assert torch.isfinite(embedding).all()


def test_diffusion_loss_trains_the_enhancer_and_z0_carries_no_gradient():
    torch.manual_seed(2)
    net = DiffSV().train()
    noisy, clean = torch.randn(2, 8_000) * 0.1, torch.randn(2, 8_000) * 0.1
    fbank, clean_fbank = net.frontend(noisy), net.frontend(clean)
    x_hat = net.enhancer(fbank)
    net.diffusion.loss(clean_fbank, x_hat).backward()
    enhancer_grads = [p.grad for p in net.enhancer.parameters()]
    assert all(g is not None for g in enhancer_grads)
    assert sum(float(g.abs().sum()) for g in enhancer_grads) > 0
    z0_hat = net.diffusion.sample(net.enhancer(fbank), steps=2)
    assert not z0_hat.requires_grad and z0_hat.grad_fn is None


def test_a_residual_enhancer_adds_its_output_to_the_noisy_log_mel():
    plain = TransformerEnhancer(16, EnhancerConfig(n_layers=1, ffn_channels=8, dropout=0.0)).eval()
    residual = TransformerEnhancer(16, EnhancerConfig(n_layers=1, ffn_channels=8, dropout=0.0, residual=True)).eval()
    residual.load_state_dict(plain.state_dict())  # the switch adds no parameter
    fbank = torch.randn(2, 16, 30)
    with torch.no_grad():
        torch.testing.assert_close(residual(fbank), fbank + plain(fbank))
    assert ModelConfig().enhancer.residual is False  # the paper's prior is the network's output


def test_baseline_builds_and_runs():
    net = DiffSV(ModelConfig(architecture="baseline")).eval()
    assert net.enhancer is None and net.diffusion is None
    assert net.extractor.conv1.in_channels == 1
    assert sum(p.numel() for p in net.parameters()) == 2_100_502 - 2 * 16 * 7 * 7
    with torch.no_grad():
        assert net.embed(torch.randn(3, 16_000) * 0.1).shape == (3, 128)


def test_model_config_from_yaml(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text(
        "architecture: diffsv\nscore_network:\n  width: 8\n  multipliers: [1, 2]\nextractor:\n  embed_dim: 64\n"
    )
    config = load_config(path, ModelConfig)
    assert config.score_network.multipliers == (1, 2) and config.extractor.embed_dim == 64
    net = DiffSV(config).eval()
    with torch.no_grad():
        assert net.embed(torch.randn(1, 8_000) * 0.1, steps=1).shape == (1, 64)


def test_misspelt_config_key_names_key_and_line(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("architecture: diffsv\nenhancer:\n  n_layer: 2\n")
    with pytest.raises(ConfigError, match=r"model.yaml:3: unknown key 'enhancer.n_layer'"):
        load_config(path, ModelConfig)
    path.write_text("architecture: transformer\n")
    with pytest.raises(ConfigError, match="architecture"):
        load_config(path, ModelConfig)


@pytest.fixture()
def reference_names(reference_dir) -> list[str]:
    return [line.split("\t")[0] for line in (reference_dir / "official_state_dict.tsv").read_text().splitlines()]


def reference_style_state_dict(model: DiffSV, names: list[str]) -> dict[str, torch.Tensor]:
    """Our state_dict under the reference's names (the converter inverted on the official name list)."""
    ours_to_reference = {reference_key_to_ours(name): name for name in names}
    converted = {ours_to_reference[k]: v for k, v in model.state_dict().items()}
    converted[PREEMPHASIS_FILTER] = torch.tensor([[[-0.97, 1.0]]])
    return converted


def test_converter_strips_ddp_prefix_and_rejects_foreign_keys(model, reference_names):
    reference = reference_style_state_dict(model, reference_names)
    prefixed = {f"module.{k}": v for k, v in reference.items()}
    load_state_dict_strict(DiffSV(), convert_reference_state_dict(prefixed), "prefixed")
    with pytest.raises(ReferenceCheckpointError, match="'decoder.weight' is not a tensor"):
        convert_reference_state_dict({**reference, "decoder.weight": torch.zeros(1)})
    with pytest.raises(ReferenceCheckpointError, match="frontend.preemphasis"):
        convert_reference_state_dict({**reference, "torchfbank.0.flipped_filter": torch.tensor([[[-0.9, 1.0]]])})


def test_checkpoint_of_another_configuration_names_the_tensors(model):
    with pytest.raises(CheckpointError, match=r"unexpected \(240\): diffusion\.score_network\.") as info:
        load_state_dict_strict(DiffSV(ModelConfig(architecture="baseline")), model.state_dict(), "ckpt.pt")
    assert "extractor.conv1.weight: checkpoint (16, 3, 7, 7) vs model (16, 1, 7, 7)" in str(info.value)


def test_import_command(tmp_path, model, reference_names, capsys):
    source = tmp_path / "reference.pt"
    reference = reference_style_state_dict(model, reference_names)
    torch.save({"model": {f"module.{k}": v for k, v in reference.items()}}, source)
    target = tmp_path / "diffsv.pt"
    assert import_reference_checkpoint.main([str(source), str(target)]) == 0
    checkpoint = torch.load(target, weights_only=True)
    restored = DiffSV(from_dict(ModelConfig, checkpoint["model_config"]))
    restored.load_state_dict(checkpoint["model"], strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value), key

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert import_reference_checkpoint.main([str(bad), str(tmp_path / "never.pt")]) == 1
    assert "bad.pt: cannot read" in capsys.readouterr().err
    assert not (tmp_path / "never.pt").exists()
    ecapa = Path(__file__).resolve().parents[1] / "egs/voxceleb_diffsv/conf/diffsv_ecapa.yaml"
    model_config = tmp_path / "ecapa_model.yaml"
    model_config.write_text(yaml.safe_dump(yaml.safe_load(ecapa.read_text())["model"]))
    command = [str(source), str(tmp_path / "never.pt"), "--model-config", str(model_config)]
    assert import_reference_checkpoint.main(command) == 1
    assert "hold the SE-ResNet34 extractor, not 'ecapa_tdnn'" in capsys.readouterr().err
    assert not (tmp_path / "never.pt").exists()
