"""Absolute links for emails, built the same way in a request or in a worker."""

from __future__ import annotations

from typing import Any

from flask import current_app


def external_url(endpoint: str, **values: Any) -> str:
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path
