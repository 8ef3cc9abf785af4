"""The environment that tells every library Fieldmind loads to stay off the network. One list, set early."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "ORT_DISABLE_TELEMETRY": "1",
}
"""Hugging Face libraries offline and without telemetry; Chroma's, ONNX Runtime's and others' telemetry off."""


def go_offline() -> None:
    """Set the offline environment (keeping any value the user set): must run before those libraries import."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
