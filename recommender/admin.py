from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from recommender import services
from recommender.engine.factors import ArtifactError
from recommender.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "preset", "state", "is_active", "n_ratings", "rmse", "ndcg", "created_at", "finished_at"]
    list_filter = ["state", "preset", "is_active"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate_version"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training, never from a form

    @admin.display(description="val RMSE")
    def rmse(self, version: ModelVersion) -> str:
        value = version.metrics.get("val_rmse")
        return f"{value:.4f}" if isinstance(value, float) else "-"

    @admin.display(description="val nDCG@10")
    def ndcg(self, version: ModelVersion) -> str:
        value = version.metrics.get("val_ndcg")
        return f"{value:.4f}" if isinstance(value, float) else "-"

    @admin.action(description="Activate the selected version (one)", permissions=["change"])
    def activate_version(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        try:
            services.version_activate(version=version)
        except ArtifactError as exc:
            self.message_user(request, f"v{version.pk} was not activated: {exc}", messages.ERROR)
            return
        self.message_user(request, f"v{version.pk} is now active.", messages.SUCCESS)
