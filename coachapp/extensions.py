"""Unbound extension instances; ``create_app`` binds them."""

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter as _Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from werkzeug.exceptions import ServiceUnavailable

from coachapp.models.base import Base

#: What a refused sign-in tells the browser to wait while the limiter's storage is unreachable.
RETRY_AFTER_SECONDS = 60


class Limiter(_Limiter):
    """Flask-Limiter that fails open or closed, by endpoint, when its storage is unreachable.

    Every storage call has a short socket timeout (``RATELIMIT_STORAGE_OPTIONS``). When Redis is
    down or hung, the public forms and the API go on, counted in this process's memory
    (``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``; a person is never refused because Redis is down);
    the endpoints in ``RATELIMIT_FAIL_CLOSED_ENDPOINTS`` (sign-in) answer 503 instead, so an
    outage never hands a password guesser fresh per-process counters.
    """

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        app.before_request(self._fail_closed)

    def _fail_closed(self) -> Response | None:
        if request.method != "POST" or not self.enabled or not current_app.config.get("RATELIMIT_ENABLED", True):
            return None
        if request.endpoint not in current_app.config.get("RATELIMIT_FAIL_CLOSED_ENDPOINTS", ()):
            return None
        storage = self._storage
        if storage is None or storage.check():  # one PING, bounded by the storage's socket timeout
            return None
        current_app.logger.warning("Rate-limit storage unreachable: refusing %s", request.endpoint)
        error = ServiceUnavailable("Signing in is briefly unavailable. Please try again in a minute.")
        response = current_app.make_response(current_app.handle_http_exception(error))  # the app's error page
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
login_manager = LoginManager()
