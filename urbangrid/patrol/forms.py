"""Forms of the patrol pages: they only parse input; the actions validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import PlaceType


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Plan name"), max_length=100)
    region = forms.ChoiceField(label=_("Area"))
    grid_codes = forms.CharField(
        label=_("Grids"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Grid codes separated by spaces or commas; empty = every grid of the area"),
    )
    min_patrols_per_day = forms.IntegerField(
        label=_("Patrols per grid per day"), min_value=0, max_value=48, initial=2
    )
    window_start = forms.CharField(label=_("Window start"), required=False, help_text=_("e.g. 20:00"))
    window_end = forms.CharField(label=_("Window end"), required=False, help_text=_("e.g. 23:00"))
    window_min = forms.IntegerField(
        label=_("Patrols in the window"), required=False, min_value=1, max_value=24, initial=1
    )
    window_label = forms.CharField(
        label=_("Window label"), required=False, max_length=40, help_text=_("e.g. back streets at night")
    )
    min_coverage = forms.FloatField(
        label=_("Minimum covered share (0–1)"), min_value=0, max_value=1, initial=0
    )
    patroller = forms.ChoiceField(label=_("Patroller"), required=False)
    valid_from = forms.DateField(
        label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    valid_to = forms.DateField(
        label=_("Valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    cp_name = forms.CharField(label=_("Checkpoint name"), required=False, max_length=100)
    cp_lon = forms.FloatField(label=_("Checkpoint longitude"), required=False)
    cp_lat = forms.FloatField(label=_("Checkpoint latitude"), required=False)
    cp_radius = forms.FloatField(label=_("Checkpoint radius (m)"), required=False, initial=30)

    def __init__(self, *args, regions=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, f"{r.name}（{r.code}）") for r in regions]
        self.fields["patroller"].choices = [("", _("The grid's supervisors"))] + [
            (p.pk, p.name) for p in people
        ]

    def windows(self) -> list[dict]:
        d = self.cleaned_data
        if d.get("window_start") or d.get("window_end"):
            return [
                {
                    "start": d.get("window_start") or "",
                    "end": d.get("window_end") or "",
                    "min": d.get("window_min") or 1,
                    "label": d.get("window_label") or "",
                }
            ]
        return []

    def codes(self) -> list[str]:
        raw = (self.cleaned_data.get("grid_codes") or "").replace(",", " ").replace("，", " ")
        return [c for c in raw.split() if c]

    def checkpoints(self) -> list[dict]:
        d = self.cleaned_data
        if d.get("cp_name") and d.get("cp_lon") is not None and d.get("cp_lat") is not None:
            return [
                {"name": d["cp_name"], "lon": d["cp_lon"], "lat": d["cp_lat"], "radius_m": d.get("cp_radius")}
            ]
        return []


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=120)
    region = forms.ChoiceField(label=_("Area"), required=False)
    place_types = forms.MultipleChoiceField(
        label=_("Place types"), choices=PlaceType.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end_date = forms.DateField(
        label=_("End date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, regions=(), allow_city=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("Whole city"))] if allow_city else []
        self.fields["region"].choices = choices + [(r.code, f"{r.name}（{r.code}）") for r in regions]


class PlaceForm(forms.Form):
    name = forms.CharField(label=_("Place name"), max_length=120)
    place_type = forms.ChoiceField(label=_("Place type"), choices=PlaceType.choices)
    address = forms.CharField(label=_("Address"), required=False, max_length=200)
    lon = forms.FloatField(label=_("Longitude"))
    lat = forms.FloatField(label=_("Latitude"))
    owner_name = forms.CharField(label=_("Owner / operator"), max_length=120)
    owner_contact = forms.CharField(label=_("Contact person"), required=False, max_length=60)
    owner_phone = forms.CharField(label=_("Phone"), required=False, max_length=20)
