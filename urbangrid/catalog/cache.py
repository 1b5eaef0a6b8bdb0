"""The active classes, held per process: intake looks a class up (and its related classes for the
duplicate search) on every report, and the catalogue changes a few times a year.

Held like the classifier's model (lib/memo.py): rebuilt after CACHE_SECONDS, and at once in this
process when a class or code set is saved or deleted (signals wired in apps.py). The instances are
shared between requests: read them, never modify or save them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext as _

from urbangrid.lib.errors import InvalidInput
from urbangrid.lib.memo import ExpiringCache

from .choices import LETTER_KINDS
from .models import ProblemClass


@dataclass(frozen=True)
class ActiveClasses:
    by_pk: dict
    # code -> classes with that code, the default code set's first, then events before components.
    by_code: dict

    def resolve(self, ref: str, kind: str | None = None, code_set: str | None = None):
        """The class named by ``ref``: a key (E06001) or a bare code that names one class only,
        in ``code_set`` (its code) or else the default code set first. An unknown or ambiguous
        reference raises InvalidInput; the ambiguous one lists the choices."""
        ref = (ref or "").strip()
        letter_kind = LETTER_KINDS.get(ref[:1].upper()) if ref[1:].isdigit() else None
        if letter_kind is not None:
            if kind and kind != letter_kind:
                raise InvalidInput(
                    _("Class %(c)s is not of the kind %(k)s.") % {"c": ref, "k": kind}, field="class_code"
                )
            ref, kind = ref[1:], letter_kind
        found = [
            pc
            for pc in self.by_code.get(ref, ())
            if (kind is None or pc.kind == kind) and (code_set is None or pc.code_set.code == code_set)
        ]
        if not found:
            raise InvalidInput(_("Unknown class code %(c)s.") % {"c": ref}, field="class_code")
        # by_code lists the default code set first: a code of the other set still resolves.
        found = [pc for pc in found if pc.code_set_id == found[0].code_set_id]
        if len(found) > 1:
            choices = "、".join(f"{class_key(pc)} {pc.major_name}·{pc.name}" for pc in found)
            raise InvalidInput(
                _("Class code %(c)s names several classes: %(choices)s. Choose one of them.")
                % {"c": ref, "choices": choices},
                field="class_code",
                details={"choices": [class_ref(pc) for pc in found]},
            )
        return found[0]

    def related_ids(self, pc) -> tuple[int, ...]:
        """Ids of the classes counted as the same problem for duplicates: the class itself and
        its equivalent in the other code set. Two classes of one major class are different
        problems (焚烧树叶 is not 垃圾满溢)."""
        return (pc.pk, pc.equivalent_id) if pc.equivalent_id in self.by_pk else (pc.pk,)


def class_key(pc) -> str:
    """The class's identifier inside its code set (see choices.KIND_LETTERS)."""
    return pc.key


def class_label(pc) -> str:
    """How pickers and exports show a class: code, kind, major·minor name."""
    return f"{pc.code}（{pc.get_kind_display()}）{pc.major_name}·{pc.name}"


def class_ref(pc) -> dict:
    """A class's full identity for APIs and exports: code set, kind and code."""
    return {
        "key": class_key(pc),
        "code_set": pc.code_set.code,
        "kind": pc.kind,
        "code": pc.code,
        "name": pc.name,
    }


def _build() -> ActiveClasses:
    classes = list(ProblemClass.objects.filter(is_active=True).select_related("code_set"))
    by_code: dict[str, list] = defaultdict(list)
    for pc in classes:
        by_code[pc.code].append(pc)
    for found in by_code.values():
        found.sort(key=lambda pc: (not pc.code_set.is_default, pc.kind != "event", pc.pk))
    return ActiveClasses(
        by_pk={pc.pk: pc for pc in classes},
        by_code=dict(by_code),
    )


_classes = ExpiringCache(_build)


def active_classes() -> ActiveClasses:
    return _classes.get()


def invalidate_classes(*args, **kwargs) -> None:
    _classes.clear()
