"""The hotline operator's intake form; submission goes through urbangrid.cases.intake.do_intake."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from urbangrid.cases.intake import IntakeData, do_intake
from urbangrid.catalog.cache import active_classes, class_key, class_label
from urbangrid.catalog.models import ProblemClass
from urbangrid.lib import limits
from urbangrid.lib.errors import InvalidInput

from .forms import PhotosField


def class_choices(empty_label) -> list:
    """The default code set's classes for a picker, grouped by kind, each by its key (E06001):
    components and events share code numbers, so the bare code would name two classes."""

    classes = ProblemClass.objects.filter(is_active=True, code_set__is_default=True).order_by("kind", "code")
    groups: dict[str, list] = {}
    for pc in classes:
        groups.setdefault(pc.get_kind_display(), []).append((class_key(pc), class_label(pc)))
    return [("", empty_label), *groups.items()]


def class_or_none(ref: str):
    """The class a picker's value names, or None when it names none (a live check, not a save)."""

    try:
        return active_classes().resolve(ref) if ref else None
    except InvalidInput:
        return None


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
    # Radio buttons in the place check when an open case of the same class is near:
    # "link:<number>" adds the call to it, "new" opens a case anyway.
    duplicate_choice = forms.CharField(required=False, max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["class_code"].choices = class_choices(_("— suggest from the text —"))

    def clean(self):
        data = super().clean()
        if data.get("lon") is None or data.get("lat") is None:
            raise forms.ValidationError(_("Pick the place on the map or search for the address."))
        return data


def duplicate_choice(value: str) -> dict:
    """The intake's ``extra`` for the person's answer to a proposed duplicate."""
    if value == "new":
        return {"force_new": True}
    if value.startswith("link:"):
        return {"link_to": value[5:]}
    return {}


def run_intake(actor, data: dict):

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
            extra=duplicate_choice(data.get("duplicate_choice") or ""),
        ),
        request_id=data["request_id"],
    )
