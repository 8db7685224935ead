"""/.well-known/security.txt (RFC 9116): served from SECURITY_CONTACT, or not at all."""

from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from core.config import ConfigError, load_config


def _app(app_config, **settings):
    return create_app({**app_config, **settings})


def test_without_a_contact_there_is_no_file(client):
    assert client.get("/.well-known/security.txt").status_code == 404


def test_the_file_names_the_contact_and_expires_within_a_year(app_config):
    client = _app(app_config, SECURITY_CONTACT="mailto:security@shop.example",
                  BASE_URL="https://shop.example").test_client()
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    fields = dict(line.split(": ", 1) for line in response.get_data(as_text=True).splitlines())
    assert fields["Contact"] == "mailto:security@shop.example"
    assert fields["Canonical"] == "https://shop.example/.well-known/security.txt"
    assert fields["Preferred-Languages"] == "zh, en"
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert datetime.now(UTC) + timedelta(days=360) < expires <= datetime.now(UTC) + \
        timedelta(days=366)


@pytest.mark.parametrize("raw, expected", [
    ("security@shop.example", "mailto:security@shop.example"),
    ("  mailto:a@b.example ", "mailto:a@b.example"),
    ("https://shop.example/report", "https://shop.example/report"),
    ("", None),
])
def test_contacts_people_type_are_accepted(tmp_path, raw, expected):
    config = load_config({"INSTANCE_DIR": str(tmp_path), "SECURITY_CONTACT": raw})
    assert config["SECURITY_CONTACT"] == expected


@pytest.mark.parametrize("raw", ["http://shop.example/report", "call us", "javascript:alert(1)",
                                 "mailto:a@b.example\nContact: https://evil.example",
                                 "https://" + "x" * 400])
def test_a_contact_that_is_not_an_address_stops_the_app(tmp_path, raw):
    # A new line would let the setting add lines of its own to the file.
    with pytest.raises(ConfigError, match="SECURITY_CONTACT"):
        load_config({"INSTANCE_DIR": str(tmp_path), "SECURITY_CONTACT": raw})
