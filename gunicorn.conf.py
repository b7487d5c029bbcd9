"""gunicorn reads this file from the current directory; the settings (and why) live in the
package, so an installed coachapp uses the same ones: ``gunicorn -c python:coachapp.gunicorn_conf``."""

from coachapp.gunicorn_conf import *  # noqa: F403
