"""Map a state_dict of the authors' Diff-SV implementation onto this package's module names.

The reference keeps everything flat on one module (``torchfbank``, ``enhancer``, ``denoiser.model``
and the extractor's layers at top level); ours nests them by role. The mapping is a rename table;
the pre-emphasis filter, which the reference stores as a convolution buffer and we compute
directly, is checked and dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from diffsv.utils.checkpoint import CheckpointError

PREEMPHASIS_FILTER = "torchfbank.0.flipped_filter"

# (pattern, replacement), applied in order to every key.
_RENAMES: list[tuple[str, str]] = [
    (r"^module\.", ""),
    (r"^torchfbank\.1\.", "frontend.melspec."),
    # enhancer
    (r"^enhancer\.layer_stack\.", "enhancer.blocks."),
    (r"\.slf_attn\.w_qs\.", ".attention.query."),
    (r"\.slf_attn\.w_ks\.", ".attention.key."),
    (r"\.slf_attn\.w_vs\.", ".attention.value."),
    (r"\.slf_attn\.fc\.", ".attention.out."),
    (r"\.slf_attn\.layer_norm\.", ".attention.norm."),
    (r"\.pos_ffn\.w_1\.", ".ffn.conv1."),
    (r"\.pos_ffn\.w_2\.", ".ffn.conv2."),
    (r"\.pos_ffn\.layer_norm\.", ".ffn.norm."),
    # score network
    (r"^denoiser\.model\.", "diffusion.score_network."),
    (r"score_network\.mlp\.", "score_network.time_mlp."),
    (r"\.(downs|ups)\.(\d+)\.0\.", r".\1.\2.res1."),
    (r"\.(downs|ups)\.(\d+)\.1\.", r".\1.\2.res2."),
    (r"\.(downs|ups)\.(\d+)\.2\.fn\.g$", r".\1.\2.attn.gain"),
    (r"\.(downs|ups)\.(\d+)\.2\.fn\.fn\.", r".\1.\2.attn."),
    (r"\.(downs|ups)\.(\d+)\.3\.conv\.", r".\1.\2.resample."),
    (r"\.downs\.", ".down."),
    (r"\.ups\.", ".up."),
    (r"\.mid_block(\d)\.", r".mid_res\1."),
    (r"\.mid_attn\.fn\.g$", ".mid_attn.gain"),
    (r"\.mid_attn\.fn\.fn\.", ".mid_attn."),
    (r"\.mlp\.1\.", ".time_proj."),
    (r"\.block(\d)\.block\.0\.", r".block\1.conv."),
    (r"\.block(\d)\.block\.1\.", r".block\1.norm."),
    (r"\.final_block\.block\.0\.", ".final_block.conv."),
    (r"\.final_block\.block\.1\.", ".final_block.norm."),
    (r"\.res_conv\.", ".skip."),
    # extractor
    (r"^(conv1|bn1|layer\d)\.", r"extractor.\1."),
    (r"^attention\.", "extractor.pooling.attention."),
    (r"^bn_agg\.", "extractor.pooling_norm."),
    (r"^fc\.", "extractor.embedding."),
    (r"^bn_code\.", "extractor.embedding_norm."),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in _RENAMES]
_OURS = re.compile(r"^(frontend|enhancer|diffusion|extractor)\.")


class ReferenceCheckpointError(CheckpointError):
    """The checkpoint is not a reference Diff-SV state_dict, or not one this model can take."""


def reference_key_to_ours(key: str) -> str:
    for pattern, replacement in _COMPILED:
        key = pattern.sub(replacement, key)
    return key


def convert_reference_state_dict(
    state_dict: Mapping[str, torch.Tensor], preemphasis: float = 0.97
) -> dict[str, torch.Tensor]:
    """Rename a reference (or DDP ``module.``-prefixed) state_dict to ours, for a strict load.

    The reference's pre-emphasis buffer must equal [-preemphasis, 1]; a checkpoint made with
    another coefficient needs a model configured with it.
    """
    converted: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        bare = key[len("module.") :] if key.startswith("module.") else key
        if bare == PREEMPHASIS_FILTER:
            expected = torch.tensor([[[-preemphasis, 1.0]]], dtype=value.dtype)
            if value.shape != expected.shape or not torch.allclose(value, expected):
                raise ReferenceCheckpointError(
                    f"{key} is {value.flatten().tolist()}, expected [-{preemphasis}, 1.0]: "
                    "set frontend.preemphasis to the checkpoint's coefficient"
                )
            continue
        new_key = reference_key_to_ours(key)
        if not _OURS.match(new_key):
            raise ReferenceCheckpointError(f"'{key}' is not a tensor of the reference Diff-SV model")
        if new_key in converted:
            raise ReferenceCheckpointError(f"'{key}' maps onto '{new_key}', which another key already gave")
        converted[new_key] = value
    return converted
