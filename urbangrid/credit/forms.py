"""Forms of the credit pages: they shape and check input; the actions decide (and re-check)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from urbangrid.geo.models import Region

from .choices import DecayMode, PenaltyKind, Severity, SubjectKind, ViolationKind
from .identity import is_valid_id_number, is_valid_uscc, normalise

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SubjectForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=SubjectKind.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)
    id_number = forms.CharField(label=_("Resident ID number"), max_length=18, required=False)
    legal_representative = forms.CharField(
        label=_("Legal representative / person in charge"), max_length=60, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    region = forms.ModelChoiceField(label=_("Area"), queryset=Region.objects.none(), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = (
            Region.objects.visible_to(user).filter(level__in=[3, 4]).order_by("code")
        )

    def clean_uscc(self):
        value = normalise(self.cleaned_data.get("uscc", ""))
        if value and not is_valid_uscc(value):
            raise forms.ValidationError(
                _("The unified social credit code is not valid (18 characters, check digit per GB 32100).")
            )
        return value

    def clean_id_number(self):
        value = normalise(self.cleaned_data.get("id_number", ""))
        if value and not is_valid_id_number(value):
            raise forms.ValidationError(
                _("The resident ID number is not valid (18 characters, check digit per GB 11643).")
            )
        return value


class ViolationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Violation kind"), choices=ViolationKind.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.GENERAL)
    occurred_on = forms.DateField(label=_("Occurred on"), widget=DATE)
    case = forms.CharField(label=_("Case number"), max_length=20, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PenaltyForm(forms.Form):
    kind = forms.ChoiceField(label=_("Penalty"), choices=PenaltyKind.choices)
    decision_number = forms.CharField(label=_("Decision number"), max_length=60)
    decided_on = forms.DateField(label=_("Decided on"), widget=DATE)
    amount = forms.DecimalField(
        label=_("Fine (yuan)"), required=False, min_value=0, decimal_places=2, max_digits=12
    )
    rectify_by = forms.DateField(label=_("Rectify by"), required=False, widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RepairForm(forms.Form):
    note = forms.CharField(label=_("Grounds for the repair"), widget=forms.Textarea(attrs={"rows": 2}))


class RulesForm(forms.Form):
    base_score = forms.IntegerField(label=_("Base score"), min_value=1, max_value=1000)
    decay_mode = forms.ChoiceField(label=_("Decay"), choices=DecayMode.choices)
    half_life_days = forms.IntegerField(label=_("Half-life (days)"), min_value=1)
    linear_months = forms.IntegerField(label=_("Linear decay period (months)"), min_value=1)
    repaired_weight = forms.DecimalField(
        label=_("Weight of repaired violations"), min_value=0, max_value=1, decimal_places=2
    )
    watch_threshold = forms.IntegerField(label=_("Watch list below score"), min_value=1)
    dishonest_threshold = forms.IntegerField(label=_("Dishonest list below score"), min_value=1)
    repeat_count = forms.IntegerField(label=_("Repeat offender: violations"), min_value=1)
    repeat_window_days = forms.IntegerField(label=_("Repeat offender: within days"), min_value=1)
    grave_to_dishonest = forms.BooleanField(
        label=_("A grave violation puts the subject on the dishonest list"), required=False
    )
    repair_clean_days = forms.IntegerField(label=_("Clean period before repair (days)"), min_value=1)
