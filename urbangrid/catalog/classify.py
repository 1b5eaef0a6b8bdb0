"""Class suggestion for a free-text report: a transparent keyword score, no black box.

For each active class of the code set:
- every keyword (and the class name) found in the text scores ``len(kw) ** 1.5 * specificity``,
  where specificity = 1 / (number of classes listing that keyword); a keyword contained in a
  longer matched keyword of the same class is not counted twice;
- the class name found verbatim earns a bonus;
- character bigrams shared by the text and the class's name/keywords add a small score weighted
  by how rare the bigram is (double for bigrams of the name; filler bigrams such as 危险/有人 ignored) (so "井盖丢失" still finds the manhole-cover classes although no
  keyword is literally "井盖丢失").
The matched keywords and bigrams are returned as the "why" of each suggestion.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from urbangrid.lib.memo import ExpiringCache

from .cache import active_classes
from .models import ProblemClass

# Bigrams that say nothing about the kind of problem ("很危险", "有人", "问题"): ignored for overlap.
STOP_BIGRAMS = {
    "危险",
    "问题",
    "有人",
    "这里",
    "那里",
    "没人",
    "一个",
    "很多",
    "严重",
    "附近",
    "门口",
    "我们",
    "你们",
    "他们",
    "已经",
    "现在",
    "一直",
    "非常",
    "不能",
    "没有",
    "请求",
    "处理",
    "反映",
}
NAME_BONUS = 4.0
BIGRAM_WEIGHT = 0.6


@dataclass
class Suggestion:
    problem_class: object
    score: float
    matched: list[str] = field(default_factory=list)


@dataclass
class _Entry:
    pk: int
    name: str
    keywords: list[str]
    bigrams: set[str]
    name_bigrams: set[str] = field(default_factory=set)


@dataclass
class _Model:
    entries: list[_Entry]
    kw_df: dict[str, int]
    bigram_idf: dict[str, float]


def invalidate_classifier(*args, **kwargs) -> None:
    _models.clear()


def _bigrams(s: str) -> set[str]:
    s = "".join(ch for ch in s if not ch.isspace() and ch not in ",，。.、;；:：!！?？()（）")
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _split_keywords(raw: str) -> list[str]:
    return [k.strip() for k in raw.replace("，", ",").replace("、", ",").split(",") if k.strip()]


def _build(code_set_id: int | None) -> _Model:
    qs = ProblemClass.objects.filter(is_active=True)
    qs = qs.filter(code_set_id=code_set_id) if code_set_id else qs.filter(code_set__is_default=True)
    entries = []
    kw_df: dict[str, int] = defaultdict(int)
    bigram_df: dict[str, int] = defaultdict(int)
    for pk, name, keywords in qs.values_list("pk", "name", "keywords"):
        kws = list(dict.fromkeys([name, *_split_keywords(keywords)]))
        grams = set().union(*(_bigrams(k) for k in kws)) - STOP_BIGRAMS
        entries.append(_Entry(pk, name, kws, grams, _bigrams(name) - STOP_BIGRAMS))
        for k in set(kws):
            kw_df[k] += 1
        for g in grams:
            bigram_df[g] += 1
    n = max(len(entries), 1)
    bigram_idf = {g: math.log(1 + n / df) for g, df in bigram_df.items()}
    return _Model(entries, dict(kw_df), bigram_idf)


# One model per code set (None: the default one).
_models = ExpiringCache(_build)


def score_text(text: str, code_set_id: int | None = None) -> list[tuple[int, float, list[str]]]:
    """(class id, score, matched) for every class with a positive score, best first."""
    text = (text or "").strip()
    if not text:
        return []
    model = _models.get(code_set_id)
    text_grams = _bigrams(text)
    results = []
    for e in model.entries:
        hits = [k for k in e.keywords if k in text]
        # Drop a hit contained in a longer hit (摆摊 inside 人行道摆摊): one phrase, one score.
        hits = [k for k in hits if not any(k != o and k in o for o in hits)]
        score = sum(len(k) ** 1.5 / model.kw_df.get(k, 1) for k in hits)
        if e.name in text:
            score += NAME_BONUS
        shared = e.bigrams & text_grams
        covered = "".join(hits)
        extra = sorted(g for g in shared if g not in covered)
        # A bigram of the class name itself counts double: it names the object.
        score += BIGRAM_WEIGHT * sum(model.bigram_idf[g] * (2 if g in e.name_bigrams else 1) for g in shared)
        if score > 0:
            results.append((e.pk, round(score, 3), hits + extra))
    results.sort(key=lambda r: (-r[1], r[0]))
    return results


def suggest_classes(text: str, limit: int = 3, code_set=None) -> list[Suggestion]:
    """The ``limit`` best classes for ``text`` in the default (or given) code set."""
    code_set_id = getattr(code_set, "pk", code_set)
    scored = score_text(text, code_set_id)[: max(limit, 0)]
    classes = active_classes().by_pk
    return [Suggestion(classes[pk], score, matched) for pk, score, matched in scored if pk in classes]
