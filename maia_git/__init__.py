"""maia-git: git-native experiments on LLM agent prompts.

``from maia_git import AutomatedQualityScorer, ABTestingFramework, ExperimentQueue, Priority``
(and ``pseudonymous_id``) imports the API lazily, so that ``import maia_git`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "ABTestingFramework",
    "AutomatedQualityScorer",
    "ExperimentQueue",
    "Priority",
    "Workspace",
    "__version__",
    "pseudonymous_id",
]

if TYPE_CHECKING:
    from maia_git.api import ABTestingFramework, AutomatedQualityScorer, ExperimentQueue
    from maia_git.core.models import Priority
    from maia_git.usecases.privacy import pseudonymous_id
    from maia_git.workspace import Workspace

_LAZY = {
    "ABTestingFramework": "maia_git.api",
    "AutomatedQualityScorer": "maia_git.api",
    "ExperimentQueue": "maia_git.api",
    "Priority": "maia_git.core.models",
    "Workspace": "maia_git.workspace",
    "pseudonymous_id": "maia_git.usecases.privacy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'maia_git' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
