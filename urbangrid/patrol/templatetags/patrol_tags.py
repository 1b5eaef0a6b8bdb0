from django import template

from urbangrid.lib.access import scope_for
from urbangrid.patrol.actions import PATROL_ROLES

register = template.Library()


@register.simple_tag(takes_context=True)
def can_patrol(context) -> bool:
    """Whether the signed-in user may walk a patrol (the mobile patrol page answers 404 otherwise)."""
    return scope_for(context["request"].user).has_role(*PATROL_ROLES)
