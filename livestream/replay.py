"""A session after its end: chapters from the pins, the captions as a WebVTT track, and
the questions answered during the stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from catalog.models import Product
from livestream.models import LiveSession
from livestream.room_models import LiveCaption, LiveMessage, LivePin

CUE_SECONDS = 6  # how long a caption stays up when the next one is late


@dataclass(frozen=True)
class Chapter:
    """One product as it was shown: from when (seconds into the stream) and how long."""

    product: Product
    start_seconds: int
    seconds: int


def _offset(live: LiveSession, at: datetime) -> float:
    # The edge's recording starts when the picture first reached it, which may be
    # before the session went live: chapters and captions count from there.
    start = live.recording_started_at or live.started_at
    return max(0.0, (at - start).total_seconds()) if start else 0.0


def chapters(*, session: Session, live: LiveSession) -> list[Chapter]:
    """The pins in order, each a chapter of the replay."""
    rows = session.exec(select(LivePin, Product).join(Product, Product.id == LivePin.product_id)
                        .where(LivePin.session_id == live.id)
                        .order_by(LivePin.pinned_at, LivePin.id)).all()
    end = live.ended_at or (rows[-1][0].unpinned_at if rows else None)
    result = []
    for pin, product in rows:
        until = pin.unpinned_at or end or pin.pinned_at
        result.append(Chapter(product, int(_offset(live, pin.pinned_at)),
                              max(0, int((until - pin.pinned_at).total_seconds()))))
    return result


def answered_questions(*, session: Session, live: LiveSession) -> list[LiveMessage]:
    """The questions answered during the stream (not hidden), in the order asked."""
    return list(session.exec(select(LiveMessage).where(
        LiveMessage.session_id == live.id, LiveMessage.hidden_at.is_(None),
        LiveMessage.is_question.is_(True), LiveMessage.answered_at.is_not(None))
        .order_by(LiveMessage.id)).all())


def _stamp(seconds: float) -> str:
    whole = timedelta(seconds=round(seconds, 3))
    total = whole.total_seconds()
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"


def _cue_text(text: str) -> str:
    # Cue text may hold tags; an ampersand or angle bracket a captioner typed is text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def captions_vtt(*, session: Session, live: LiveSession) -> str:
    """The session's live captions as a WebVTT file, timed from the stream's start."""
    captions = session.exec(select(LiveCaption).where(LiveCaption.session_id == live.id)
                            .order_by(LiveCaption.created_at, LiveCaption.id)).all()
    lines = ["WEBVTT", ""]
    for index, caption in enumerate(captions):
        start = _offset(live, caption.created_at)
        end = start + CUE_SECONDS
        if index + 1 < len(captions):
            end = min(end, max(start + 0.5, _offset(live, captions[index + 1].created_at)))
        lines += [str(index + 1), f"{_stamp(start)} --> {_stamp(end)}",
                  _cue_text(caption.text), ""]
    return "\n".join(lines) + "\n"
