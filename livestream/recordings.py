"""The edge's recordings become the replay: nginx-rtmp writes each push as an FLV file
and calls the app when one is done; the app joins a stream's pieces (a presenter who
reconnected made several) into one MP4 in the media folder with Debian's ffmpeg,
copying the streams (no re-encoding), and points the session's replay at it.

The edge and the app must see the same recordings folder (one host, or a shared
volume; docs/LIVE_EDGE.md).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlmodel import Session

from core.db import transaction
from core.events import publish_after_commit
from livestream.edge import RECORDINGS_URL_PREFIX, parse_stream_name, stream_addresses
from livestream.edge_models import StreamRole
from livestream.live_prices import channel
from livestream.models import LiveSession

logger = logging.getLogger(__name__)

# nginx-rtmp's `record_unique on` names a piece <stream>-<unix seconds>.flv.
PIECE = re.compile(r"(?P<name>live-[0-9]{1,12}(?:-signer)?)-(?P<stamp>[0-9]{9,11})\.flv")
REMUX_TIMEOUT_SECONDS = 3600


def recordings_dir(media_dir: str) -> Path:
    """Where the replay's MP4 files are kept (served at /media/recordings/)."""
    return Path(media_dir) / "recordings"


def pieces(folder: Path, name: str) -> list[tuple[datetime, Path]]:
    """A stream's recorded pieces in `folder`, oldest first."""
    found = []
    for path in folder.glob(f"{name}-*.flv"):
        match = PIECE.fullmatch(path.name)
        if match and match["name"] == name and path.stat().st_size > 0:
            found.append((datetime.fromtimestamp(int(match["stamp"]), UTC), path))
    return sorted(found)


def remux(sources: list[Path], target: Path) -> None:
    """Join `sources` into one MP4 at `target` (streams copied, index at the front so the
    replay starts before it has all downloaded). The file appears whole or not at all."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("ffmpeg is not installed (Debian package ffmpeg)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        listing = Path(work) / "pieces.txt"
        # The concat list quotes each path; a quote inside one is written '\''.
        listing.write_text("".join("file '{}'\n".format(p.as_posix().replace("'", "'\\''"))
                                   for p in sources))
        partial = Path(work) / target.name
        # Fixed arguments; the paths are the edge's pieces (names checked) and our own.
        subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y",  # noqa: S603
                        "-f", "concat",
                        "-safe", "0", "-i", str(listing), "-c", "copy",
                        "-movflags", "+faststart", str(partial)],
                       check=True, timeout=REMUX_TIMEOUT_SECONDS, capture_output=True)
        os.replace(partial, target)


def make_replay(*, app: Flask, recorded_path: str) -> bool:
    """Remux the stream `recorded_path` belongs to and set the session's replay video.
    False when the file is not one of the edge's pieces."""
    path = Path(recorded_path)
    match = PIECE.fullmatch(path.name)
    parsed = parse_stream_name(match["name"]) if match else None
    if parsed is None:
        logger.warning("recordings: %s is not a recorded stream piece", path.name)
        return False
    live_id, role = parsed
    found = pieces(path.parent, match["name"])
    if not found:
        return False
    target = recordings_dir(app.config["MEDIA_DIR"]) / f"{match['name']}.mp4"
    try:
        remux([p for _at, p in found], target)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        logger.error("recordings: cannot make %s: %s %s", target.name, exc,
                     detail.decode(errors="replace")[-500:])
        return False
    with app.app_context(), transaction(app.extensions["database"].engine) as session:
        _point_replay(session, live_id, role, RECORDINGS_URL_PREFIX + target.name, found[0][0])
    logger.info("recordings: %s ready from %d piece(s)", target.name, len(found))
    return True


def _point_replay(session: Session, live_id: int, role: StreamRole, url: str,
                  started: datetime) -> None:
    live = session.get(LiveSession, live_id, with_for_update=True)
    if live is None:
        return
    if role == StreamRole.PRESENTER:
        # An address an operator typed for the recording stays theirs.
        if live.recording_url and not live.recording_url.startswith(RECORDINGS_URL_PREFIX):
            return
        live.recording_url = url
        live.recording_started_at = started
    else:
        live.interpreter_recording_url = url
        live.interpreter_recording_started_at = started
    session.add(live)
    session.flush()
    publish_after_commit(session, channel(live.id), "streams",
                         stream_addresses(session=session, live=live))


def make_replay_in_background(app: Flask, recorded_path: str) -> threading.Thread:
    """Start `make_replay` on a thread of its own (the edge's callback must not wait for
    ffmpeg); the thread is returned so tests can wait for it."""
    thread = threading.Thread(target=make_replay, kwargs={"app": app,
                                                          "recorded_path": recorded_path},
                              name="replay-remux", daemon=True)
    thread.start()
    return thread
