"""The named training settings (presets) and how a preset's config is resolved with overrides."""

from __future__ import annotations

import dataclasses

from recommender.engine.model import Config, JointConfig, TutorialConfig

PRESETS: dict[str, Config] = {
    "tutorial": TutorialConfig(),
    "default": JointConfig(),
    # The default model and objectives with large pre-sliced batches for millions of ratings, where
    # the default's batch of 1,024 runs several times slower per rating; one rating head and no
    # refit, since each rating epoch costs most of a ranking epoch at that size (bench/README.md).
    "large": JointConfig(
        batch_size=131072, group_size=32, learning_rate=0.01, epochs=15, patience=3, rating_heads=1, refit=False
    ),
}


LARGE_FROM = 2_000_000


def preset_for(n_ratings: int) -> str:
    """The joint preset that suits a data size: "default" up to LARGE_FROM ratings, then "large".

    Args:
        n_ratings: ratings in the training snapshot.

    Returns:
        A key of PRESETS.
    """
    return "large" if n_ratings >= LARGE_FROM else "default"


def resolve_config(preset: str, overrides: dict | None = None) -> Config:
    """A preset's config with overrides applied.

    Args:
        preset: a key of PRESETS.
        overrides: field -> value; unknown fields raise ValueError.

    Returns:
        The frozen config.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    base = PRESETS[preset]
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"preset {preset!r} has no parameter(s) {unknown}; it has {sorted(names - {'kind'})}")
    return dataclasses.replace(base, **overrides)
