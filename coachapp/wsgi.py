"""Entry points for an installed coachapp (no checkout needed):

    flask --app coachapp.wsgi db upgrade
    gunicorn -c python:coachapp.gunicorn_conf coachapp.wsgi:app
    celery -A coachapp.wsgi.celery_app worker
    celery -A coachapp.wsgi.celery_app beat

The one module that builds the app when imported: that is its whole job, like the
checkout's top-level ``wsgi.py``. Nothing inside the package imports it.
"""

from coachapp import create_app

app = create_app()
celery_app = app.extensions["celery"]
