from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionKind(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    STREET = "street", _("Street office")
    TOWN = "town", _("Town")
    COMMUNITY = "community", _("Community")
    VILLAGE = "village", _("Village")


# Level in the hierarchy city(1) > district(2) > street/town(3) > community/village(4).
REGION_LEVEL = {
    RegionKind.CITY: 1,
    RegionKind.DISTRICT: 2,
    RegionKind.STREET: 3,
    RegionKind.TOWN: 3,
    RegionKind.COMMUNITY: 4,
    RegionKind.VILLAGE: 4,
}


class SourceCRS(models.TextChoices):
    """Coordinate systems a client may declare; geometry is stored in CGCS2000 lon/lat."""

    WGS84 = "wgs84", _("WGS-84 (GPS)")
    CGCS2000 = "cgcs2000", _("CGCS2000 (EPSG:4490)")
    GCJ02 = "gcj02", _("GCJ-02 (AMap, Tencent)")
    BD09 = "bd09", _("BD-09 (Baidu)")
    CGCS2000_GK = "cgcs2000_gk", _("CGCS2000 3-degree Gauss-Krüger zone")
