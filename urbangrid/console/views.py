"""Pages of the operator console."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from urbangrid.orgs.jurisdiction import scope_for


@login_required
def home(request):
    return render(request, "console/home.html", {"scope": scope_for(request.user)})
