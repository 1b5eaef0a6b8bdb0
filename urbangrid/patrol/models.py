"""Patrol (宣传巡查, M1) and safety-hazard sweeps (安全隐患排查, C6).

Patrol tracks are stored as one row per uploaded batch with the points packed in a binary
column (see ``trackcodec``): a city of 300+ workers posting every 10 s produces ~1 M points a
day; one row per batch (~6–30 points) keeps the table 10–30× smaller than one row per point,
makes a retried upload idempotent through a unique (track, seq) constraint, and coverage reads
whole tracks anyway, never single points.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from urbangrid.lib.access import ScopeColumns, ScopedQuerySet

from .choices import (
    CampaignState,
    CheckInMethod,
    InspectionOutcome,
    PlaceType,
    Severity,
    TrackState,
)


class PatrolPlanQuerySet(ScopedQuerySet):
    def active_on(self, day):
        return self.filter(is_active=True, valid_from__lte=day).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )


class PatrolPlan(models.Model):
    """A patrol plan: which grids (listed, or every current grid of ``region``), how often
    (patrols per day, and time windows each needing patrols, e.g. back streets at night), by
    whom (a named patroller, or else each grid's supervisors) and for which dates."""

    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(
        "geo.Region", verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    grid_codes = models.JSONField(
        _("grids"), default=list, blank=True, help_text=_("empty = every grid of the area")
    )
    min_patrols_per_day = models.PositiveSmallIntegerField(_("patrols per grid per day"), default=2)
    # [{"start": "20:00", "end": "23:00", "min": 1, "label": "..."}], local time; end < start
    # crosses midnight and counts for the day the window starts.
    windows = models.JSONField(_("time windows"), default=list, blank=True)
    min_coverage = models.FloatField(
        _("minimum covered share"), default=0.0, help_text=_("0–1; 0 = no area target")
    )
    patroller = models.ForeignKey(
        "orgs.Person",
        verbose_name=_("patroller"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patrol_plans",
        help_text=_("empty = the supervisors assigned to each grid"),
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = PatrolPlanQuerySet.as_manager()
    # A grid worker sees the plans of the communities/streets that contain their grids.
    scope_columns = ScopeColumns(region=("region",), framing_region=("region",), people=("patroller",))

    class Meta:
        verbose_name = _("patrol plan")
        verbose_name_plural = _("patrol plans")
        ordering = ["-valid_from", "name"]
        indexes = [models.Index(fields=["is_active", "valid_from", "valid_to"])]

    def __str__(self) -> str:
        return self.name


class Checkpoint(models.Model):
    """A required check-in point of a plan: valid when a track point or an explicit check-in
    falls within ``radius_m`` during the optional window."""

    plan = models.ForeignKey(
        PatrolPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="checkpoints"
    )
    name = models.CharField(_("name"), max_length=100)
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    radius_m = models.FloatField(_("radius (m)"), default=30)
    window_start = models.TimeField(_("window start"), null=True, blank=True)
    window_end = models.TimeField(_("window end"), null=True, blank=True)
    grid_code = models.CharField(_("grid code"), max_length=15, blank=True, db_index=True)

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    """One patrol by one worker, from start to stop; points live in ``TrackBatch`` rows."""

    person = models.ForeignKey(
        "orgs.Person", verbose_name=_("patroller"), on_delete=models.PROTECT, related_name="tracks"
    )
    plan = models.ForeignKey(
        PatrolPlan,
        verbose_name=_("plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tracks",
    )
    client_id = models.CharField(_("client id"), max_length=64)
    state = models.CharField(_("state"), max_length=10, choices=TrackState.choices, default=TrackState.ACTIVE)
    input_crs = models.CharField(_("input CRS"), max_length=12, default="wgs84")
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    first_point_at = models.DateTimeField(null=True, blank=True)
    last_point_at = models.DateTimeField(_("last point at"), null=True, blank=True)
    point_count = models.PositiveIntegerField(_("points"), default=0)
    batch_count = models.PositiveIntegerField(_("batches"), default=0)
    # Where the patrol happened (first located point): for jurisdiction filtering.
    district = models.ForeignKey(
        "geo.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    street = models.ForeignKey(
        "geo.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    community = models.ForeignKey(
        "geo.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(
        district="district", street="street", community="community", people=("person",)
    )

    class Meta:
        verbose_name = _("patrol track")
        verbose_name_plural = _("patrol tracks")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["person", "client_id"], name="track_person_client_unique")
        ]
        indexes = [
            models.Index(fields=["person", "started_at"]),
            models.Index(fields=["street", "started_at"]),
            models.Index(fields=["state", "last_point_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.started_at:%Y-%m-%d %H:%M}"


class TrackBatch(models.Model):
    """One uploaded batch of points: (client seq) is unique per track, so a retried upload is a
    no-op and batches may arrive late or out of order. ``data`` is packed by ``trackcodec``."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="batches")
    seq = models.PositiveIntegerField()
    received_at = models.DateTimeField(default=timezone.now)
    n = models.PositiveIntegerField()
    t_first = models.DateTimeField()
    t_last = models.DateTimeField()
    data = models.BinaryField()

    class Meta:
        verbose_name = _("track batch")
        verbose_name_plural = _("track batches")
        constraints = [models.UniqueConstraint(fields=["track", "seq"], name="trackbatch_track_seq_unique")]
        indexes = [models.Index(fields=["t_last", "t_first"])]

    def __str__(self) -> str:
        return f"{self.track_id}#{self.seq}"


class CheckIn(models.Model):
    """A check-in at a plan's checkpoint, by a track point inside the radius or by an explicit
    check-in with position; invalid explicit attempts are kept (with the distance) for audit."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="checkins")
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.CASCADE, related_name="checkins")
    person = models.ForeignKey("orgs.Person", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("time"))
    lon = models.FloatField()
    lat = models.FloatField()
    distance_m = models.FloatField(_("distance (m)"))
    method = models.CharField(_("method"), max_length=10, choices=CheckInMethod.choices)
    valid = models.BooleanField(_("valid"))
    client_key = models.CharField(max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(
                fields=["track", "checkpoint"], condition=Q(method="track"), name="checkin_track_auto_once"
            ),
            models.UniqueConstraint(
                fields=["track", "client_key"], condition=~Q(client_key=""), name="checkin_client_key_once"
            ),
        ]
        indexes = [models.Index(fields=["checkpoint", "at"])]

    def __str__(self) -> str:
        return f"{self.checkpoint} {self.at:%H:%M}"


# ---------------------------------------------------------------- hazard sweeps (C6)


class ChecklistItem(models.Model):
    """One item of the sweep checklist of a place type (e.g. 消防通道是否畅通)."""

    place_type = models.CharField(_("place type"), max_length=16, choices=PlaceType.choices)
    code = models.CharField(_("code"), max_length=16, unique=True)
    text = models.CharField(_("item"), max_length=200)
    basis = models.CharField(_("basis"), max_length=120, blank=True)
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.GENERAL
    )
    class_code = models.CharField(
        _("problem class code"), max_length=8, blank=True, help_text=_("class of the case a failure opens")
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["place_type", "order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class SweepCampaign(models.Model):
    """A safety-hazard sweep (安全隐患排查) over an area, for some place types, for dates."""

    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("empty = the whole city"),
    )
    place_types = models.JSONField(_("place types"), default=list)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    state = models.CharField(
        _("state"), max_length=8, choices=CampaignState.choices, default=CampaignState.ACTIVE
    )
    class_code = models.CharField(
        _("default hazard class code"),
        max_length=8,
        blank=True,
        help_text=_("used when an item names no class"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    # City-wide campaigns involve everyone; area campaigns their area and its ancestors' staff.
    scope_columns = ScopeColumns(
        public=Q(region__isnull=True), region=("region",), framing_region=("region",)
    )

    class Meta:
        verbose_name = _("sweep campaign")
        verbose_name_plural = _("sweep campaigns")
        ordering = ["-start_date", "name"]

    def __str__(self) -> str:
        return self.name


class Place(models.Model):
    """A place subject to hazard sweeps (school, station, mall, forest edge...), located in a grid."""

    name = models.CharField(_("name"), max_length=120)
    place_type = models.CharField(_("place type"), max_length=16, choices=PlaceType.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    input_crs = models.CharField(_("input CRS"), max_length=12, default="wgs84")
    grid = models.ForeignKey("geo.UnitGrid", verbose_name=_("unit grid"), null=True, on_delete=models.PROTECT)
    grid_code = models.CharField(_("grid code"), max_length=15, db_index=True)
    community = models.ForeignKey("geo.Region", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("geo.Region", on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("geo.Region", on_delete=models.PROTECT, related_name="+")
    owner_name = models.CharField(_("owner / operator"), max_length=120)
    owner_contact = models.CharField(_("contact"), max_length=60, blank=True)
    owner_phone = models.CharField(_("phone"), max_length=20, blank=True)
    # A credit subject (credit app) can be linked later without a schema dependency.
    credit_subject_id = models.PositiveBigIntegerField(_("credit subject"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(
        district="district", street="street", community="community", grid_code="grid_code"
    )

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["street", "place_type", "name"]
        indexes = [
            models.Index(fields=["place_type", "street"]),
            models.Index(fields=["street", "is_active"]),
        ]

    def __str__(self) -> str:
        return self.name


class Inspection(models.Model):
    """One visit of an inspector to a place within a campaign, with a result per checklist item."""

    campaign = models.ForeignKey(
        SweepCampaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="inspections"
    )
    place = models.ForeignKey(
        Place, verbose_name=_("place"), on_delete=models.PROTECT, related_name="inspections"
    )
    inspector = models.ForeignKey(
        "orgs.Person", verbose_name=_("inspector"), on_delete=models.PROTECT, related_name="+"
    )
    inspected_at = models.DateTimeField(_("inspected at"))
    outcome = models.CharField(_("outcome"), max_length=8, choices=InspectionOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    client_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedQuerySet.as_manager()
    scope_columns = ScopeColumns(via="place")

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["inspector", "client_key"],
                condition=~Q(client_key=""),
                name="inspection_client_key_once",
            )
        ]
        indexes = [models.Index(fields=["campaign", "place"])]

    def __str__(self) -> str:
        return f"{self.place} {self.inspected_at:%Y-%m-%d}"


class InspectionResult(models.Model):
    """Pass/fail of one checklist item in one inspection; a failure links the case it opened."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(
        ChecklistItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    passed = models.BooleanField(_("passed"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    # A re-inspection of a hazard still open links the same case: a hazard opens one case.
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inspection_results",
    )
    rectify_due_at = models.DateTimeField(_("rectification deadline"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection result")
        verbose_name_plural = _("inspection results")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="inspectionresult_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.item.code} {'✓' if self.passed else '✗'}"


class InspectionPhoto(models.Model):
    """A photo taken during an inspection, optionally of one failed item."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    result = models.ForeignKey(
        InspectionResult, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(_("photo"), upload_to="patrol/inspections/%Y/%m/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")

    def __str__(self) -> str:
        return self.image.name
