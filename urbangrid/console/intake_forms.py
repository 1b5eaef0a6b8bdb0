"""The hotline operator's intake form; submission goes through urbangrid.cases.intake.do_intake."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from urbangrid.lib import limits

from .forms import PhotosField


def class_by_code(code: str):
    from urbangrid.catalog.models import ProblemClass

    if not code:
        return None
    return (
        ProblemClass.objects.filter(code=code, is_active=True, code_set__is_default=True)
        .select_related("code_set")
        .first()
        or ProblemClass.objects.filter(code=code, is_active=True).select_related("code_set").first()
    )


class HotlineForm(forms.Form):
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=80)
    description = forms.CharField(
        label=_("What did the caller report?"),
        max_length=limits.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    address = forms.CharField(label=_("Address"), max_length=limits.ADDRESS_MAX, required=False)
    lon = forms.FloatField(widget=forms.HiddenInput, required=False)
    lat = forms.FloatField(widget=forms.HiddenInput, required=False)
    class_code = forms.ChoiceField(label=_("Problem class"), required=False)
    reporter_name = forms.CharField(label=_("Caller's name"), max_length=limits.NAME_MAX, required=False)
    reporter_phone = forms.CharField(label=_("Caller's phone"), max_length=limits.PHONE_MAX, required=False)
    anonymous = forms.BooleanField(label=_("Caller wishes to stay anonymous"), required=False)
    photos = PhotosField(label=_("Photos (optional)"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from urbangrid.catalog.models import ProblemClass

        classes = ProblemClass.objects.filter(is_active=True, code_set__is_default=True).order_by(
            "kind", "code"
        )
        self.fields["class_code"].choices = [("", _("— suggest from the text —"))] + [
            (pc.code, f"{pc.code} {pc.major_name}·{pc.name}") for pc in classes
        ]

    def clean(self):
        data = super().clean()
        if data.get("lon") is None or data.get("lat") is None:
            raise forms.ValidationError(_("Pick the place on the map or search for the address."))
        return data


def run_intake(actor, data: dict):
    from urbangrid.cases.intake import IntakeData, do_intake

    pc = class_by_code(data.get("class_code") or "")
    extra = {"class_kind": pc.kind} if pc is not None else {}
    return do_intake(
        actor,
        IntakeData(
            channel="hotline",
            description=data["description"],
            lon=data["lon"],
            lat=data["lat"],
            crs="wgs84",
            address=data.get("address") or "",
            class_code=data.get("class_code") or None,
            reporter_name=data.get("reporter_name") or "",
            reporter_phone=data.get("reporter_phone") or "",
            anonymous=bool(data.get("anonymous")),
            photos=data.get("photos") or [],
            extra=extra,
        ),
        request_id=data["request_id"],
    )
