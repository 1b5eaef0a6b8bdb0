"""JSON API of the joint app, mounted under /api/v1/joint/."""

from ninja import Router

router = Router(tags=["joint"])
