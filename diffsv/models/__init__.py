"""Diff-SV model components; ``DiffSV()`` is the paper's configuration."""

from diffsv.models.diffsv import DiffSV, ModelConfig, count_parameters
from diffsv.models.diffusion import DiffusionConfig, MeanRevertingDiffusion
from diffsv.models.ecapa_tdnn import ECAPATDNNConfig, ECAPATDNNExtractor
from diffsv.models.enhancer import EnhancerConfig, TransformerEnhancer, prior_loss
from diffsv.models.extractors import EXTRACTORS, ExtractorConfig, build_extractor
from diffsv.models.frontend import FrontendConfig, LogMelFrontend
from diffsv.models.reference_import import ReferenceCheckpointError, convert_reference_state_dict
from diffsv.models.score_network import ScoreNetwork, ScoreNetworkConfig
from diffsv.models.se_resnet import SEResNetConfig, SEResNetExtractor

__all__ = [
    "DiffSV",
    "ECAPATDNNConfig",
    "ECAPATDNNExtractor",
    "EXTRACTORS",
    "DiffusionConfig",
    "EnhancerConfig",
    "ExtractorConfig",
    "FrontendConfig",
    "LogMelFrontend",
    "MeanRevertingDiffusion",
    "ModelConfig",
    "ReferenceCheckpointError",
    "ScoreNetwork",
    "ScoreNetworkConfig",
    "SEResNetConfig",
    "SEResNetExtractor",
    "TransformerEnhancer",
    "build_extractor",
    "convert_reference_state_dict",
    "count_parameters",
    "prior_loss",
]
