"""What a photograph or video goes through: its type read from its first bytes, then (in the
worker) decoding, orientation, metadata stripped, renditions; ffmpeg for video.

Every refusal is a ``MediaRefused`` with a stable code and a sentence for the clinician."""

import io
import json
import os
import subprocess
import tempfile

import filetype
from django.conf import settings
from PIL import Image, ImageFile, ImageOps

from clinic.errors import DomainError

# Content types accepted, and the file name endings that may carry them.
IMAGE_TYPES = {"image/jpeg": {".jpg", ".jpeg", ".jfif"}, "image/png": {".png"}}
VIDEO_TYPES = {
    "video/mp4": {".mp4", ".m4v"},
    "video/quicktime": {".mov", ".qt"},
    "video/webm": {".webm"},
}
NAMES = {
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "video/mp4": "an MP4 video",
    "video/quicktime": "a QuickTime video",
    "video/webm": "a WebM video",
}
SCREEN_PX = 1600
THUMB_PX = 320
JPEG_QUALITY = 90
# Decoding bombs: refuse images above this many pixels (a 100-megapixel camera is the ceiling).
MAX_PIXELS = 100_000_000


class MediaRefused(DomainError):
    code = "media_refused"
    status = 400
    default_detail = "The file was refused."

    def __init__(self, code: str, detail: str):
        super().__init__(detail, fields={"file": [detail]})
        self.code = code


def sniff(head: bytes, name: str) -> tuple[str, str]:
    """(kind, content type) of a file from its first bytes; the name's ending must agree."""
    guess = filetype.guess(head)
    mime = guess.mime if guess else ""
    if mime not in IMAGE_TYPES and mime not in VIDEO_TYPES:
        raise MediaRefused(
            "unsupported_type",
            "This file is not a JPEG or PNG photograph, or an MP4, QuickTime or WebM video.",
        )
    ending = os.path.splitext(name or "")[1].lower()
    allowed = IMAGE_TYPES.get(mime) or VIDEO_TYPES[mime]
    if ending and ending not in allowed:
        raise MediaRefused(
            "type_mismatch",
            f"The file is {NAMES[mime]} but its name ends in {ending}: check that it is the file you meant.",
        )
    return ("image" if mime in IMAGE_TYPES else "video"), mime


def max_bytes(kind: str | None = None) -> int:
    if kind == "image":
        return settings.PHOTOS_MAX_IMAGE_BYTES
    if kind == "video":
        return settings.PHOTOS_MAX_VIDEO_BYTES
    return max(settings.PHOTOS_MAX_IMAGE_BYTES, settings.PHOTOS_MAX_VIDEO_BYTES)


def too_large(limit: int) -> MediaRefused:
    return MediaRefused("too_large", f"The file is larger than the limit of {limit // (1024 * 1024)} MB.")


# --- Images ------------------------------------------------------------------------------------


def _jpeg(image: Image.Image, longest: int | None = None) -> bytes:
    if longest and max(image.size) > longest:
        image = image.copy()
        image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No exif=, no icc_profile=: Pillow writes none of the source's metadata.
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _load_whole(image: Image.Image) -> None:
    """Decode every pixel, refusing a file that is cut off. Pillow's process-wide
    LOAD_TRUNCATED_IMAGES may have been turned on by another library (WeasyPrint does so when the
    consent PDFs are rendered in the same process): a clinical photograph is never padded out."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def process_image(data: bytes) -> dict:
    """The main, screen and thumbnail JPEGs of an image: orientation applied, then every
    metadata block (EXIF with GPS, XMP, comments) left behind."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise MediaRefused("too_many_pixels", "The image has more pixels than a clinical photograph.")
            _load_whole(probe)
            image = ImageOps.exif_transpose(probe)
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            # A fresh image holding only the pixels: nothing of the file's metadata travels on.
            clean = Image.new(image.mode, image.size)
            clean.paste(image)
    except MediaRefused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        text = str(exc).lower()
        if "truncated" in text or "premature" in text or "broken data stream" in text:
            raise MediaRefused(
                "truncated", "The image file is incomplete (cut off): copy it again from the camera."
            ) from exc
        raise MediaRefused("unreadable", "The image could not be read: the file may be damaged.") from exc
    return {
        "main": _jpeg(clean),
        "screen": _jpeg(clean, SCREEN_PX),
        "thumb": _jpeg(clean, THUMB_PX),
        "width": clean.width,
        "height": clean.height,
    }


# --- Videos ------------------------------------------------------------------------------------


def _run(args: list[str], *, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, timeout=timeout, check=False)  # noqa: S603


def probe_duration(path: str) -> float:
    result = _run(
        [
            settings.PHOTOS_FFPROBE,
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_type",
            "-of",
            "json",
            path,
        ],
        timeout=60,
    )
    try:
        info = json.loads(result.stdout or b"{}")
        streams = [s.get("codec_type") for s in info.get("streams", [])]
        duration = float(info.get("format", {}).get("duration", "nan"))
    except (ValueError, TypeError) as exc:
        raise MediaRefused("unreadable", "The video could not be read: the file may be damaged.") from exc
    if result.returncode != 0 or "video" not in streams or not duration == duration:  # NaN check
        raise MediaRefused("unreadable", "The video could not be read: the file may be damaged.")
    return duration


def process_video(data: bytes) -> dict:
    """An H.264 MP4 (no audio, no metadata, at most 1280 px wide), a poster frame and its
    thumbnails. Refuses a video longer than PHOTOS_MAX_VIDEO_SECONDS before converting it."""
    limit = settings.PHOTOS_MAX_VIDEO_SECONDS
    with tempfile.TemporaryDirectory(prefix="photos-") as work:
        source = os.path.join(work, "source")
        with open(source, "wb") as fh:
            fh.write(data)
        duration = probe_duration(source)
        if duration > limit:
            raise MediaRefused(
                "too_long",
                f"The video lasts {duration:.0f} s; the limit is {limit} s. Trim it and try again.",
            )
        target = os.path.join(work, "out.mp4")
        convert = _run(
            [
                settings.PHOTOS_FFMPEG,
                "-nostdin",
                "-v",
                "error",
                "-i",
                source,
                "-map_metadata",
                "-1",
                "-map_chapters",
                "-1",
                "-an",
                "-t",
                str(limit),
                "-vf",
                "scale='min(1280,iw)':-2",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "23",
                "-pix_fmt",
                "yuv420p",
                "-movflags",
                "+faststart",
                target,
            ],
            timeout=max(120, limit * 10),
        )
        if convert.returncode != 0 or not os.path.exists(target):
            raise MediaRefused("unreadable", "The video could not be converted: the file may be damaged.")
        poster_path = os.path.join(work, "poster.png")
        poster = _run(
            [
                settings.PHOTOS_FFMPEG,
                "-nostdin",
                "-v",
                "error",
                "-ss",
                str(min(0.5, duration / 2)),
                "-i",
                target,
                "-frames:v",
                "1",
                poster_path,
            ],
            timeout=60,
        )
        if poster.returncode != 0 or not os.path.exists(poster_path):
            raise MediaRefused("unreadable", "No frame of the video could be read.")
        with open(target, "rb") as fh:
            video = fh.read()
        with open(poster_path, "rb") as fh:
            frames = process_image(fh.read())
    with Image.open(io.BytesIO(frames["main"])) as still:
        width, height = still.size
    return {
        "main": video,
        "poster": frames["screen"],
        "screen": frames["screen"],
        "thumb": frames["thumb"],
        "width": width,
        "height": height,
        "duration": duration,
    }
