"""Count views of the assessment's intro page: the first step of the owner's Insights funnel.

After the page is rendered, one upsert in its own commit. The page never fails because of the
counter: any error is logged and rolled back, and the visitor gets the page all the same.
"""

from __future__ import annotations

import logging

from flask import request
from werkzeug.wrappers import Response

from coachapp.extensions import db
from coachapp.models import utcnow
from coachapp.models.visit import ASSESSMENT_INTRO
from coachapp.public import bp
from coachapp.public.tracking import first_touch
from coachapp.visits import count_visit, visit_source

logger = logging.getLogger(__name__)

#: "/" shows the intro too.
INTRO_ENDPOINTS = ("public.intro", "public.home")


@bp.after_request
def count_intro_visit(response: Response) -> Response:
    if request.method != "GET" or request.endpoint not in INTRO_ENDPOINTS or response.status_code != 200:
        return response
    try:
        count_visit(ASSESSMENT_INTRO, visit_source(first_touch()), utcnow())
        db.session.commit()
    except Exception:  # a lost count is better than a failed page
        logger.warning("Could not count a visit to %s", request.endpoint, exc_info=True)
        try:
            db.session.rollback()
        except Exception:
            logger.warning("Rollback after a failed visit count failed too", exc_info=True)
    return response
