"""Diff-SV model components; ``DiffSV()`` is the paper's configuration."""

from diffsv.models.diffsv import DiffSV, ModelConfig, count_parameters
from diffsv.models.diffusion import DiffusionConfig, MeanRevertingDiffusion
from diffsv.models.enhancer import EnhancerConfig, TransformerEnhancer, prior_loss
from diffsv.models.extractor import ExtractorConfig, SEResNetExtractor
from diffsv.models.frontend import FrontendConfig, LogMelFrontend
from diffsv.models.reference_import import ReferenceCheckpointError, convert_reference_state_dict
from diffsv.models.score_network import ScoreNetwork, ScoreNetworkConfig

__all__ = [
    "DiffSV",
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
    "SEResNetExtractor",
    "TransformerEnhancer",
    "convert_reference_state_dict",
    "count_parameters",
    "prior_loss",
]
