"""The signed site index: what packs exist, their versions, and every file's path, sha256 and length.

One signed document covers everything a device fetches, so files cannot be mixed from two versions (each
is pinned by its hash), lengths bound every download (no endless data), and `expires` stops a frozen site
from being believed forever. Signatures are over canonical JSON of the `signed` part.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, Field, PrivateAttr, ValidationError, field_validator

from fieldmind.errors import FieldmindError
from fieldmind.knowledge.revisions import DocumentMeta, check_date, check_tag
from fieldmind.sync import keys

INDEX_FILE = "fieldmind-site.json"
FILES_DIR = "files"
MAX_INDEX_BYTES = 16 * 2**20
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
"""Matched with `fullmatch`: `$` would let "fleet\n" through."""
MAX_LENGTH = 2**44
"""No file in a pack is bigger than 16 TiB; a bigger length is a forged or broken index, not a download."""
MAX_NUMBER = 2**53
"""Versions and serials stay exact in every JSON reader."""
MAX_DEPTH = 16
"""The signed index nests five deep; deeper is junk, refused before parsing (200,000 `[` ended a watch with
a RecursionError, no signature needed)."""
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_SAFE_EXTRA = set(" ._()+-,")


class MetadataError(Exception):
    """The site's metadata cannot be believed; the reason says why."""


def check_path(path: str) -> str:
    """A file's path in a pack: relative, plain components, nothing that could escape or hide."""
    if len(path) > 255:
        raise ValueError(f"path too long ({len(path)} characters; at most 255): {path[:60]!r}…")
    if not path or path.startswith("/") or "\\" in path:
        raise ValueError(f"unsafe path {path!r}: must be relative, '/'-separated")
    if unicodedata.normalize("NFKC", path) != path:
        raise ValueError(f"unsafe path {path!r}: full-width or compatibility characters (write it plainly)")
    for part in path.split("/"):
        if part in ("", ".", "..") or part.startswith((".", "-")):
            raise ValueError(f"unsafe path {path!r}: component {part!r}")
        if any(not (ch.isalnum() or ch in _SAFE_EXTRA) for ch in part):
            raise ValueError(f"unsafe path {path!r}: odd characters")
        scripts = {unicodedata.name(ch, "?").split()[0] for ch in part if ch.isalpha()}
        if len(scripts) > 1:
            raise ValueError(f"unsafe path {path!r}: mixes {' and '.join(sorted(scripts))} letters (look-alikes)")
    return path


def nesting_depth(raw: bytes) -> int:
    """How deep JSON arrays and objects nest in `raw`, counted without parsing (strings left out)."""
    import numpy as np

    bare = np.frombuffer(_JSON_STRING.sub(b"", raw), dtype=np.uint8)
    opens = (bare == ord("[")) | (bare == ord("{"))
    closes = (bare == ord("]")) | (bare == ord("}"))
    steps = opens.astype(np.int64) - closes.astype(np.int64)
    return int(np.cumsum(steps).max()) if len(steps) else 0


class PackFile(BaseModel):
    path: str
    sha256: str
    length: int = Field(ge=0, le=MAX_LENGTH, strict=True)
    # What the publisher says the document is (covered by the signature like the rest): its id across
    # revisions, title, revision, effective date and tags. Absent: the file is its own document, untagged.
    doc_id: str | None = Field(default=None, max_length=120)
    title: str | None = Field(default=None, max_length=300)
    revision: str | None = Field(default=None, max_length=40)
    effective: str | None = Field(default=None, max_length=10)
    tags: dict[str, str] = Field(default_factory=dict, max_length=32)

    @field_validator("effective")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        try:
            return None if value is None else check_date(value)
        except FieldmindError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            for key, tag in value.items():
                check_tag(key, tag)
        except FieldmindError as exc:
            raise ValueError(str(exc)) from None
        return value

    def meta(self) -> DocumentMeta:
        return DocumentMeta(self.doc_id, self.title, self.revision, self.effective, self.tags)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return check_path(value)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not _SHA256.fullmatch(value):
            raise ValueError("sha256 must be 64 lower-case hex digits")
        return value


class PackEntry(BaseModel):
    version: int = Field(ge=1, le=MAX_NUMBER, strict=True)
    published: AwareDatetime
    files: list[PackFile]

    @field_validator("files")
    @classmethod
    def _unique(cls, value: list[PackFile]) -> list[PackFile]:
        if len({f.path for f in value}) != len(value):
            raise ValueError("a path appears twice")
        folded: dict[str, str] = {}
        for f in value:
            key = f.path.casefold()
            if key in folded:
                raise ValueError(f"paths {folded[key]!r} and {f.path!r} differ only in case")
            folded[key] = f.path
        return value


class SiteIndex(BaseModel):
    type: Literal["fieldmind-site"] = "fieldmind-site"
    spec: Literal[1] = 1
    serial: int = Field(ge=1, le=MAX_NUMBER, strict=True)
    """Goes up with every publication of the site; a whole number, never "5" or true."""
    issued: AwareDatetime
    expires: AwareDatetime
    packs: dict[str, PackEntry]
    _signed_by: str = PrivateAttr(default="")

    @property
    def signed_by(self) -> str:
        """The id of the trusted key whose signature was accepted."""
        return self._signed_by

    @field_validator("packs")
    @classmethod
    def _names(cls, value: dict[str, PackEntry]) -> dict[str, PackEntry]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"bad pack name {name!r}")
        return value

    def expired(self, now: datetime) -> bool:
        return now >= self.expires


def canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_index(index: SiteIndex, private: Ed25519PrivateKey) -> bytes:
    signed = index.model_dump(mode="json")
    signature = {"keyid": keys.key_id(private.public_key()), "sig": keys.sign(private, canonical(signed))}
    return json.dumps({"signed": signed, "signatures": [signature]}, indent=1, ensure_ascii=False).encode("utf-8")


def verify_index(raw: bytes, trusted: dict[str, Ed25519PublicKey]) -> SiteIndex:
    """Believe the index only when a trusted key signed exactly these bytes of `signed`, and it is well formed."""
    if len(raw) > MAX_INDEX_BYTES:
        raise MetadataError(f"index larger than {MAX_INDEX_BYTES} bytes")
    if not trusted:
        raise MetadataError("no publisher key is trusted on this device (fieldmind trust add PUBFILE)")
    if (depth := nesting_depth(raw)) > MAX_DEPTH:
        raise MetadataError(f"index is not signed metadata (nested {depth} deep; at most {MAX_DEPTH})")
    try:
        document = json.loads(raw)
        signed, signatures = document["signed"], document["signatures"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise MetadataError(f"index is not signed metadata ({exc})") from exc
    if not isinstance(signatures, list) or not signatures:
        raise MetadataError("index carries no signature")
    payload = canonical(signed)
    good = [
        s
        for s in signatures
        if isinstance(s, dict)
        and isinstance(s.get("keyid"), str)
        and s["keyid"] in trusted
        and isinstance(s.get("sig"), str)
        and keys.verify(trusted[s["keyid"]], payload, s["sig"])
    ]
    if not good:
        ids = ", ".join(str(s.get("keyid", "?"))[:12] for s in signatures if isinstance(s, dict))
        raise MetadataError(f"no valid signature by a trusted publisher key (signed by: {ids or 'nobody'})")
    try:
        index = SiteIndex.model_validate(signed)
    except ValidationError as exc:
        raise MetadataError(f"index is malformed: {exc.errors()[0]['msg']}") from exc
    index._signed_by = str(good[0]["keyid"])
    return index


def utcnow() -> datetime:
    return datetime.now(UTC)
