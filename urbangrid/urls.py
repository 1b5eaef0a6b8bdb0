from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from urbangrid.api import api
from urbangrid.cases.views import media
from urbangrid.console.auth import LockoutAdminAuthenticationForm

admin.site.site_header = "网格化综合监管平台 · 管理后台"
admin.site.site_title = "urbangrid"
admin.site.index_title = "基础数据管理"
admin.site.login_form = LockoutAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("open311/v2/", include("urbangrid.portal.open311_urls")),
    path("public/", include("urbangrid.portal.urls")),
    path("geo/", include("urbangrid.geo.urls")),
    path("catalog/", include("urbangrid.catalog.urls")),
    path("orgs/", include("urbangrid.orgs.urls")),
    path("cases/", include("urbangrid.cases.urls")),
    path("patrol/", include("urbangrid.patrol.urls")),
    path("joint/", include("urbangrid.joint.urls")),
    path("credit/", include("urbangrid.credit.urls")),
    path("evaluation/", include("urbangrid.evaluation.urls")),
    path("", include("urbangrid.console.urls")),
]
if settings.MEDIA_URL.startswith("/"):  # else the photos are on a storage service with its own URLs
    # Photos are served under the data's rules, also with DEBUG off (no static() helper).
    urlpatterns.insert(0, path(settings.MEDIA_URL.lstrip("/") + "<path:name>", media, name="media"))
