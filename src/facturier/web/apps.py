from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "facturier.web"
    label = "web"
    verbose_name = _("Web interface")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from facturier.web.middleware import session_started
        from facturier.web.throttling import forget_successful_login

        user_logged_in.connect(forget_successful_login, dispatch_uid="facturier.web.throttling")
        user_logged_in.connect(session_started, dispatch_uid="facturier.web.middleware")
