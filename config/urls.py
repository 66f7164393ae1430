"""The site's URL map: admin, the JSON API, account pages and the catalogue."""

from django.contrib import admin
from django.urls import include, path

from accounts.login_limit import admin_site_limit, login_view, password_reset_view
from accounts.views import (
    account,
    account_delete_confirm,
    account_email,
    ratings_download,
    signup,
    token_list,
    token_revoke,
)
from movies.views.catalogue import home
from recommender.api import api

# Failed logins are limited on both login pages (accounts/login_limit.py).
admin_site_limit(admin.site)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("account/tokens/", token_list, name="api_tokens"),
    path("account/tokens/<int:token_id>/revoke/", token_revoke, name="api_token_revoke"),
    path("accounts/signup/", signup, name="signup"),
    path("accounts/me/", account, name="account"),
    path("accounts/me/ratings.csv", ratings_download, name="ratings_download"),
    path("accounts/me/email/", account_email, name="account_email"),
    path("accounts/me/delete/", account_delete_confirm, name="account_delete"),
    path("accounts/login/", login_view(), name="login"),
    path("accounts/password_reset/", password_reset_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", home, name="home"),
    path("", include("movies.urls")),
]
