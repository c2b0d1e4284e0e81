"""``{% load once %}{% once_field "payment" %}``: the hidden one-time token of a create form
(see facturier.web.once). Templates use the include ``web/includes/once.html``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from facturier.web.once import FIELD, once_token

register = template.Library()


@register.simple_tag(takes_context=True)
def once_field(context: dict[str, Any], form: str) -> SafeString:
    request = context["request"]
    token = once_token(int(request.user.pk), form)
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, token)
