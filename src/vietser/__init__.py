"""vietser: human-guided speech emotion recognition (calm / angry / panic), Vietnamese first."""

from vietser.decision import ClipEvidence
from vietser.decision import Cue
from vietser.decision import Decision
from vietser.decision import Route
from vietser.errors import VietserError
from vietser.labels import CLASSES
from vietser.labels import Emotion

__version__ = "0.1.0"

__all__ = ["CLASSES", "ClipEvidence", "Cue", "Decision", "Emotion", "Route", "VietserError", "__version__"]
