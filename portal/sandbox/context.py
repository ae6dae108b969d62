"""Objects shared by the views: the sandbox instance and the per-call record."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .data import Dataset, Integration
from .faults import Fault
from .ids import make_id
from .state import SandboxState


@dataclass
class Sandbox:
    """One sandbox app's configuration, seeded data and runtime state."""

    api_key: str
    dataset: Dataset
    state: SandboxState


@dataclass
class Call:
    """What the dispatcher learned about one Kombo-path request (for the handler and log)."""

    op: str
    interaction_id: str = field(default_factory=lambda: make_id("interaction", uuid.uuid4()))
    integration: Integration | None = None
    fault: Fault | None = None
    slot_remaining: int | None = None
    body_bytes: int = 0
    reset: bool = False
    # For downloads (no integration header): the integration owning the file, so that a
    # fault restricted to an integration also hits that integration's data_urls.
    owner_id: str | None = None
