"""What a training run's progress means to a person: its pass, that pass's epoch and most epochs.

A joint run is several passes with their own limits (the ranking pass up to `epochs`, then each
rating head up to `rating_epochs`), so one running count against the ranking pass's maximum reads
"43 of at most 40". This module turns a version's state, history rows (each naming its pass and
head), plan and step into the sentence, the summary and the share of the bar that admin shows.
Pure Python: the admin's web process and its tests import it.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNNING = ("queued", "training", "computing_lists")
FINISHED = ("ready", "active")


@dataclass(frozen=True)
class Pass:
    """The epochs of one pass that history holds so far."""

    phase: str  # "ranking", "rating" or "training" (the tutorial preset's single pass)
    head: int | None
    epochs: int


def plan_of(plan: dict | None, params: dict | None) -> dict:
    """The run's plan, or for a version trained before plans were kept, the one its params imply."""
    if plan:
        return plan
    params = params or {}
    if "epochs" not in params or "kind" not in params:
        return {}
    if params["kind"] != "joint":
        return {"kind": params["kind"], "epochs": params["epochs"]}
    heads = int(params.get("rating_heads") or 0) if params.get("validation", 0.1) else 0
    return {
        "kind": "joint",
        "epochs": params["epochs"],
        "rating_heads": heads,
        "rating_epochs": int(params.get("rating_epochs") or 0) if heads else 0,
        "refit": bool(params.get("refit")) and bool(heads),
    }


def passes_of(history: list[dict], kind: str) -> list[Pass]:
    """History rows grouped into passes, in order."""
    out: list[Pass] = []
    for row in history or []:
        if kind == "tutorial":
            phase, head = "training", None
        else:
            phase = "rating" if row.get("phase") == "rating" else "ranking"
            head = row.get("head") if phase == "rating" else None
        if out and (out[-1].phase, out[-1].head) == (phase, head):
            out[-1] = Pass(phase, head, out[-1].epochs + 1)
        else:
            out.append(Pass(phase, head, 1))
    return out


def _most(one: Pass, plan: dict) -> int:
    return int(plan.get("rating_epochs" if one.phase == "rating" else "epochs") or 0)


def _label(one: Pass, plan: dict) -> str:
    if one.phase == "training":
        return "Training"
    if one.phase == "ranking":
        return "Ranking pass"
    heads = int(plan.get("rating_heads") or 0)
    if one.head is None:
        return "Rating heads"
    return f"Rating head {one.head} of {heads}" if heads else f"Rating head {one.head}"


def _epochs(n: int, most: int) -> str:
    return f"epoch {n} of at most {most}" if most else f"epoch {n}"


def _summary(passes: list[Pass], plan: dict) -> str:
    """The epochs each pass took: "ranking pass 22 of at most 40 epochs; rating heads 5, 6, 5 of at most 30"."""
    if not passes:
        return ""
    parts = []
    ranking = [p for p in passes if p.phase != "rating"]
    rating = [p for p in passes if p.phase == "rating"]
    for one in ranking:
        most = _most(one, plan)
        name = "training" if one.phase == "training" else "ranking pass"
        parts.append(f"{name} {one.epochs} epochs" + (f" of at most {most}" if most else ""))
    if rating:
        most = int(plan.get("rating_epochs") or 0)
        if any(p.head is None for p in rating):  # rows from before heads were named
            total = sum(p.epochs for p in rating)
            parts.append(f"rating heads {total} epochs in all" + (f", at most {most} each" if most else ""))
        else:
            name = "rating head" if len(rating) == 1 else "rating heads"
            counts = ", ".join(str(p.epochs) for p in rating)
            each = " each" if len(rating) > 1 else ""
            parts.append(f"{name} {counts} epochs" + (f" of at most {most}{each}" if most else ""))
        if plan.get("refit"):
            parts.append("then refitted on every rating")
    return "; ".join(parts)


def _share(passes: list[Pass], plan: dict, epochs_over: bool) -> float:
    """How much of the run's most epochs is behind it: a finished pass counts as its full maximum,
    so the bar moves forward only, whichever pass stops early."""
    if epochs_over:
        return 1.0
    ranking = int(plan.get("epochs") or 0)
    heads, per_head = int(plan.get("rating_heads") or 0), int(plan.get("rating_epochs") or 0)
    total = ranking + heads * per_head
    if not total or not passes:
        return 0.0
    done = 0
    for i, one in enumerate(passes):
        current = i == len(passes) - 1
        most = _most(one, plan)
        done += min(one.epochs, most) if current else most
    return min(1.0, done / total)


def training_progress(*, state: str, history: list[dict], plan: dict, params: dict, step: str) -> dict:
    """What admin shows about a run's progress.

    Returns:
        text: the sentence ("Rating head 2 of 3: epoch 4 of at most 30", "Building the movie map ...");
        summary: the epochs each pass took so far, once the ranking pass is over;
        phase, phase_epoch, phase_max: the current pass and its count and most (0: unknown);
        share: 0-1 of the bar; busy: work without epochs to count (the map, the lists).
    """
    plan = plan_of(plan, params)
    kind = str(plan.get("kind") or "joint")
    passes = passes_of(history, kind)
    running = state in RUNNING
    epochs_over = state in FINISHED or state == "computing_lists" or bool(running and step)
    current = passes[-1] if passes else None
    out = {
        "text": "",
        "summary": _summary(passes, plan) if (current and current.phase != "ranking") or epochs_over else "",
        "phase": current.phase if current else "",
        "phase_epoch": current.epochs if current else 0,
        "phase_max": _most(current, plan) if current else int(plan.get("epochs") or 0),
        "share": _share(passes, plan, epochs_over),
        "busy": bool(running and epochs_over),
    }
    if state == "queued":
        out["text"] = "Queued: waiting for the trainer to start"
    elif running and step:
        out["text"] = step[:1].upper() + step[1:]
    elif state == "computing_lists":
        out["text"] = "Computing every user's list, then it goes live"
    elif state == "training" and current is None:
        first = "Training" if kind == "tutorial" else "Ranking pass"
        most = int(plan.get("epochs") or 0)
        out["text"] = f"{first}: first epoch running" + (f" (at most {most})" if most else "")
    elif current is not None and running:
        out["text"] = f"{_label(current, plan)}: {_epochs(current.epochs, _most(current, plan))}"
    elif state in FINISHED:
        total = sum(p.epochs for p in passes)
        out["text"] = f"Trained in {total} epochs" if total else "Trained"
    elif state in ("failed", "cancelled"):
        verb = "Failed" if state == "failed" else "Cancelled"
        if current is None:
            out["text"] = f"{verb} before the first epoch"
        else:
            out["text"] = (
                f"{verb} during {_label(current, plan).lower()}, {_epochs(current.epochs, _most(current, plan))}"
            )
    return out
