"""The fields each case action takes from a client, one schema per kind of input (named by the
action records in ``cases.workflow``). ``kwargs(user)`` checks them and looks up what they name
(people, units, classes), giving the arguments of the action's ``do_*`` function."""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext as _
from ninja import Schema

from urbangrid.catalog.cache import active_classes
from urbangrid.lib.bounds import Int, Moment
from urbangrid.lib.errors import InvalidInput
from urbangrid.orgs.models import Person, Unit


def decode_base64(items: list[str], field: str) -> list[bytes]:
    """Photos sent inline as base64 (a data: URL prefix is allowed)."""
    out = []
    for s in items or []:
        try:
            out.append(base64.b64decode(s.split(",", 1)[-1], validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(_("A photo is not valid base64."), field=field) from exc
    return out


def unit_by_code(code: str) -> Unit:
    u = Unit.objects.filter(code=code, is_active=True).first()
    if u is None:
        raise InvalidInput(_("Unknown unit %(c)s.") % {"c": code}, field="unit")
    return u


def _required(value, message: str, field: str):
    if value is None:
        raise InvalidInput(message, field=field)
    return value


class ActionInput(Schema):
    expected_version: Int | None = None

    def kwargs(self, user) -> dict:
        raise NotImplementedError


class ReasonIn(ActionInput):
    reason: str = ""

    def kwargs(self, user) -> dict:
        return {"reason": self.reason}


class NoteIn(ActionInput):
    note: str = ""
    reason: str = ""

    def kwargs(self, user) -> dict:
        return {"note": self.note or self.reason}


class FieldWorkerIn(ActionInput):
    field_worker: Int | None = None  # a person's id; none: the grid's supervisor
    reason: str = ""

    def kwargs(self, user) -> dict:
        worker = None
        if self.field_worker is not None:
            worker = Person.objects.visible_to(user).filter(pk=self.field_worker).first()
            if worker is None:
                raise InvalidInput(_("Unknown person."), field="field_worker")
        return {"field_worker": worker, "reason": self.reason}


class _OnSiteIn(ActionInput):
    """A grid worker's answer on site (verification, check), with photos."""

    note: str = ""
    photos_base64: list[str] = []

    def _answer(self, field: str, value: bool | None, missing: str) -> dict:
        answer = _required(value, missing, field)
        return {
            field: answer,
            "note": self.note,
            "photos": decode_base64(self.photos_base64, "photos_base64"),
        }


class VerifyIn(_OnSiteIn):
    confirmed: bool | None = None

    def kwargs(self, user) -> dict:
        return self._answer("confirmed", self.confirmed, _("Say whether the problem is there."))


class CheckIn(_OnSiteIn):
    passed: bool | None = None

    def kwargs(self, user) -> dict:
        return self._answer("passed", self.passed, _("Say whether the check passed."))


class RegisterIn(ActionInput):
    class_code: str | None = None  # none: the class chosen at intake, or the suggestion
    class_kind: str | None = None
    code_set: str | None = None
    reason: str = ""

    def kwargs(self, user) -> dict:
        pc = None
        if self.class_code:
            pc = active_classes().resolve(self.class_code, self.class_kind or None, self.code_set or None)
        return {"problem_class": pc, "reason": self.reason}


class AssistIn(Schema):
    unit: str
    instruction: str = ""
    due_at: Moment | None = None


class DispatchIn(ActionInput):
    unit: str | None = None  # a unit code; none: the suggested unit
    reason: str = ""
    instruction: str = ""
    assists: list[AssistIn] = []

    def kwargs(self, user) -> dict:
        return {
            "unit": unit_by_code(self.unit) if self.unit else None,
            "reason": self.reason,
            "instruction": self.instruction,
            "assists": [
                {"unit": unit_by_code(a.unit), "instruction": a.instruction, "due_at": a.due_at}
                for a in self.assists
            ],
        }


class _HandledIn(ActionInput):
    """A unit's or a grid worker's fix: photos via POST /photos (stages before/after) or inline."""

    response: str | None = None
    report: str = ""
    note: str = ""
    photos_before_base64: list[str] = []
    photos_after_base64: list[str] = []

    def photos(self) -> dict:
        return {
            "photos_before": decode_base64(self.photos_before_base64, "photos_before_base64"),
            "photos_after": decode_base64(self.photos_after_base64, "photos_after_base64"),
        }


class ReportBackIn(_HandledIn):
    def kwargs(self, user) -> dict:
        return {"response": self.response, **self.photos(), "report": self.report or self.note}


class SelfHandleIn(_HandledIn):
    def kwargs(self, user) -> dict:
        return {"response": self.response, **self.photos(), "note": self.report or self.note}


class AssistReportIn(ActionInput):
    report: str = ""

    def kwargs(self, user) -> dict:
        return {"report": self.report}


class EvaluateIn(ActionInput):
    satisfaction: Int | None = None
    note: str = ""

    def kwargs(self, user) -> dict:
        score = _required(self.satisfaction, _("Give a satisfaction score."), "satisfaction")
        return {"satisfaction": score, "note": self.note}


class SuperviseIn(ActionInput):
    instruction: str = ""
    reason: str = ""
    due_at: Moment | None = None

    def kwargs(self, user) -> dict:
        return {"instruction": self.instruction or self.reason, "due_at": self.due_at}


class ApplyIn(ActionInput):
    reason: str = ""
    extra_hours: Int | None = None  # a postponement's extra working hours

    def kwargs(self, user) -> dict:
        return {"reason": self.reason, "extra_hours": self.extra_hours}


class DecideIn(ActionInput):
    approved: bool | None = None
    note: str = ""
    reason: str = ""

    def kwargs(self, user) -> dict:
        return {"approved": self.approved, "note": self.note or self.reason}
