"""Models of the console app: sign-in attempts behind the login lockout."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginAttempt(models.Model):
    """One sign-in attempt (user name as typed, client IP, outcome). Failures in a sliding window
    lock the (user name, IP) pair for a while; successes reset the count."""

    username = models.CharField(_("user name"), max_length=150)
    ip = models.CharField(_("IP address"), max_length=45)
    at = models.DateTimeField(_("time"))
    success = models.BooleanField(_("succeeded"), default=False)

    class Meta:
        verbose_name = _("sign-in attempt")
        verbose_name_plural = _("sign-in attempts")
        ordering = ["-at"]
        indexes = [models.Index(fields=["username", "ip", "at"])]

    def __str__(self) -> str:
        return f"{self.username}@{self.ip} {self.at:%Y-%m-%d %H:%M} {'ok' if self.success else 'failed'}"
