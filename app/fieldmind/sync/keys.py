"""Publisher keys (Ed25519, via `cryptography`): generate, load, sign, verify; a key's id is its sha256."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldmind.errors import FieldmindError
from fieldmind.files import check_writable_target, write_user_file

PRIVATE_FILE = "publisher.key"
PUBLIC_FILE = "publisher.pub"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_b64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def public_from_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def generate(out_dir: Path) -> tuple[Path, Path]:
    """Write a new key pair: the private key readable by its owner only."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FieldmindError(f"{out_dir}: cannot make the key folder ({exc.strerror or exc})") from exc
    private_path, public_path = out_dir / PRIVATE_FILE, out_dir / PUBLIC_FILE
    check_writable_target(public_path)
    if private_path.exists() or private_path.is_symlink():
        raise FieldmindError(f"{private_path} already exists; refusing to overwrite a publisher key")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    except OSError as exc:
        raise FieldmindError(f"{private_path}: cannot write the key ({exc.strerror or exc})") from exc
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_user_file(public_path, public)
    return private_path, public_path


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise FieldmindError(f"{path}: not a publisher private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise FieldmindError(f"{path}: not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise FieldmindError(f"{path}: not a publisher public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise FieldmindError(f"{path}: not an Ed25519 key")
    return key


def sign(private: Ed25519PrivateKey, data: bytes) -> str:
    return base64.b64encode(private.sign(data)).decode()


def verify(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True
