"""Artificial consciences: score candidate actions in context for moral harm.

* :class:`OracleConscience` reads the env's own annotations (text scenarios via
  ``peek(command)``, gridworlds via :class:`CostConscience`): the upper bound.
* :class:`CostConscience` asks a non-text env what each action would cost.
* :class:`~.finetune.FineTunedConscience` is all-MiniLM-L6-v2 fine-tuned end to end
  (torch); :func:`default_conscience` fine-tunes one on the project's own data once and
  caches it, offline (``from mlsafety.agents.conscience.finetune import
  FineTunedConscience``: torch and transformers load only when it is used).
* :class:`LearnedConscience` is a text model on frozen features (MiniLM or hashed
  bag-of-words) with a scikit-learn head: ``default_conscience(encoder="minilm")``.
* :class:`ContextConscience` reads the observation too (an MLP over command and context
  embeddings), trained on the procedural generator's train split:
  ``default_conscience(context=True)``.

All return a :class:`Judgement` (``p_wrong`` and the ``morality`` 4-vector per candidate).
"""

from mlsafety.agents.conscience.base import Conscience, Judgement, harm
from mlsafety.agents.conscience.context import ContextConscience
from mlsafety.agents.conscience.cost import CostConscience
from mlsafety.agents.conscience.default import default_conscience
from mlsafety.agents.conscience.learned import LearnedConscience
from mlsafety.agents.conscience.oracle import OracleConscience

load_conscience = LearnedConscience.load

__all__ = [
    "Conscience",
    "ContextConscience",
    "CostConscience",
    "Judgement",
    "LearnedConscience",
    "OracleConscience",
    "default_conscience",
    "harm",
    "load_conscience",
]
