"""The neutral model: pose data as arrays, keypoint layouts, and errors. No FiftyOne here."""

from .errors import PoseError, PoseFormatError, PoseUsageError
from .model import Images, Persons, PoseData
from .skeleton import Skeleton

__all__ = ["Images", "Persons", "PoseData", "PoseError", "PoseFormatError", "PoseUsageError", "Skeleton"]
