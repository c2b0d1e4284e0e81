"""Forms of the export page: a period, the file's style, the journal's separator."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from facturier.web.forms.common import DateInput

STYLE_CHOICES = [
    ("fr", _("French spreadsheet (; and 1234,56 and 28/11/2026)")),
    ("iso", _("International (, and 1234.56 and 2026-11-28)")),
]


class StyleForm(forms.Form):
    style = forms.ChoiceField(
        label=_("Format"), choices=STYLE_CHOICES, initial="fr", required=False
    )

    def chosen_style(self) -> Any:
        if self.is_valid() and self.cleaned_data.get("style") == "iso":
            return "iso"
        return "fr"


class PeriodForm(StyleForm):
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("Until"), required=False, widget=DateInput())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period ends before it starts."))
        return data


class JournalForm(forms.Form):
    SEPARATORS = [("pipe", _("Vertical bar |")), ("tab", _("Tab"))]
    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("Until"), widget=DateInput())
    separator = forms.ChoiceField(label=_("Separator"), choices=SEPARATORS, initial="pipe")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period ends before it starts."))
        return data

    def separator_char(self) -> str:
        return "\t" if self.cleaned_data.get("separator") == "tab" else "|"
