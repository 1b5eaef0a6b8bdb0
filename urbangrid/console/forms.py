"""One form per workflow action. The case page renders a form for every action that
``urbangrid.cases.workflow.allowed_actions(case, user)`` returns, and ``run_action`` calls the
matching ``urbangrid.cases.actions.do_*`` function: the console never changes a case itself."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from urbangrid.cases import actions as case_actions
from urbangrid.cases.choices import ApplicationKind, Response
from urbangrid.cases.workflow import ACTION_LABELS


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
REASON = dict(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ActionForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, case=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case, self.user = case, user
        if case is not None and not self.is_bound:
            self.initial["expected_version"] = case.version

    def common(self):
        v = self.cleaned_data.get("expected_version")
        return {"expected_version": v} if v else {}


def _field_workers(case):
    from urbangrid.orgs.models import Person

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
        from urbangrid.orgs.models import Person

        self.fields["field_worker"].queryset = (
            _field_workers(self.case) if self.case else Person.objects.none()
        )


class RequestVerifyForm(FieldWorkerForm):
    def run(self, actor, case):
        return case_actions.do_request_verify(
            actor,
            case,
            field_worker=self.cleaned_data["field_worker"],
            reason=self.cleaned_data["reason"],
            **self.common(),
        )


class RequestCheckForm(FieldWorkerForm):
    def run(self, actor, case):
        return case_actions.do_request_check(
            actor,
            case,
            field_worker=self.cleaned_data["field_worker"],
            reason=self.cleaned_data["reason"],
            **self.common(),
        )


class VerifyForm(ActionForm):
    confirmed = forms.ChoiceField(
        label=_("Is the problem real?"), choices=YES_NO, widget=forms.RadioSelect, initial="yes"
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = PhotosField(label=_("Photos"), required=False)

    def run(self, actor, case):
        d = self.cleaned_data
        return case_actions.do_verify(
            actor,
            case,
            confirmed=d["confirmed"] == "yes",
            note=d["note"],
            photos=d["photos"],
            **self.common(),
        )


class CheckForm(ActionForm):
    passed = forms.ChoiceField(
        label=_("Is the problem solved?"), choices=YES_NO, widget=forms.RadioSelect, initial="yes"
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos = PhotosField(label=_("Photos"), required=False)

    def run(self, actor, case):
        d = self.cleaned_data
        return case_actions.do_check(
            actor, case, passed=d["passed"] == "yes", note=d["note"], photos=d["photos"], **self.common()
        )


class RegisterForm(ActionForm):
    problem_class = forms.ModelChoiceField(
        queryset=None, label=_("Problem class"), required=False, empty_label=_("Keep the reported class")
    )
    reason = forms.CharField(required=False, **REASON)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from urbangrid.catalog.cache import class_label
        from urbangrid.catalog.models import ProblemClass

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

    def run(self, actor, case):
        return case_actions.do_register(
            actor,
            case,
            problem_class=self.cleaned_data["problem_class"],
            reason=self.cleaned_data["reason"],
            **self.common(),
        )


class ReasonRequiredForm(ActionForm):
    reason = forms.CharField(required=True, **REASON)


class RejectForm(ReasonRequiredForm):
    def run(self, actor, case):
        return case_actions.do_reject(actor, case, reason=self.cleaned_data["reason"], **self.common())


class CancelForm(ReasonRequiredForm):
    def run(self, actor, case):
        return case_actions.do_cancel(actor, case, reason=self.cleaned_data["reason"], **self.common())


class ReworkForm(ReasonRequiredForm):
    def run(self, actor, case):
        return case_actions.do_rework(actor, case, reason=self.cleaned_data["reason"], **self.common())


class ResumeForm(ActionForm):
    reason = forms.CharField(required=False, **REASON)

    def run(self, actor, case):
        return case_actions.do_resume(actor, case, reason=self.cleaned_data["reason"], **self.common())


class EscalateForm(ActionForm):
    reason = forms.CharField(required=False, **REASON)

    def run(self, actor, case):
        return case_actions.do_escalate(actor, case, reason=self.cleaned_data["reason"], **self.common())


def unit_queryset(user):
    from urbangrid.orgs.models import Unit

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

    def run(self, actor, case):
        d = self.cleaned_data
        return case_actions.do_dispatch(
            actor,
            case,
            unit=d["unit"],
            reason=d["reason"],
            instruction=d["instruction"],
            assists=[(u, "", None) for u in d["assists"]],
            **self.common(),
        )


class AcceptForm(ActionForm):
    note = forms.CharField(label=_("Note"), required=False)

    def run(self, actor, case):
        return case_actions.do_accept(actor, case, note=self.cleaned_data["note"], **self.common())


class ReportBackForm(ActionForm):
    response = forms.ChoiceField(label=_("Response taken"), choices=Response.choices)
    report = forms.CharField(
        label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos_before = PhotosField(label=_("Photos before"), required=False)
    photos_after = PhotosField(label=_("Photos after"), required=False)

    def run(self, actor, case):
        d = self.cleaned_data
        return case_actions.do_report_back(
            actor,
            case,
            response=d["response"],
            report=d["report"],
            photos_before=d["photos_before"],
            photos_after=d["photos_after"],
            **self.common(),
        )


class SelfHandleForm(ActionForm):
    response = forms.ChoiceField(label=_("Response taken"), choices=Response.choices)
    note = forms.CharField(label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photos_before = PhotosField(label=_("Photos before"), required=False)
    photos_after = PhotosField(label=_("Photos after"), required=False)

    def run(self, actor, case):
        d = self.cleaned_data
        return case_actions.do_self_handle(
            actor,
            case,
            response=d["response"],
            note=d["note"],
            photos_before=d["photos_before"],
            photos_after=d["photos_after"],
            **self.common(),
        )


class AssistReportForm(ActionForm):
    report = forms.CharField(label=_("Report"), widget=forms.Textarea(attrs={"rows": 3}))

    def run(self, actor, case):
        return case_actions.do_assist_report(actor, case, report=self.cleaned_data["report"], **self.common())


class CloseForm(ActionForm):
    note = forms.CharField(label=_("Note"), required=False)

    def run(self, actor, case):
        return case_actions.do_close(actor, case, note=self.cleaned_data["note"], **self.common())


class EvaluateForm(ActionForm):
    satisfaction = forms.TypedChoiceField(
        label=_("Reporter satisfaction"), coerce=int, choices=[(i, str(i)) for i in range(5, 0, -1)]
    )
    note = forms.CharField(label=_("Note"), required=False)

    def run(self, actor, case):
        return case_actions.do_evaluate(
            actor,
            case,
            satisfaction=self.cleaned_data["satisfaction"],
            note=self.cleaned_data["note"],
            **self.common(),
        )


class SuperviseForm(ActionForm):
    instruction = forms.CharField(label=_("Instruction"), widget=forms.Textarea(attrs={"rows": 2}))
    due_at = forms.DateTimeField(
        label=_("Due (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def run(self, actor, case):
        return case_actions.do_supervise(
            actor,
            case,
            instruction=self.cleaned_data["instruction"],
            due_at=self.cleaned_data["due_at"],
            **self.common(),
        )


def _apply_form(kind):
    class ApplyForm(ActionForm):
        reason = forms.CharField(required=True, **REASON)
        if kind == ApplicationKind.POSTPONE:
            extra_hours = forms.IntegerField(
                label=_("Extra working hours needed"), min_value=1, max_value=2000
            )

        def run(self, actor, case):
            return case_actions.do_apply(
                actor,
                case,
                kind,
                reason=self.cleaned_data["reason"],
                extra_hours=self.cleaned_data.get("extra_hours"),
                **self.common(),
            )

    return ApplyForm


def _decide_form(kind):
    class DecideForm(ActionForm):
        approved = forms.ChoiceField(
            label=pgettext_lazy("approval", "Decision"),
            widget=forms.RadioSelect,
            choices=[("yes", _("Approve")), ("no", _("Refuse"))],
        )
        note = forms.CharField(label=_("Note"), required=False)

        def run(self, actor, case):
            from urbangrid.cases.queries import pending_application
            from urbangrid.lib.errors import Conflict

            app = pending_application(case, kind)
            if app is None:
                raise Conflict(_("There is no pending application of this kind."))
            return case_actions.do_decide_application(
                actor,
                app,
                approved=self.cleaned_data["approved"] == "yes",
                note=self.cleaned_data["note"],
                **self.common(),
            )

    return DecideForm


FORMS: dict[str, type[ActionForm]] = {
    "request_verify": RequestVerifyForm,
    "verify": VerifyForm,
    "register": RegisterForm,
    "reject": RejectForm,
    "dispatch": DispatchForm,
    "accept": AcceptForm,
    "report_back": ReportBackForm,
    "assist_report": AssistReportForm,
    "request_check": RequestCheckForm,
    "check": CheckForm,
    "close": CloseForm,
    "rework": ReworkForm,
    "evaluate": EvaluateForm,
    "resume": ResumeForm,
    "cancel": CancelForm,
    "supervise": SuperviseForm,
    "self_handle": SelfHandleForm,
    "escalate": EscalateForm,
}
for _kind in ApplicationKind.values:
    FORMS[f"apply_{_kind}"] = _apply_form(_kind)
    FORMS[f"decide_{_kind}"] = _decide_form(_kind)

# Every action of the transitions table has a form (checked by the tests as well).
assert set(ACTION_LABELS) <= set(FORMS), set(ACTION_LABELS) - set(FORMS)

# Forms that upload photos need multipart encoding.
MULTIPART = {"verify", "check", "report_back", "self_handle"}
DANGER = {"reject", "cancel", "decide_cancel", "apply_cancel", "rework"}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
