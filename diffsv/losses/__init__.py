"""Training objectives."""

from diffsv.losses.aam_softmax import AAMSoftmax

__all__ = ["AAMSoftmax"]
