"""Blueprint ``dashboard``: coaches work their leads; the owner sees everything.

Every view needs a signed-in coach, and the owner-only ones (``access.OWNER_ONLY``) the owner:
both checked once, here. Which leads a coach may
see is decided in ``access.py`` and applied on every lead URL, not only in lists.
"""

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

@bp.before_request
def require_coach():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    from coachapp.dashboard.access import OWNER_ONLY, require_owner

    if (request.endpoint or "").startswith(OWNER_ONLY):
        require_owner(current_user)
    return None


from coachapp.dashboard import (  # noqa: E402,F401
    coaches,
    embed_settings,
    imports,
    insights,
    leads_list,
    merge_views,
    outbox_views,
    outcomes_views,
    rules_editor,
    rules_preview,  # issue 15.3: see before you publish (wtF)
    rules_preview_changes,
    rules_replay_views,
    rules_views,
    rules_whatif_views,
    templating,
    views,
    webhooks_views,
    weights_views,
)
