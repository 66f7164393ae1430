"""What admin says about a run's progress: each pass with its own count and maximum, a bar that only moves forward."""

import re

from recommender.plots import nice_ticks, training_curves_svg
from recommender.progress import training_progress

PLAN = {"kind": "joint", "epochs": 40, "rating_heads": 3, "rating_epochs": 30, "refit": True}


def _rows(ranking: int, heads: list[int]) -> list[dict]:
    rows = [
        {"phase": "ranking", "loss": 6.0 - i / 10, "val_rmse": 0.9, "val_ndcg": 0.1 + i / 100} for i in range(ranking)
    ]
    for head, count in enumerate(heads, start=1):
        rows += [
            {"phase": "rating", "head": head, "loss": 0.9 - i / 10, "val_rmse": 0.85, "val_ndcg": 0.3}
            for i in range(count)
        ]
    return [{**row, "epoch": i + 1} for i, row in enumerate(rows)]


def _progress(state: str, history: list[dict], step: str = "", plan: dict | None = None, params: dict | None = None):
    return training_progress(
        state=state, history=history, plan=PLAN if plan is None else plan, params=params or {}, step=step
    )


def test_the_ranking_pass_counts_against_its_own_maximum_before_and_after_the_first_epoch():
    assert _progress("queued", [])["text"] == "Queued: waiting for the trainer to start"
    assert _progress("training", [])["text"] == "Ranking pass: first epoch running (at most 40)"
    now = _progress("training", _rows(13, []))
    assert now["text"] == "Ranking pass: epoch 13 of at most 40"
    assert (now["phase_epoch"], now["phase_max"]) == (13, 40)
    assert now["share"] == 13 / (40 + 3 * 30) and now["summary"] == ""


def test_rating_heads_have_their_own_count_and_the_count_never_runs_past_its_maximum():
    history = _rows(22, [5, 4])
    now = _progress("training", history)
    assert now["text"] == "Rating head 2 of 3: epoch 4 of at most 30"
    assert (
        now["summary"] == "ranking pass 22 epochs of at most 40; rating heads 5, 4 epochs of at most 30 each; "
        "then refitted on every rating"
    )
    for row in range(1, len(history) + 1):
        n, most = map(
            int, re.search(r"epoch (\d+) of at most (\d+)", _progress("training", history[:row])["text"]).groups()
        )
        assert n <= most


def test_the_bar_only_moves_forward_whichever_pass_stops_early():
    history = _rows(22, [5, 6, 5])
    shares = [_progress("training", history[:n])["share"] for n in range(1, len(history) + 1)]
    assert shares == sorted(shares) and 0 < shares[0] < shares[-1] <= 1
    assert _progress("training", history, step="building the movie map (t-SNE) and clusters ...")["share"] == 1


def test_work_without_epochs_is_named_and_the_bar_shows_it_is_busy():
    after = _progress("training", _rows(22, [5]), step="building the movie map (t-SNE) and clusters ...")
    assert after["text"] == "Building the movie map (t-SNE) and clusters ..." and after["busy"]
    lists = _progress("computing_lists", _rows(22, [5]))
    assert lists["text"].startswith("Computing every user's list") and lists["busy"]


def test_a_finished_run_says_what_each_pass_took():
    done = _progress("active", _rows(22, [5, 6, 5]))
    assert done["text"] == "Trained in 38 epochs" and done["share"] == 1 and not done["busy"]
    assert "ranking pass 22 epochs of at most 40" in done["summary"]
    failed = _progress("failed", _rows(7, []))
    assert failed["text"] == "Failed during ranking pass, epoch 7 of at most 40"


def test_a_version_trained_before_plans_were_kept_reads_its_maximum_from_its_params():
    params = {"kind": "joint", "epochs": 40, "rating_heads": 3, "rating_epochs": 30, "refit": True, "validation": 0.1}
    rows = [{k: v for k, v in row.items() if k != "head"} for row in _rows(22, [5, 6, 5])]
    done = _progress("ready", rows, plan={}, params=params)
    assert done["summary"].startswith(
        "ranking pass 22 epochs of at most 40; rating heads 16 epochs in all, at most 30 each"
    )


def test_the_tutorial_preset_is_one_pass():
    plan = {"kind": "tutorial", "epochs": 3}
    rows = [{"epoch": 1, "phase": "rating", "loss": 0.1}, {"epoch": 2, "phase": "rating", "loss": 0.09}]
    now = _progress("training", rows, plan=plan)
    assert now["text"] == "Training: epoch 2 of at most 3" and now["share"] == 2 / 3


def test_the_curves_have_a_y_axis_with_units_per_metric_and_break_between_passes():
    svg = training_curves_svg(_rows(6, [3, 3]))
    assert "Validation RMSE, stars" in svg and "Validation nDCG@10, 0 to 1" in svg and "stars²" in svg
    assert svg.count("<polyline") == 3 + 1 + 3  # loss and RMSE per pass; nDCG for the ranking pass only
    assert "head 2" in svg
    labels = re.findall(r'text-anchor="end" font-size="10">([\d.]+)<', svg)
    assert "0.90" in labels  # the RMSE axis's tick at the curve's value


def test_ticks_cover_the_values_in_round_steps():
    assert nice_ticks(0.8407, 0.9557) == [0.8, 0.85, 0.9, 0.95, 1.0]
    ticks = nice_ticks(0.34, 7.62)
    assert ticks[0] <= 0.34 and ticks[-1] >= 7.62
