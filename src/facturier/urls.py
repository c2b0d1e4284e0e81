from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    # The language switch (set_language) of the web UI.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("facturier.web.urls")),
]
if settings.FACTURIER_ADMIN:
    # Operators only (billing/admin_site.py), and only when FACTURIER_ADMIN=1.
    urlpatterns.insert(0, path("admin/", admin.site.urls))
