"""Forms of the joint pages: they shape and check input; the actions decide (and re-check)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.catalog.models import ProblemClass
from urbangrid.geo.models import Region
from urbangrid.orgs.models import Person, Unit

from .choices import AgendaReason, ConsultationMode, Stance, TargetMetric

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def unit_choices():
    return Unit.objects.filter(is_active=True).order_by("level", "code")


class CampaignForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    lead_unit = forms.ModelChoiceField(
        label=pgettext_lazy("campaign", "Lead unit"), queryset=Unit.objects.none()
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Participating units"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    regions = forms.ModelMultipleChoiceField(
        label=_("Areas"), queryset=Region.objects.none(), widget=forms.SelectMultiple(attrs={"size": 6})
    )
    problem_classes = forms.ModelMultipleChoiceField(
        label=_("Problem classes (none = all)"),
        queryset=ProblemClass.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    start_date = forms.DateField(label=_("Start date"), widget=DATE)
    end_date = forms.DateField(label=_("End date"), widget=DATE)
    target1_name = forms.CharField(label=_("Target 1"), required=False, max_length=80)
    target1_metric = forms.ChoiceField(label=_("Measured by"), choices=TargetMetric.choices, required=False)
    target1_value = forms.IntegerField(label=_("Value"), required=False, min_value=1)
    target2_name = forms.CharField(label=_("Target 2"), required=False, max_length=80)
    target2_metric = forms.ChoiceField(label=_("Measured by"), choices=TargetMetric.choices, required=False)
    target2_value = forms.IntegerField(label=_("Value"), required=False, min_value=1)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        units = unit_choices()
        self.fields["lead_unit"].queryset = units
        self.fields["units"].queryset = units
        # A city-level unit (e.g. the bureau) may lead anywhere; others choose inside their areas.

        person = Person.objects.filter(user=user).select_related("unit").first() if user is not None else None
        regions = (
            Region.objects.all()
            if person is not None and person.unit.region_id is None
            else Region.objects.visible_to(user)
        )
        self.fields["regions"].queryset = regions.filter(level__in=[2, 3, 4]).order_by("code")
        self.fields["problem_classes"].queryset = ProblemClass.objects.filter(
            is_active=True, code_set__is_default=True
        ).order_by("code") or ProblemClass.objects.filter(is_active=True).order_by("code")

    def clean(self):
        data = super().clean()
        for i in (1, 2):
            if data.get(f"target{i}_name") and not data.get(f"target{i}_value"):
                self.add_error(f"target{i}_value", _("A target needs a value."))
        return data

    def targets(self):
        d = self.cleaned_data
        return [
            (d[f"target{i}_name"], d[f"target{i}_metric"], d[f"target{i}_value"])
            for i in (1, 2)
            if d.get(f"target{i}_name")
        ]


class TaskForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    title = forms.CharField(label=_("Task"), max_length=120)
    due_date = forms.DateField(label=_("Deadline"), widget=DATE)

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        if campaign is not None:
            ids = [campaign.lead_unit_id, *campaign.units.values_list("id", flat=True)]
            self.fields["unit"].queryset = Unit.objects.filter(pk__in=ids)


class TaskReportForm(forms.Form):
    report = forms.CharField(
        label=pgettext_lazy("task", "What was done"), widget=forms.Textarea(attrs={"rows": 2})
    )
    quantity = forms.IntegerField(
        label=_("Quantity (e.g. stalls cleared)"), min_value=0, initial=0, required=False
    )


class CaseNumberForm(forms.Form):
    case = forms.CharField(label=_("Case number"), max_length=20)


class ConsultationForm(forms.Form):
    case = forms.CharField(label=_("Case number"), max_length=20)
    reason = forms.CharField(
        label=_("Why the responsibility is disputed"), widget=forms.Textarea(attrs={"rows": 3})
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Units involved (empty = every unit that held the case)"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    mode = forms.ChoiceField(label=_("Procedure"), choices=ConsultationMode.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = unit_choices()


class ViewForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    stance = forms.ChoiceField(label=pgettext_lazy("opinion", "View"), choices=Stance.choices)
    statement = forms.CharField(label=_("Grounds"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else Unit.objects.none()
        self.fields["unit"].empty_label = None  # a unit speaks for itself: preselect it


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(label=pgettext_lazy("joint", "Time"), widget=DATETIME)
    location = forms.CharField(label=_("Location"), max_length=120, required=False)


class DecisionForm(forms.Form):
    lead_unit = forms.ModelChoiceField(label=_("Responsible lead unit"), queryset=Unit.objects.none())
    assist_units = forms.ModelMultipleChoiceField(
        label=_("Assisting units"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    deadline = forms.DateTimeField(label=_("Handling deadline"), widget=DATETIME)
    decision = forms.CharField(label=_("Decision and grounds"), widget=forms.Textarea(attrs={"rows": 3}))
    minutes = forms.CharField(
        label=_("Minutes (meeting)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    update_matrix = forms.BooleanField(
        label=_("Also update the responsibility matrix for this class and street"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].queryset = unit_choices()
        self.fields["assist_units"].queryset = unit_choices()


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    scheduled_at = forms.DateTimeField(label=pgettext_lazy("joint", "Time"), widget=DATETIME)
    location = forms.CharField(label=_("Location"), max_length=120, required=False)
    host_unit = forms.ModelChoiceField(label=_("Host unit"), queryset=Unit.objects.none())
    units = forms.ModelMultipleChoiceField(
        label=_("Attending units"),
        queryset=Unit.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host_unit"].queryset = unit_choices()
        self.fields["units"].queryset = unit_choices()


class AgendaForm(forms.Form):
    reason = forms.ChoiceField(label=pgettext_lazy("meeting", "Reason"), choices=AgendaReason.choices)
    title = forms.CharField(label=pgettext_lazy("joint", "Item"), max_length=200, required=False)
    case = forms.CharField(label=_("Case number"), max_length=20, required=False)


class MinutesForm(forms.Form):
    minutes = forms.CharField(label=_("Minutes"), widget=forms.Textarea(attrs={"rows": 5}))


class FollowUpForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=200)
    unit = forms.ModelChoiceField(label=_("Responsible unit"), queryset=Unit.objects.none())
    due_date = forms.DateField(label=_("Deadline"), widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_choices()


class ReplyForm(forms.Form):
    reply = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 2}))
