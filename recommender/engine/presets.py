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


# The data-following rule ("auto"): the default preset's model and objectives, with a batch
# that keeps an epoch within MAX_STEPS steps; the learning rate times (batch / 1,024) ** LR_POWER.
# Adam's step does not grow with the batch, and with the steps per epoch held in range an epoch
# moves the rows about as far at any size: the square root (0.5) scored 6-7% under the small-data
# setting on ml-latest-small copied 20 times, 0 within 1% (bench/README.md). The softmax groups
# shrink as the batch grows (rows x group fixed: a step's softmax work stays the same).
LR_POWER = 0.0
MAX_STEPS = 128
MAX_BATCH = 262_144
MIN_GROUP = 32
VALIDATION = 0.1  # the share of each user's ratings training holds out (training.train's default)


def preset_for(n_ratings: int) -> tuple[str, dict]:
    """The preset and overrides that suit a data size: the default preset, scaled by the rule above.

    Up to MAX_STEPS batches of the default's size (about 145,000 ratings), that is the default
    preset unchanged. Beyond, the batch doubles until an epoch takes at most MAX_STEPS steps; the
    group shrinks by batch / 1,024 (at least MIN_GROUP), the learning rate is scaled by
    (batch / 1,024) ** LR_POWER, and one rating head is trained, not refitted, since each rating
    epoch then costs most of a ranking epoch.

    Args:
        n_ratings: ratings in the training snapshot.

    Returns:
        (a key of PRESETS, overrides for it).
    """
    base = PRESETS["default"]
    assert isinstance(base, JointConfig)
    fit = n_ratings * (1 - VALIDATION)
    batch = base.batch_size
    while batch < MAX_BATCH and fit / batch > MAX_STEPS:
        batch *= 2
    scale = batch // base.batch_size
    if scale == 1:
        return "default", {}
    return "default", {
        "batch_size": batch,
        "group_size": max(MIN_GROUP, base.group_size // scale),
        "learning_rate": round(base.learning_rate * scale**LR_POWER, 6),
        "rating_heads": 1,
        "refit": False,
    }


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


def training_plan(config: Config, *, validation: bool = True) -> dict:
    """The passes a training run of this config may take and each one's most epochs.

    What progress shows before the first epoch ends: a joint run is the ranking pass (up to
    `epochs`), then `rating_heads` rating passes of up to `rating_epochs` each (none without
    validation ratings, which they stop on), then the heads' refit; a tutorial run is one pass.

    Args:
        config: the effective config (resolve_config).
        validation: whether the run holds out validation ratings.

    Returns:
        {"kind", "epochs"} and, for a joint config, "rating_heads", "rating_epochs", "refit".
    """
    if isinstance(config, TutorialConfig):
        return {"kind": config.kind, "epochs": config.epochs}
    heads = config.rating_heads if config.rating_epochs > 0 and validation else 0
    return {
        "kind": config.kind,
        "epochs": config.epochs,
        "rating_heads": heads,
        "rating_epochs": config.rating_epochs if heads else 0,
        "refit": bool(config.refit and heads),
    }
