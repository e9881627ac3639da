"""What a stored run artifact is, read from its first bytes (stored files are named by hash, without an
extension), and the members of a tar archive, listed without extracting anything."""

import json
import struct
import tarfile
from dataclasses import dataclass
from typing import IO

from django.core.cache import cache

from training_worker.models import RunArtifact

SNIFF_BYTES = 64 * 1024
# Listing an archive reads at most this many members, and this many (compressed) bytes of the file.
LISTING_MAX_MEMBERS = 200
LISTING_MAX_BYTES = 256 * 1024**2
LISTING_CACHE_S = 24 * 3600
ARCHIVE_EXTENSIONS = (".tar.gz", ".tar")


def _text(head: bytes) -> str:
    """The bytes as UTF-8 text, or "" if they are not (a character cut by the sniffing window is allowed)."""
    for end in range(len(head), max(len(head) - 4, 0), -1):
        try:
            return head[:end].decode("utf-8")
        except UnicodeDecodeError:
            if len(head) < SNIFF_BYTES:
                return ""
    return ""


def _sniff(head: bytes, size: int) -> str:
    if head.startswith(b"\x1f\x8b"):
        return ".gz"
    if head[257:262] == b"ustar":
        return ".tar"
    if head.startswith(b"PK\x03\x04"):
        return ".zip"
    if len(head) >= 9 and head[8:9] == b"{":
        (header_length,) = struct.unpack("<Q", head[:8])
        if 8 + header_length <= size:
            return ".safetensors"
    text = _text(head)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        first, _, rest = stripped.partition("\n")
        try:
            json.loads(first)
        except ValueError:
            return ".json"  # an indented document
        return ".jsonl" if rest.strip() or len(head) < size else ".json"
    return ".txt" if text else ".bin"


def artifact_extension(*, artifact: RunArtifact) -> str:
    """The file's extension by its content: .tar.gz, .safetensors, .jsonl, .json, .txt, ... (.bin if unknown);
    an artifact whose name already ends in an extension keeps it."""
    if "." in artifact.name.strip("."):
        return ""
    try:
        with artifact.file.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return ""
    extension = _sniff(head, artifact.size)
    if extension == ".gz" and _is_tar(artifact):
        return ".tar.gz"
    return extension


def _is_tar(artifact: RunArtifact) -> bool:
    try:
        with artifact.file.open("rb") as handle, tarfile.open(fileobj=handle, mode="r|gz") as tar:
            return tar.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def artifact_download_name(*, artifact: RunArtifact, extension: str) -> str:
    return f"run-{artifact.run_id}-{artifact.name}{extension}"


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    is_dir: bool


@dataclass(frozen=True)
class Listing:
    members: list[Member]
    complete: bool


class _ReadLimit(Exception):
    pass


class _BoundedReader:
    """A read-only file that stops (raising _ReadLimit) once `limit` bytes have been read."""

    def __init__(self, handle: IO[bytes], limit: int) -> None:
        self.handle, self.left = handle, limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise _ReadLimit
        chunk = self.handle.read(self.left if size < 0 else min(size, self.left))
        self.left -= len(chunk)
        return chunk


def archive_listing(*, artifact: RunArtifact, extension: str) -> Listing | None:
    """The first LISTING_MAX_MEMBERS members of a tar artifact (names and sizes, read as a stream: nothing is
    extracted or written); None for other files. Cached by content hash, which never changes."""
    if extension not in ARCHIVE_EXTENSIONS:
        return None
    key = f"artifact-listing:{artifact.sha256}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    members: list[Member] = []
    complete = True
    try:
        with artifact.file.open("rb") as handle:
            stream = _BoundedReader(handle, LISTING_MAX_BYTES)
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for info in tar:
                    if len(members) == LISTING_MAX_MEMBERS:
                        complete = False
                        break
                    members.append(Member(name=info.name, size=info.size, is_dir=info.isdir()))
    except (_ReadLimit, tarfile.TarError, OSError, EOFError):
        complete = False
    listing = Listing(members=members, complete=complete)
    cache.set(key, listing, LISTING_CACHE_S)
    return listing


@dataclass(frozen=True)
class ArtifactFile:
    """An artifact as its run page lists it: the name it downloads under and, for an archive, its files."""

    artifact: RunArtifact
    filename: str
    listing: Listing | None


def artifact_file(*, artifact: RunArtifact) -> ArtifactFile:
    extension = artifact_extension(artifact=artifact)
    return ArtifactFile(
        artifact=artifact,
        filename=artifact_download_name(artifact=artifact, extension=extension),
        listing=archive_listing(artifact=artifact, extension=extension),
    )
