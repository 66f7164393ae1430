from django.contrib import admin
from django.urls import include, path

from config.login_limit import admin_site_limit, login_view, password_reset_view
from movies.views import home, signup
from recommender.api import api
from recommender.api.pages import token_list, token_revoke

# Failed logins are limited on both login pages (config/login_limit.py).
admin_site_limit(admin.site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("account/tokens/", token_list, name="api_tokens"),
    path("account/tokens/<int:token_id>/revoke/", token_revoke, name="api_token_revoke"),
    path("accounts/signup/", signup, name="signup"),
    path("accounts/login/", login_view(), name="login"),
    path("accounts/password_reset/", password_reset_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", home, name="home"),
    path("", include("movies.urls")),
]
