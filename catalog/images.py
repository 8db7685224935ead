"""Product photos with Pillow: check an upload, clean it, and write its renditions.

An upload is read into memory (at most 10 MB), opened with Pillow restricted to JPEG,
PNG and WebP, verified, and refused if it is truncated, animated, or would decode to
more pixels than MAX_PIXELS (a decompression bomb; the header is checked before any
pixel is decoded). The EXIF orientation is applied, then every rendition is made from
the bare pixels, so no metadata (GPS above all) survives. Renditions are written to
temporary files and renamed into place only when all of them are made; a refusal or
a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000          # e.g. 8000 x 5000; a phone photo is about 12 MP
MIN_SIDE = 100
WIDTHS = (320, 640, 1280)
FORMATS = {"JPEG": {".jpg", ".jpeg"}, "PNG": {".png"}, "WEBP": {".webp"}}
CACHE_SECONDS = 365 * 24 * 3600


class ImageRefused(ValueError):
    """The upload is not a photo we accept; the message says why, for the form."""


@dataclass(frozen=True)
class ProcessedImage:
    content_hash: str
    width: int
    height: int
    widths: tuple[int, ...]
    files: dict[str, bytes]  # file name -> bytes


def image_dir(media_dir: str | Path) -> Path:
    """Where product photo renditions live."""
    return Path(media_dir) / "products"


def rendition_name(content_hash: str, width: int, extension: str) -> str:
    """`<hash>-<width>.<webp|jpg>`: a name that changes whenever the content does."""
    return f"{content_hash}-{width}.{extension}"


def _refuse(message) -> ImageRefused:
    return ImageRefused(message)


def process_upload(data: bytes, filename: str) -> ProcessedImage:
    """Check an uploaded photo and make its renditions in memory, or raise ImageRefused."""
    if not data:
        raise _refuse(_l("The selected file is empty"))
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(_l("The photo must be smaller than 10 MB"))
    extension = os.path.splitext(filename or "")[1].lower()
    head = data[:512].lstrip().lower()
    if extension == ".svg" or head.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html")):
        raise _refuse(_l("The photo must be a JPG, PNG or WebP file (SVG is not accepted)"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if probe.width * probe.height > MAX_PIXELS:
                raise _refuse(_l("The photo has too many pixels: it must be at most "
                                 "40 million pixels"))
            probe.verify()
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) > 1:
                raise _refuse(_l("The photo must be a still picture, not an animation"))
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _refuse(_l("The photo has too many pixels: it must be at most "
                         "40 million pixels")) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Not an image, a damaged or truncated one, or one that lies about its size.
        raise _refuse(_l("The selected file is not a photo we can read: it may be "
                         "damaged or not a JPG, PNG or WebP file")) from exc
    if extension and extension not in FORMATS[image.format]:
        raise _refuse(_l("The file's name says %(claimed)s but it is a %(actual)s file",
                         claimed=extension.lstrip(".").upper(), actual=image.format))
    if min(image.size) < MIN_SIDE:
        raise _refuse(_l("The photo must be at least 100 pixels wide and high"))

    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info)
    pixels = image.convert("RGBA" if has_alpha else "RGB")
    # A new image from the pixels alone: no EXIF, GPS, XMP, ICC or comments survive.
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    content_hash = hashlib.sha256(data).hexdigest()[:32]
    widths = tuple(w for w in WIDTHS if w < bare.width) + (min(bare.width, WIDTHS[-1]),)
    widths = tuple(sorted(set(widths)))
    files: dict[str, bytes] = {}
    for width in widths:
        height = max(1, round(bare.height * width / bare.width))
        resized = bare if width == bare.width else bare.resize((width, height),
                                                                Image.Resampling.LANCZOS)
        webp = io.BytesIO()
        resized.save(webp, "WEBP", quality=80, method=4)
        files[rendition_name(content_hash, width, "webp")] = webp.getvalue()
        flat = resized
        if resized.mode == "RGBA":
            flat = Image.new("RGB", resized.size, (255, 255, 255))
            flat.paste(resized, mask=resized.getchannel("A"))
        jpeg = io.BytesIO()
        flat.save(jpeg, "JPEG", quality=82, optimize=True, progressive=True)
        files[rendition_name(content_hash, width, "jpg")] = jpeg.getvalue()
    return ProcessedImage(content_hash, bare.width, bare.height, widths, files)


def write_files(directory: Path, files: dict[str, bytes]) -> list[Path]:
    """Write every file atomically (temp file, fsync, rename); on any failure remove
    what this call wrote and re-raise. Returns the paths newly created."""
    directory.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    try:
        for name, content in files.items():
            target = directory / name
            if target.exists():
                continue  # same hash, same bytes: already there
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            created.append(target)
    except BaseException:
        remove_files(created)
        raise
    return created


def remove_files(paths) -> None:
    """Delete files, ignoring those already gone."""
    for path in paths:
        Path(path).unlink(missing_ok=True)


def srcset(url_for_name, content_hash: str, widths: list[int], extension: str) -> str:
    """`url 320w, url 640w, ...` for one format."""
    return ", ".join(f"{url_for_name(rendition_name(content_hash, w, extension))} {w}w"
                     for w in widths)
