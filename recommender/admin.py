"""Model versions in admin: retrain now, live progress, cancel, compare, activate and roll back.

A/B experiments are in recommender.admin_experiments, registered by importing it here.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from recommender import admin_experiments, dispatch, services
from recommender.engine.factors import ArtifactError
from recommender.models import ModelVersion
from recommender.services.online_metrics import version_online

RETRAIN_PERMISSION = "recommender.retrain_modelversion"
__all__ = ["admin_experiments"]
COMPARED_METRICS = (
    ("R_rmse", "RMSE, protocol R", "lower"),
    ("R_mae", "MAE, protocol R", "lower"),
    ("T_ndcg", "nDCG@10, protocol T", "higher"),
    ("T_precision", "precision@10, protocol T", "higher"),
    ("T_recall", "recall@10, protocol T", "higher"),
    ("T_coverage", "catalogue coverage, protocol T", "higher"),
    ("T_ndcg_most_popular", "nDCG@10 of most popular, same split", "higher"),
    ("val_rmse", "validation RMSE (training)", "lower"),
    ("val_ndcg", "validation nDCG@10 (training)", "higher"),
)

# The version page's live panel shows these and keeps them up to date while the version runs; the
# fields below it would show them as they were when the page loaded.
LIVE_FIELDS = ["state", "epoch", "epochs", "history", "plan", "step", "error"]


def _require_retrain_permission(request: HttpRequest) -> None:
    if not request.user.has_perm(RETRAIN_PERMISSION):
        raise PermissionDenied("you may not retrain or switch model versions")


def progress_data(version: ModelVersion) -> dict:
    """What the version page shows and its script polls: the state, the run's pass and epochs, the error."""
    return {
        "id": version.pk,
        "title": str(version),
        "state": version.state,
        "state_label": version.get_state_display(),
        "running": version.is_running,
        "is_active": version.is_active,
        "epoch": version.epoch,
        "history": version.history,
        "step": version.step if version.is_running else "",
        "error": version.error,
        **version.progress,
    }


def compared_version(version: ModelVersion) -> ModelVersion | None:
    """The version to show beside this one: the active one, or for the active version (or with none
    active) the latest earlier version that finished training, the one it replaced or followed."""
    active = ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).first()
    if active is not None and not version.is_active:
        return active
    finished = (ModelVersion.State.READY, ModelVersion.State.ACTIVE)
    return ModelVersion.objects.filter(pk__lt=version.pk, state__in=finished).exclude(pk=version.pk).first()


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "preset", "state", "is_active", "n_ratings", "rmse", "ndcg", "created_at", "finished_at"]
    list_filter = ["state", "preset", "is_active"]
    exclude = LIVE_FIELDS
    readonly_fields = [f.name for f in ModelVersion._meta.fields if f.name not in LIVE_FIELDS]
    change_list_template = "admin/recommender/modelversion/change_list.html"
    change_form_template = "admin/recommender/modelversion/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training, never from a form

    @admin.display(description="RMSE (R)")
    def rmse(self, version: ModelVersion) -> str:
        return _fmt(version.metrics.get("R_rmse"))

    @admin.display(description="nDCG@10 (T)")
    def ndcg(self, version: ModelVersion) -> str:
        return _fmt(version.metrics.get("T_ndcg"))

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("retrain/", view(self.retrain_view), name="recommender_modelversion_retrain"),
            path("<int:pk>/progress.json", view(self.progress_view), name="recommender_modelversion_progress"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="recommender_modelversion_cancel"),
            path("<int:pk>/activate/", view(self.activate_view), name="recommender_modelversion_activate"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra = {"running": services.running_version(), "can_retrain": request.user.has_perm(RETRAIN_PERMISSION)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        version = get_object_or_404(ModelVersion, pk=object_id)
        other = compared_version(version)
        comparison = [
            {
                "label": label,
                "this": _fmt(version.metrics.get(key)),
                "other": _fmt(other.metrics.get(key)) if other else "-",
                "better": _better(version.metrics.get(key), other.metrics.get(key) if other else None, direction),
            }
            for key, label, direction in COMPARED_METRICS
        ]
        extra = {
            "version": version,
            "other": other,
            # Figures neither version has (protocols not measured) are said once, not as rows of dashes.
            "comparison": [row for row in comparison if row["this"] != "-" or row["other"] != "-"],
            "progress": progress_data(version),
            "can_retrain": request.user.has_perm(RETRAIN_PERMISSION),
            # Pending, measuring, skipped or failed: the figures come after the version is live.
            "protocols_note": version.metrics.get("protocols", ""),
            "can_activate": not version.is_active and not version.is_running and bool(version.artifact_path),
            "online": version_online(version_id=version.pk),
            "online_days": settings.RECOMMENDER_ONLINE_WINDOW_DAYS,
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @staticmethod
    def _version_url(version: ModelVersion) -> str:
        return reverse("admin:recommender_modelversion_change", args=[version.pk])

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._retrain)(request)

    def _retrain(self, request: HttpRequest) -> HttpResponse:
        _require_retrain_permission(request)
        version, created = dispatch.retrain_request()
        if created:
            self.message_user(request, f"Retrain queued as v{version.pk}.", messages.SUCCESS)
        else:
            self.message_user(
                request, f"Already training: v{version.pk} is {version.get_state_display()}.", messages.WARNING
            )
        return HttpResponseRedirect(self._version_url(version))

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return require_GET(self._progress)(request, pk)

    def _progress(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(progress_data(get_object_or_404(ModelVersion, pk=pk)))

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return require_POST(self._cancel)(request, pk)

    def _cancel(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require_retrain_permission(request)
        version = get_object_or_404(ModelVersion, pk=pk)
        if services.version_cancel(version=version):
            self.message_user(request, f"v{pk} is cancelled; training stops after the current epoch.", messages.SUCCESS)
        else:
            self.message_user(request, f"v{pk} is not running.", messages.WARNING)
        return HttpResponseRedirect(self._version_url(version))

    def activate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return require_POST(self._activate)(request, pk)

    def _activate(self, request: HttpRequest, pk: int) -> HttpResponse:
        _require_retrain_permission(request)
        version = get_object_or_404(ModelVersion, pk=pk)
        try:
            dispatch.version_rollout(version=version)
        except ArtifactError as exc:
            self.message_user(request, f"v{pk} was not activated: {exc}", messages.ERROR)
        except services.AlreadyRunning:
            self.message_user(
                request, "Another version is training or computing lists; try when it is done.", messages.ERROR
            )
        else:
            self.message_user(
                request, f"v{pk} is being activated: its lists are computed, then it goes live.", messages.SUCCESS
            )
        return HttpResponseRedirect(self._version_url(version))


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def _better(this: object, other: object, direction: str) -> bool | None:
    if not isinstance(this, float) or not isinstance(other, float) or this == other:
        return None
    return this < other if direction == "lower" else this > other
