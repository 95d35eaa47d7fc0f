"""Extractors chosen by ``model.extractor.type``: ECAPA-TDNN's published sizes, the stacked Diff-SV inputs,
and the YAML key (an unknown key of the chosen type, or an unknown type, is an error naming it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from training_helpers import tiny_experiment

from diffsv.config import ConfigError, from_dict, load_config
from diffsv.models import (
    EXTRACTORS,
    DiffSV,
    ECAPATDNNConfig,
    ECAPATDNNExtractor,
    ModelConfig,
    SEResNetConfig,
    SEResNetExtractor,
    count_parameters,
)
from diffsv.training.config import ExperimentConfig

RECIPES = Path(__file__).resolve().parents[1] / "egs"


@pytest.mark.parametrize(("channels", "parameters"), [(512, 6_191_104), (1024, 14_657_472)])
def test_ecapa_tdnn_has_the_published_size(channels: int, parameters: int) -> None:
    """80 mel bins, 192-dimensional embedding: the paper's 6.2 M (C = 512) and 14.7 M (C = 1024)."""
    assert count_parameters(ECAPATDNNExtractor(1, 80, ECAPATDNNConfig(channels=channels))) == parameters


def test_ecapa_tdnn_stacks_the_three_diffsv_inputs_into_its_first_layer() -> None:
    torch.manual_seed(0)
    extractor = ECAPATDNNExtractor(3, 80, ECAPATDNNConfig(channels=64, aggregation_channels=96)).eval()
    assert extractor.stem[0].in_channels == 3 * 80
    maps = [torch.randn(2, 80, 123) for _ in range(3)]
    embedding = extractor(*maps)
    assert embedding.shape == (2, 192)
    swapped = extractor(maps[1], maps[0], maps[2])  # the order of the maps matters: they are not pooled
    assert not torch.allclose(embedding, swapped)
    assert extractor(*[m[:, :, :57] for m in maps]).shape == (2, 192)  # any length
    with pytest.raises(ValueError, match="takes 3 feature maps, got 1"):
        extractor(maps[0])


@pytest.mark.parametrize("architecture", ["diffsv", "baseline"])
def test_the_yaml_key_chooses_the_extractor(architecture: str) -> None:
    model = DiffSV(tiny_experiment(architecture=architecture, extractor="ecapa_tdnn").model)
    assert isinstance(model.extractor, ECAPATDNNExtractor) and model.embed_dim == 16
    with torch.no_grad():
        assert model.eval().embed(torch.randn(2, 3200) * 0.1).shape == (2, 16)
    assert isinstance(DiffSV(tiny_experiment(architecture=architecture).model).extractor, SEResNetExtractor)


def test_a_config_without_type_is_the_papers_se_resnet() -> None:
    """Every config and model file written before there was a choice keeps loading."""
    config = from_dict(ModelConfig, {"extractor": {"channels": [8, 8, 16, 16], "embed_dim": 32}})
    assert isinstance(config.extractor, SEResNetConfig) and config.extractor.embed_dim == 32
    assert EXTRACTORS.names() == ("se_resnet34", "ecapa_tdnn")


def test_extractor_keys_are_checked_against_the_chosen_type(tmp_path: Path) -> None:
    path = tmp_path / "conf.yaml"
    path.write_text("model:\n  extractor:\n    type: ecapa_tdnn\n    blocks: [3, 4, 6, 3]\n")
    with pytest.raises(ConfigError, match=r"conf.yaml:4: unknown key 'model.extractor.blocks'"):
        load_config(path, ExperimentConfig)
    path.write_text("model:\n  extractor:\n    type: xvector\n")
    with pytest.raises(ConfigError, match=r"'model.extractor.type': 'xvector' is not one of"):
        load_config(path, ExperimentConfig)
    path.write_text("model:\n  extractor:\n    type: ecapa_tdnn\n    channels: 100\n    scale: 8\n")
    with pytest.raises(ConfigError, match=r"conf.yaml:4: 'model.extractor.channels', 'model.extractor.scale'"):
        load_config(path, ExperimentConfig)


@pytest.mark.parametrize(
    ("config", "architecture", "channels"),
    [
        ("voxceleb_diffsv/conf/diffsv_ecapa.yaml", "diffsv", 512),
        ("voxceleb_diffsv/conf/baseline_ecapa.yaml", "baseline", 512),
        ("mini_diffsv/conf/diffsv_ecapa.yaml", "diffsv", None),
        ("mini_diffsv/conf/baseline_ecapa.yaml", "baseline", None),
    ],
)
def test_shipped_ecapa_configs_load(config: str, architecture: str, channels: int | None) -> None:
    loaded = load_config(RECIPES / config, ExperimentConfig)
    assert loaded.model.architecture == architecture and isinstance(loaded.model.extractor, ECAPATDNNConfig)
    if channels is not None:
        assert loaded.model.extractor.channels == channels
