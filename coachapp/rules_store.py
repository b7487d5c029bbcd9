"""Load the rules folder once per app (validated) and hand it out."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

from coachapp.assessment import Rules, load_rules


def init_app(app: Flask) -> None:
    app.extensions["coachapp.rules"] = load_rules(Path(app.config["RULES_DIR"]))


def get_rules() -> Rules:
    return current_app.extensions["coachapp.rules"]
