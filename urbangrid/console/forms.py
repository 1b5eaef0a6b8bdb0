"""One form per workflow action. The case page renders a form for every action that
``urbangrid.cases.workflow.allowed_actions(case, user)`` returns; a form's cleaned fields are the
arguments of the action's ``do_*`` function, which ``run`` calls through the action's record
(``urbangrid.cases.actions.perform``): the console never changes a case itself."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.cases import actions as case_actions
from urbangrid.cases.choices import Response
from urbangrid.cases.workflow import ACTIONS, ACTIONS_BY_NAME, action_label
from urbangrid.catalog.cache import class_label
from urbangrid.catalog.models import ProblemClass
from urbangrid.orgs.models import Person, Unit


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several images from one <input type=file multiple accept=image/* capture>."""

    widget = MultipleFileInput(attrs={"accept": "image/*", "capture": "environment", "multiple": True})

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def yes_no(label, choices=YES_NO, **kwargs):
    """Two radio buttons cleaned to True/False."""
    return forms.TypedChoiceField(
        label=label,
        choices=choices,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        **kwargs,
    )


REASON = dict(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ActionForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case, self.user = case, user
        if case is not None and not self.is_bound:
            self.initial["expected_version"] = case.version

    def action_fields(self) -> dict:
        """The do_* function's arguments: the cleaned fields, unless a form reshapes them."""
        return {k: v for k, v in self.cleaned_data.items() if k != "expected_version"}

    def run(self, actor, case, action: str):
        v = self.cleaned_data.get("expected_version")
        return case_actions.perform(actor, case, action, expected_version=v or None, **self.action_fields())


def _field_workers(case):

    regions = [r for r in (case.community_id, case.street_id, case.district_id) if r]
    return (
        Person.objects.filter(is_active=True, roles__role="grid_worker", roles__region_id__in=regions)
        .select_related("unit")
        .distinct()
        .order_by("name")
    )


class FieldWorkerForm(ActionForm):
    field_worker = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Field worker"), empty_label=_("The grid's supervisor")
    )
    reason = forms.CharField(required=False, **REASON)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["field_worker"].queryset = (
            _field_workers(self.case) if self.case else Person.objects.none()
        )


class VerifyForm(ActionForm):
    confirmed = yes_no(_("Is the problem real?"), initial="yes")
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = PhotosField(label=_("Photos"), required=False)


class CheckForm(ActionForm):
    passed = yes_no(_("Is the problem solved?"), initial="yes")
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = PhotosField(label=_("Photos"), required=False)


class RegisterForm(ActionForm):
    problem_class = forms.ModelChoiceField(
        queryset=None, label=_("Problem class"), required=False, empty_label=_("Keep the reported class")
    )
    reason = forms.CharField(required=False, **REASON)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

        # One code set (the reported class's, else the default one): both sets together listed
        # every problem twice under different codes.
        current = self.case and (self.case.problem_class or self.case.suggested_class)
        in_set = {"code_set": current.code_set_id} if current else {"code_set__is_default": True}
        self.fields["problem_class"].queryset = (
            ProblemClass.objects.filter(is_active=True, **in_set)
            .select_related("code_set")
            .order_by("kind", "code")
        )
        self.fields["problem_class"].label_from_instance = class_label
        if self.case is not None and self.case.problem_class_id and not self.is_bound:
            self.initial["problem_class"] = self.case.problem_class_id


class ReasonRequiredForm(ActionForm):
    reason = forms.CharField(required=True, **REASON)


class ReasonForm(ActionForm):
    reason = forms.CharField(required=False, **REASON)


def unit_queryset(user):

    return Unit.objects.visible_to(user).filter(is_active=True).order_by("level", "code")


class DispatchForm(ActionForm):
    unit = forms.ModelChoiceField(queryset=None, label=_("Lead unit"))
    assists = forms.ModelMultipleChoiceField(
        queryset=None,
        label=_("Assisting units (joint case)"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    instruction = forms.CharField(
        label=_("Instruction"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(label=_("Reason for another unit than the suggested one"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        qs = unit_queryset(self.user)
        self.fields["unit"].queryset = qs
        self.fields["assists"].queryset = qs
        if self.case is not None and not self.is_bound:
            from urbangrid.cases.queries import suggest_unit

            suggested = suggest_unit(self.case)
            if suggested is not None:
                self.initial["unit"] = suggested.pk
                self.suggested = suggested

    def action_fields(self) -> dict:
        fields = super().action_fields()
        fields["assists"] = [(u, "", None) for u in fields["assists"]]
        return fields


class NoteForm(ActionForm):
    note = forms.CharField(label=_("Note"), required=False)


class ReportBackForm(ActionForm):
    response = forms.ChoiceField(label=_("Response taken"), choices=Response.choices)
    report = forms.CharField(
        label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos_before = PhotosField(label=_("Photos before"), required=False)
    photos_after = PhotosField(label=_("Photos after"), required=False)


class SelfHandleForm(ActionForm):
    response = forms.ChoiceField(label=_("Response taken"), choices=Response.choices)
    note = forms.CharField(label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos_before = PhotosField(label=_("Photos before"), required=False)
    photos_after = PhotosField(label=_("Photos after"), required=False)


class AssistReportForm(ActionForm):
    report = forms.CharField(label=_("Report"), widget=forms.Textarea(attrs={"rows": 3}))


class EvaluateForm(ActionForm):
    satisfaction = forms.TypedChoiceField(
        label=_("Reporter satisfaction"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)]
    )
    note = forms.CharField(label=_("Note"), required=False)


class SuperviseForm(ActionForm):
    instruction = forms.CharField(label=_("Instruction"), widget=forms.Textarea(attrs={"rows": 2}))
    due_at = forms.DateTimeField(
        label=_("Due (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class ApplyForm(ActionForm):
    reason = forms.CharField(required=True, **REASON)


class ApplyPostponeForm(ApplyForm):
    extra_hours = forms.IntegerField(label=_("Extra working hours needed"), min_value=1, max_value=2000)


class DecideForm(ActionForm):
    approved = yes_no(pgettext_lazy("approval", "Decision"), [("yes", _("Approve")), ("no", _("Refuse"))])
    note = forms.CharField(label=_("Note"), required=False)


FORMS: dict[str, type[ActionForm]] = {
    "request_verify": FieldWorkerForm,
    "verify": VerifyForm,
    "register": RegisterForm,
    "reject": ReasonRequiredForm,
    "dispatch": DispatchForm,
    "accept": NoteForm,
    "report_back": ReportBackForm,
    "assist_report": AssistReportForm,
    "request_check": FieldWorkerForm,
    "check": CheckForm,
    "close": NoteForm,
    "rework": ReasonRequiredForm,
    "evaluate": EvaluateForm,
    "resume": ReasonForm,
    "cancel": ReasonRequiredForm,
    "supervise": SuperviseForm,
    "self_handle": SelfHandleForm,
    "escalate": ReasonForm,
    "apply_postpone": ApplyPostponeForm,
    **{a.name: ApplyForm for a in ACTIONS if a.applies_for and a.name != "apply_postpone"},
    **{a.name: DecideForm for a in ACTIONS if a.decides},
}


def action_item(action: str, form: ActionForm) -> dict:
    """What the templates show of one action's form: its label and the record's flags."""
    spec = ACTIONS_BY_NAME[action]
    return {
        "action": action,
        "label": action_label(action),
        "form": form,
        "multipart": spec.multipart,
        "danger": spec.danger,
    }
