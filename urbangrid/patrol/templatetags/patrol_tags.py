from django import template

from urbangrid.lib.access import scope_for
from urbangrid.patrol import policy

register = template.Library()


@register.simple_tag(takes_context=True)
def can_patrol(context) -> bool:
    """Whether the signed-in user may walk a patrol (the mobile patrol page answers 404 otherwise)."""
    return policy.can_patrol(scope_for(context["request"].user))
