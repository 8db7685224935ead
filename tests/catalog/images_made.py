"""Real image files, honest and hostile, made by the tests themselves."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg_with_gps_rotated(width=1600, height=900) -> bytes:
    """A JPEG that EXIF says to rotate 90 degrees, carrying GPS and a camera name."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, width // 2, height))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6          # Orientation: rotate 90 CW to show
    exif[0x010F] = "SpyCam"   # Make
    exif[0x8825] = {1: "N", 2: (29.0, 52.0, 3.0), 3: "E", 4: (121.0, 33.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width=800, height=600, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 120, 60) if mode == "RGB" else (10, 120, 60, 128)) \
        .save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(
        ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(side=100_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (10 gigapixels)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 1024)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows)
            + _chunk(b"IEND", b""))


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (300, 300), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def animated_png() -> bytes:
    frames = [Image.new("RGB", (300, 300), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


SVG_WITH_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="500" '
                   b'height="500"><script>alert(document.cookie)</script>'
                   b'<rect width="500" height="500"/></svg>')
HTML_AS_JPEG = b"<html><body><script>alert(1)</script></body></html>"
GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
       b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
