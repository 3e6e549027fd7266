"""Videos through Debian's ffmpeg: an H.264 MP4 without metadata and a poster frame; a video
past the duration limit is refused and leaves nothing stored."""

import json
import shutil
import subprocess

import pytest

from photos import services
from photos.models import MediaItem
from photos.storage import photo_storage
from tests.photos.conftest import stored_files, upload
from tests.photos.media import video_bytes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("ffmpeg"), reason="ffmpeg is not installed (apt-get install ffmpeg)"),
]


def _probe(path) -> dict:
    out = subprocess.run(
        [shutil.which("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_a_video_becomes_an_h264_mp4_without_its_location_and_with_a_poster(
    photo_set, surgeon_user, settings, photo_root
):
    settings.PHOTOS_MAX_VIDEO_SECONDS = 5
    item = upload(
        photo_set, surgeon_user, video_bytes(1.5), "smile.mp4", view="smile", content_type="video/mp4"
    )
    assert item.kind == "video"

    item = services.media_process(item_id=item.pk)

    assert item.status == MediaItem.Status.READY, item.error
    assert 1.0 <= item.duration_seconds <= 2.0
    info = _probe(photo_storage().path(item.main_name))
    assert [s["codec_name"] for s in info["streams"]] == ["h264"]
    assert "location" not in json.dumps(info["format"].get("tags", {}))
    assert item.poster_name and item.thumb_name
    assert not any(n.startswith("incoming/") for n in stored_files(photo_root))


def test_a_video_past_the_duration_limit_is_refused_and_nothing_is_kept(
    photo_set, surgeon_user, settings, photo_root
):
    settings.PHOTOS_MAX_VIDEO_SECONDS = 2
    item = upload(
        photo_set, surgeon_user, video_bytes(3.5), "smile.mp4", view="smile", content_type="video/mp4"
    )

    item = services.media_process(item_id=item.pk)

    assert item.status == MediaItem.Status.REJECTED
    assert item.error_code == "too_long"
    assert "limit is 2 s" in item.error
    assert stored_files(photo_root) == []
