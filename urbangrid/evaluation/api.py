"""JSON API of the evaluation app, mounted under /api/v1/evaluation/."""

from ninja import Router

router = Router(tags=["evaluation"])
