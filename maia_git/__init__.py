"""maia-git: git-native experiments on LLM agent prompts."""

from __future__ import annotations

__version__ = "0.1.0"
