"""Register an API client from the command line (the admin does the same with its "issue a new
key" action). The key and the webhook signing secret are printed once and never stored in clear.

    manage.py portal_client --name "12345 热线" --channel hotline --scope open311:post --acting-user hotline
    manage.py portal_client --name "视频平台" --channel machine --scope webhook \
        --source cam --source-crs gcj02 --event PARKING=09009 --event STALL=09006
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.timezone import localtime

from urbangrid.lib.errors import DomainError
from urbangrid.portal.actions import do_create_client
from urbangrid.portal.models import MachineEventType, MachineSource


class Command(BaseCommand):
    help = "Create an API client (Open311 app, hotline or messaging system, sensor platform) and print its key once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--channel",
            default="open311",
            choices=["open311", "messaging", "hotline", "machine", "citizen_web"],
        )
        parser.add_argument(
            "--scope", action="append", dest="scopes", help="repeatable: open311:post, open311:read, webhook"
        )
        parser.add_argument(
            "--expires-days", type=int, help="days the key stays valid (default URBANGRID_API_TOKEN_DAYS)"
        )
        parser.add_argument("--per-minute", type=int, default=60)
        parser.add_argument("--per-day", type=int, default=5000)
        parser.add_argument("--acting-user", help="service account username (needed for the hotline channel)")
        parser.add_argument("--admin", help="username of the administrator recorded in the audit trail")
        parser.add_argument(
            "--source", help="also register a machine source with this code (webhook URL slug)"
        )
        parser.add_argument("--source-crs", default="wgs84")
        parser.add_argument("--event", action="append", default=[], help="EVENT_TYPE=CLASS_CODE, repeatable")

    def handle(self, *args, **opts):

        users = get_user_model().objects
        admin = (
            users.filter(username=opts["admin"]).first()
            if opts["admin"]
            else users.filter(is_superuser=True).first()
        )
        if admin is None:
            raise CommandError("No administrator account: create a superuser or pass --admin.")
        acting = None
        if opts["acting_user"]:
            acting = users.filter(username=opts["acting_user"]).first()
            if acting is None:
                raise CommandError(f"No user {opts['acting_user']!r}.")
        scopes = opts["scopes"] or (
            ["webhook"] if opts["channel"] == "machine" else ["open311:post", "open311:read"]
        )
        try:
            with transaction.atomic():
                client, key = do_create_client(
                    admin,
                    name=opts["name"],
                    channel=opts["channel"],
                    scopes=scopes,
                    rate_per_minute=opts["per_minute"],
                    rate_per_day=opts["per_day"],
                    acting_user=acting,
                    key_days=opts["expires_days"],
                )
                if opts["source"]:
                    source = MachineSource.objects.create(
                        code=opts["source"], name=opts["name"], client=client, crs=opts["source_crs"]
                    )
                    for item in opts["event"]:
                        event_type, _, code = item.partition("=")
                        if not code:
                            raise CommandError(f"--event {item!r}: use EVENT_TYPE=CLASS_CODE")
                        MachineEventType.objects.create(source=source, event_type=event_type, class_code=code)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"client:          {client.name} ({client.key_id}), channel {client.channel}, scopes {', '.join(scopes)}"
        )
        self.stdout.write(f"api key:         {key}")
        self.stdout.write(f"signing secret:  {client.signing_secret}")
        self.stdout.write(f"expires:         {localtime(client.key_expires_at):%Y-%m-%d %H:%M %Z}")
        if opts["source"]:
            self.stdout.write(f"webhook URL:     /public/webhooks/{opts['source']}/")
        self.stdout.write(self.style.WARNING("The key is shown only now; it is stored as a hash."))
