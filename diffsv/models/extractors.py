"""The speaker-embedding extractors, chosen by ``model.extractor.type``.

Each is registered here with its config class; the config classes carry a ``type`` field whose default
is the name, so the YAML loader picks the class from the key (an unknown key of the chosen type is still
an error) and a config without ``type`` -- every file written before there was a choice -- is the
paper's SE-ResNet34. Adding an extractor: write its module (a config dataclass with ``type`` and
``embed_dim``, and a module taking ``(in_channels, n_mels, config)`` whose forward takes the feature maps)
and register it below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from torch import nn

from diffsv.models.ecapa_tdnn import ECAPATDNNConfig, ECAPATDNNExtractor
from diffsv.models.se_resnet import SEResNetConfig, SEResNetExtractor
from diffsv.registry import Registry


@dataclass(frozen=True)
class ExtractorEntry:
    config: type
    network: type[nn.Module]


EXTRACTORS: Registry[ExtractorEntry] = Registry("extractor")
# Registered under the default of the config's ``type``, so the loader's choice and this table agree.
for _config, _network in ((SEResNetConfig, SEResNetExtractor), (ECAPATDNNConfig, ECAPATDNNExtractor)):
    EXTRACTORS.add(_config.type, ExtractorEntry(_config, _network))

#: Any registered extractor's config (the first is the default); the loader dispatches on ``type``.
ExtractorConfig = Union[tuple(EXTRACTORS[name].config for name in EXTRACTORS)]  # noqa: UP007


def build_extractor(in_channels: int, n_mels: int, config: ExtractorConfig) -> nn.Module:
    """The extractor ``config.type`` names, taking ``in_channels`` stacked (B, n_mels, T) feature maps."""
    return EXTRACTORS[config.type].network(in_channels, n_mels, config)
