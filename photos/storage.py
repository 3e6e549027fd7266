"""The photos storage (settings.STORAGES["photos"]): a private directory or a private bucket."""

from django.core.files.base import ContentFile
from django.core.files.storage import storages


def photo_storage():
    return storages["photos"]


def store_bytes(name: str, data: bytes) -> str:
    """Write ``data`` under ``name``; the name actually used (never overwrites)."""
    return photo_storage().save(name, ContentFile(data))


def delete_quietly(*names: str) -> None:
    storage = photo_storage()
    for name in names:
        if name:
            storage.delete(name)
