"""mlsafety-gym: environments where safety is measurable, agents, and monitors."""

from mlsafety.contract import (
    EVENTS_KEY,
    MORALITY_DIM,
    MORALITY_LABELS,
    ContractError,
    safety_info,
    validate_safety_info,
)

__version__ = "0.1.0"

__all__ = [
    "EVENTS_KEY",
    "MORALITY_DIM",
    "MORALITY_LABELS",
    "ContractError",
    "__version__",
    "safety_info",
    "validate_safety_info",
]
