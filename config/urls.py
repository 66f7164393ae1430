from django.contrib import admin
from django.urls import include, path

from movies.views import home, signup

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/signup/", signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", home, name="home"),
    path("", include("movies.urls")),
]
