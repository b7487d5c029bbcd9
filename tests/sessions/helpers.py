"""A strategy request through the form, then the slot picker, as a runner would."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from coachapp.extensions import db
from coachapp.models import OutboxMessage, StrategyRequest
from tests.helpers_strategy import STRATEGY_FORM

#: Every day, all day: the tests find free slots whatever the clock says.
ALWAYS = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SLOT_RE = re.compile(r'name="start" value="([^"]+)"')


def request_session(web, **form: Any) -> tuple[str, str]:
    """Submit the form; (the request token, the thanks page's HTML)."""
    web.get("/strategy-session")
    response = web.post("/strategy-session", {**STRATEGY_FORM, **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = web.get(response.headers["Location"])
    token = db.session.execute(select(StrategyRequest.token).order_by(StrategyRequest.id.desc())).scalars().first()
    return token, page.get_data(as_text=True)


def slots_in(html: str) -> list[str]:
    return SLOT_RE.findall(html)


def emails(kind: str) -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                   .order_by(OutboxMessage.id)).scalars())
