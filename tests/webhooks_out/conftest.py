"""A real HTTP receiver on loopback (``receiver``), for the webhook tests."""

from tests.helpers_webhooks_out import receiver  # noqa: F401 (a fixture)
