from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The language switch (set_language) of the web UI.
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("facturier.web.urls")),
]
