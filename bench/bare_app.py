"""The bare baseline for ``bench/run.py``: the least a Flask app can do for the same requests.

Served by the same gunicorn settings (``coachapp/gunicorn_conf.py``) against the same database
(``BENCH_BARE_DATABASE_URL``), so the ratio coachapp / bare says how much of the stack's limit
coachapp uses, on this machine, in this run:

- ``POST /submit``: validate a JSON body (an ``answers`` object and a contact email) or a form
  (an email field), then one INSERT;
- ``GET /row/<id>``: one primary-key SELECT of a lead, as JSON;
- ``GET /export.csv``: the leads streamed as CSV from a server-side cursor, 1,000 rows a batch.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re

from flask import Flask, Response, abort, jsonify, request
from sqlalchemy import create_engine, text

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
engine = create_engine(os.environ["BENCH_BARE_DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)

TABLE = """CREATE TABLE IF NOT EXISTS bench_bare_submissions (
    id {pk}, email VARCHAR(254) NOT NULL, body TEXT NOT NULL, created_at TIMESTAMP NOT NULL)"""


def create_table() -> None:
    pk = "INTEGER PRIMARY KEY AUTOINCREMENT" if engine.dialect.name == "sqlite" else "BIGSERIAL PRIMARY KEY"
    with engine.begin() as conn:
        conn.execute(text(TABLE.format(pk=pk)))


@app.post("/submit")
def submit() -> tuple[Response, int]:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("answers"), dict):
            return jsonify(error="answers"), 422
        email = (body.get("contact") or {}).get("email", "")
        raw = json.dumps(body)
    else:
        email = request.form.get("email", "")
        raw = json.dumps(request.form.to_dict(flat=False))
    if not isinstance(email, str) or not EMAIL.match(email):
        return jsonify(error="email"), 422
    with engine.begin() as conn:
        new_id = conn.execute(text("INSERT INTO bench_bare_submissions (email, body, created_at) "
                                   "VALUES (:email, :body, CURRENT_TIMESTAMP) RETURNING id"),
                              {"email": email.lower(), "body": raw}).scalar_one()
    return jsonify(id=new_id), 201


@app.get("/row/<int:row_id>")
def row(row_id: int) -> Response:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id, email, first_name, stage, tier, created_at FROM leads WHERE id = :id"),
                             {"id": row_id}).mappings().first()
    if found is None:
        abort(404)
    return jsonify({k: str(v) for k, v in found.items()})


@app.get("/export.csv")
def export() -> Response:
    def rows():
        with engine.connect().execution_options(stream_results=True, yield_per=1000) as conn:
            result = conn.execute(text("SELECT id, email, first_name, last_name, phone, stage, tier, source, "
                                       "created_at FROM leads ORDER BY created_at DESC, id DESC"))
            for batch in result.partitions():
                out = io.StringIO()
                csv.writer(out).writerows(batch)
                yield out.getvalue()

    return Response(rows(), mimetype="text/csv")


@app.get("/healthz")
def healthz() -> str:
    return "ok"
