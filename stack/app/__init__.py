"""The monitored Flask API: /status, /helloworld, /ready, /items and /metrics on Postgres and Redis.

Built by :func:`alertdrill.stack.app.app.create_app`; served by gunicorn through
``alertdrill.stack.app.wsgi:app`` with ``stack/app/gunicorn_conf.py``.
"""
