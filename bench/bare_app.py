"""The yardstick: a bare Flask route served by the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    """As little as Flask can do."""
    return "ok"
