"""The live edge's nginx configuration, rendered from deploy/edge/nginx.conf.j2 with this
app's secret and addresses (`flask --app app edge-config`, used by `make edge`, the
compose service and the tests)."""

from __future__ import annotations

import os
import pwd
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jinja2

from core.config import PROJECT_ROOT
from core.events.nchan import edge_secret

TEMPLATE = PROJECT_ROOT / "deploy" / "edge" / "nginx.conf.j2"
DEBIAN_MODULES = "/usr/lib/nginx/modules"
RUN_FOLDERS = ("hls", "recordings", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi",
               "tmp/scgi")


@dataclass
class EdgeSettings:
    """Everything the template needs; the defaults suit one box (`make edge`)."""

    run_dir: str
    app_address: str = "127.0.0.1:5000"
    http_listen: str = "127.0.0.1:8080"
    rtmp_listen: str = "127.0.0.1:1935"
    rtmp_port: int = 1935
    secret: str = ""
    modules_dir: str = DEBIAN_MODULES
    workers: str = "auto"
    worker_connections: int = 20_000
    open_files: int = 45_000
    log_level: str = "warn"
    access_log: str = "off"
    hls_fragment: str = "2s"
    hls_playlist_length: str = "12s"
    history: int = 500
    message_timeout: str = "4h"
    heartbeat_seconds: int = 15
    nchan_memory: str = "128M"
    redis_url: str | None = None
    publish_allow: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    user: str | None = None

    @property
    def callback_url(self) -> str:
        """Where nginx-rtmp sends its callbacks: this edge's own HTTP side, on loopback."""
        port = self.http_listen.rsplit(":", 1)[1]
        return f"http://127.0.0.1:{port}/_edge/rtmp"


def settings_for(app_config, *, run_dir: Path, app_address: str, http_port: int,
                 rtmp_port: int, listen_host: str = "127.0.0.1",
                 redis_url: str | None = None, **extra) -> EdgeSettings:
    """Settings for this app: its secret, its events history, where it listens."""
    run_dir = run_dir.resolve()
    owner = None
    if os.geteuid() == 0:
        # As root nginx would run its workers as nobody, who cannot write the folders
        # (nor would the app read what they write): run them as the folder's owner.
        owner = pwd.getpwuid(run_dir.stat().st_uid if run_dir.exists() else 0).pw_name
    return EdgeSettings(
        run_dir=str(run_dir), app_address=app_address,
        http_listen=f"{listen_host}:{http_port}", rtmp_listen=f"{listen_host}:{rtmp_port}",
        rtmp_port=rtmp_port, secret=edge_secret(app_config),
        history=int(app_config["EVENTS_HISTORY"]),
        heartbeat_seconds=int(app_config["EVENTS_HEARTBEAT_SECONDS"]),
        redis_url=redis_url, user=owner, **extra)


def render(settings: EdgeSettings) -> str:
    """The nginx.conf text."""
    # An nginx config, not HTML: escaping would break it. Every value is ours.
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined,
                                     autoescape=False,  # noqa: S701
                                     keep_trailing_newline=True)
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(**asdict(settings), callback_url=settings.callback_url)


def write(settings: EdgeSettings) -> Path:
    """Make the run folder and its subfolders, and write nginx.conf into it."""
    run_dir = Path(settings.run_dir)
    for folder in RUN_FOLDERS:
        (run_dir / folder).mkdir(parents=True, exist_ok=True)
    target = run_dir / "nginx.conf"
    target.write_text(render(settings), encoding="utf-8")
    # The file holds the edge secret.
    target.chmod(0o600)
    return target
