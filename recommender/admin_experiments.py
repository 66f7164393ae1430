"""A/B experiments in admin: start one against the active version, read both arms' figures, promote the winner."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from recommender import dispatch, services
from recommender.models import RUNNING_STATES, Experiment, ModelVersion
from recommender.services.experiments import experiment_check
from recommender.services.online_metrics import experiment_results

RETRAIN_PERMISSION = "recommender.retrain_modelversion"
# The relative change of the hit rate the "still needed" figure is for (0.2: from 10% to 12%).
MIN_EFFECT = 0.2


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ["name", "challenger", "share"]
        help_texts = {
            "challenger": "A trained version with its files; everybody else keeps the active version.",
            "share": "The share of users served the challenger, e.g. 0.5 for half.",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if "challenger" not in self.fields:  # a started experiment is shown read-only
            return
        self.fields["challenger"].queryset = (  # type: ignore[attr-defined]
            ModelVersion.objects.exclude(state__in=RUNNING_STATES)
            .exclude(artifact_path="")
            .exclude(is_active=True)
            .exclude(state=ModelVersion.State.FAILED)
        )
        self.fields["share"].initial = 0.5

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("challenger") is not None and data.get("share") is not None:
            try:
                experiment_check(challenger=data["challenger"], share=data["share"])
            except services.ExperimentError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "control", "challenger", "share", "state", "started_at", "ended_at", "winner"]
    list_filter = ["state"]
    form = ExperimentForm
    change_form_template = "admin/recommender/experiment/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRAIN_PERMISSION)

    def has_change_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # read-only once started

    def has_delete_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        return False  # its impressions and figures refer to it

    def save_model(self, request: HttpRequest, obj: Experiment, form: forms.ModelForm, change: bool) -> None:
        started = dispatch.experiment_start(challenger=obj.challenger, share=obj.share, name=obj.name)
        obj.pk, obj.control, obj.started_at = started.pk, started.control, started.started_at

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/promote/", view(require_POST(self.promote_view)), name="recommender_experiment_promote"),
            path("<int:pk>/refresh/", view(require_POST(self.refresh_view)), name="recommender_experiment_refresh"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        experiment = get_object_or_404(Experiment, pk=object_id)
        extra = {
            "experiment": experiment,
            "results": experiment_results(experiment_id=experiment.pk, min_effect=MIN_EFFECT),
            "can_decide": experiment.state == Experiment.State.RUNNING and request.user.has_perm(RETRAIN_PERMISSION),
            "show_save": False,
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def promote_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm(RETRAIN_PERMISSION):
            return HttpResponse(status=403)
        experiment = get_object_or_404(Experiment, pk=pk)
        winner = experiment.challenger if request.POST.get("winner") == "challenger" else experiment.control
        try:
            dispatch.experiment_promote(experiment=experiment, winner=winner)
        except (services.ExperimentError, services.AlreadyRunning) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"{experiment} ended: v{winner.pk} serves everybody.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommender_experiment_change", args=[pk]))

    def refresh_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        dispatch.online_refresh()
        self.message_user(request, "The online figures are being recounted.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommender_experiment_change", args=[pk]))
