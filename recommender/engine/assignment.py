"""Which arm of an A/B experiment a person is in: a stable hash of the experiment and the person."""

from __future__ import annotations

import hashlib

CONTROL = "control"
CHALLENGER = "challenger"


def arm_of(*, experiment_id: int, share: float, user_id: int) -> str:
    """CHALLENGER for a `share` of users, CONTROL for the rest, the same in every process and at every call.

    The first 8 bytes of SHA-256("<experiment>:<user>") as a fraction of 2**64: uniform, so shares
    come out as asked, independent between experiments, and a larger share of the same experiment
    only adds people to the challenger.
    """
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return CHALLENGER if int.from_bytes(digest[:8], "big") / 2**64 < share else CONTROL
