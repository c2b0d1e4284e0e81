"""The embedded mailbox: every message the system sent (or would have sent) without SMTP."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from facturier.billing.models import MailboxMessage
from facturier.web.access import Can, WebRequest, get_visible, requires
from facturier.web.paging import paginate


@dataclass(frozen=True)
class Attachment:
    index: int
    filename: str
    content_type: str
    size: int


def _parsed(message: MailboxMessage) -> EmailMessage:
    parsed = message_from_bytes(bytes(message.raw), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def decoded(header: str) -> str:
    """A header as a person reads it: RFC 2047 encoded words decoded
    (``=?utf-8?q?Atelier_Num=C3=A9rique?= <a@b.fr>`` → ``Atelier Numérique <a@b.fr>``)."""
    if "=?" not in header:
        return header
    try:
        return str(make_header(decode_header(header)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return header


def _attachments(parsed: EmailMessage) -> list[Attachment]:
    found = []
    for i, part in enumerate(parsed.iter_attachments()):
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        found.append(
            Attachment(i, part.get_filename() or f"part-{i}", part.get_content_type(), size)
        )
    return found


def _body(parsed: EmailMessage) -> str:
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


@requires(Can.VIEW_MAILBOX)
def mailbox_list(request: WebRequest) -> HttpResponse:
    qs = MailboxMessage.objects.filter(company=request.company).defer("raw")
    query = request.GET.get("q", "").strip()
    if query:
        # Recipients are JSON lists: a text match on them is enough to find an address.
        qs = qs.filter(
            Q(subject__icontains=query)
            | Q(to__icontains=query)
            | Q(cc__icontains=query)
            | Q(bcc__icontains=query)
        )
    context = {
        "query": query,
        "smtp": settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"),
        **paginate(request, qs.order_by("-created_at", "-pk")),
    }
    return render(request, "web/mailbox/list.html", context)


@requires(Can.VIEW_MAILBOX)
def mailbox_message(request: WebRequest, pk: int) -> HttpResponse:
    message = get_visible(MailboxMessage.objects.filter(company=request.company), pk=pk)
    parsed = _parsed(message)
    context = {
        "message": message,
        "sender": decoded(message.sender),
        "subject": decoded(message.subject),
        "to": [decoded(address) for address in message.to],
        "cc": [decoded(address) for address in message.cc],
        "bcc": [decoded(address) for address in message.bcc],
        "body": _body(parsed),
        "attachments": _attachments(parsed),
    }
    return render(request, "web/mailbox/message.html", context)


@requires(Can.VIEW_MAILBOX)
def mailbox_attachment(request: WebRequest, pk: int, index: int) -> HttpResponse:
    message = get_visible(MailboxMessage.objects.filter(company=request.company), pk=pk)
    parts = list(_parsed(message).iter_attachments())
    if not 0 <= index < len(parts):
        raise Http404(_("No such attachment."))
    part = parts[index]
    payload = part.get_payload(decode=True)
    response = HttpResponse(
        payload if isinstance(payload, bytes) else b"", content_type=part.get_content_type()
    )
    filename = part.get_filename() or f"part-{index}"
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response


urlpatterns = [
    path("", mailbox_list, name="mailbox"),
    path("<int:pk>/", mailbox_message, name="mailbox_message"),
    path("<int:pk>/attachments/<int:index>/", mailbox_attachment, name="mailbox_attachment"),
]
