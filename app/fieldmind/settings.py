"""User settings: defaults, overridden by `<home>/config.toml`, overridden by `FIELDMIND_*` variables.

Settings are built in `main()` and passed down; nothing here runs at import time.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from fieldmind.errors import FieldmindError, shown_value
from fieldmind.files import write_atomic
from fieldmind.locations import resolve_home

CONFIG_FILE = "config.toml"


class ModelSettings(BaseModel):
    """How the language model is chosen and run."""

    name: str = "qwen2.5-coder-0.5b-instruct"
    """A catalogue name or a path to any GGUF file."""
    threads: int = Field(default=0, ge=0, le=512)
    """CPU threads for generation; 0 means one per core."""
    context_size: int = Field(default=2048, ge=256, le=131072)
    """Tokens of context: system prompt, passages, question and answer together."""
    short_answers: bool = True
    """After the quote, let the model reword it in a few words (shown only when its facts are in the quote)."""
    dir: Path | None = None
    """Where assembled model files live; default `<home>/models`."""

    @field_validator("dir")
    @classmethod
    def _a_folder(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError("not a folder (it is a file or a device); give a folder for the model files")
        return value


class EngineSettings(BaseModel):
    """Where answers are worded: this laptop's model, or a site's inference server with this laptop's as fallback."""

    backend: Literal["local", "server"] = "local"
    """`server`: an OpenAI-compatible server (`python -m llama_cpp.server`, `llama-server`, vLLM) words the
    answers while it answers in time; the local model does whenever it does not (llm/fallback.py)."""
    url: str | None = None
    """The server's base URL, e.g. `http://hangar-box:8080` (its `/v1/...` endpoints); also `--engine-url`."""
    token: str | None = None
    """Optional bearer token (or `FIELDMIND_ENGINE__TOKEN`); sent only to the server, never logged or shown."""
    api: Literal["chat", "completion"] = "chat"
    """`chat` for an instruction-tuned model with a chat template; `completion` for a base model."""
    model: str | None = None
    """The model name to ask the server for; default the first it lists at `/v1/models`."""
    first_byte_ms: float = Field(default=800.0, gt=0, le=60_000)
    """A server that has not sent the answer's first token within this is treated as down for the answer."""
    stall_s: float = Field(default=5.0, gt=0, le=600)
    """A server silent this long in the middle of an answer has dropped it: the local model answers."""
    answer_s: float = Field(default=30.0, gt=0, le=600)
    """The whole short answer from the server must arrive within this, or the local model writes it (a server
    streaming a token every 0.2 s and never ending left `ask` waiting past 290 s)."""
    retry_s: float = Field(default=15.0, gt=0, le=3600)
    """While down, the server's health is checked this often, in the background."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("the inference server's URL must start with http:// or https://")
        return url


class KnowledgeSettings(BaseModel):
    """How documents are read, cut into passages and retrieved."""

    max_file_mb: float = Field(default=200.0, gt=0, le=100_000)
    """Files bigger than this are refused with a clear error instead of stalling the ingest."""
    chunk_words: int = Field(default=60, ge=10, le=2000)
    """Target passage size, in words: small passages retrieve best (measured: 60 beat 40-180)."""
    chunk_overlap_words: int = Field(default=10, ge=0, le=500)
    """Words repeated between neighbouring passages so a sentence cut at a boundary is still found."""
    search_k: int = Field(default=5, ge=1, le=100)
    """Passages returned by `search` when `-k` is not given."""
    answer_k: int = Field(default=5, ge=1, le=20)
    """Passages whose pages are searched for the sentence, list item or table row that answers."""
    ocr: bool = True
    """Read scanned PDF pages (no text layer) with Tesseract at ingest; cached, so a page is read once."""
    reader: bool = True
    """Score the candidate stretches with Fieldmind's own reader (`answers/reader.py`); false: the hand-weighted
    scores alone, as before it (what `fieldmind bench` compares it with)."""
    embedder_backend: Literal["auto", "onnx", "torch"] = "auto"
    """auto: ONNX Runtime over a one-time export of the bundled model (fast start, less memory), else torch."""
    backend: Literal["embedded", "http"] = "embedded"
    """`embedded`: this terminal's own index only; `http`: also the site's shared store on a Chroma server
    (`chroma run`), of which the terminal keeps a full local copy (see knowledge/site.py)."""
    chroma_host: str = "127.0.0.1"
    chroma_port: int = Field(default=8000, ge=1, le=65535)


class TrustedKey(BaseModel):
    """A publisher key this device accepts."""

    id: str
    key: str
    """The Ed25519 public key, base64."""
    added: str


class SyncSettings(BaseModel):
    """Where knowledge updates come from, and which publishers to believe."""

    source: str | None = None
    """An http(s) URL of a pack site, or a folder (USB stick, LAN share). The only network endpoint used."""
    check_interval_s: float = Field(default=900.0, gt=0, le=7 * 86400, allow_inf_nan=False)
    """How often the connectivity monitor looks for the source (it backs off when unreachable)."""
    max_pack_mb: float = Field(default=2048.0, gt=0)
    """A pack larger than this is refused before download (endless-data protection)."""
    trusted_keys: list[TrustedKey] = []
    """Publisher keys whose signatures this device believes (`fieldmind trust add`)."""


class UISettings(BaseModel):
    """The terminal app's look and keys."""

    theme: str = "textual-dark"
    """Any Textual theme; `textual-light` for bright sunlight."""
    keymap: dict[str, str] = {}
    """Binding id to key(s), e.g. {"app.library" = "f6", "chat.stop" = "ctrl+c"}; see `fieldmind` palette."""
    scope: list[str] = []
    """The scope the app asks within, remembered (F5): tags like "asset=N123AB"; empty for all documents."""


class Settings(BaseSettings):
    """Everything a user can set. Built once per process from the home directory."""

    model_config = SettingsConfigDict(env_prefix="FIELDMIND_", env_nested_delimiter="__", extra="ignore")

    home: Path = Field(default_factory=resolve_home)
    model: ModelSettings = ModelSettings()
    engine: EngineSettings = EngineSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    sync: SyncSettings = SyncSettings()
    ui: UISettings = UISettings()
    demo_knowledge: bool = True
    """Ingest the shipped demo manual on first run, when the index is empty."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Given values, then `FIELDMIND_*` variables, then the home's config file (merged key by key)."""
        given = init_settings.init_kwargs if isinstance(init_settings, InitSettingsSource) else {}
        home = resolve_home(given.get("home"))
        return (init_settings, env_settings, ConfigFileSource(settings_cls, home / CONFIG_FILE))

    @property
    def models_dir(self) -> Path:
        return self.model.dir or self.home / "models"

    @property
    def embedder_dir(self) -> Path:
        """Where the ONNX export of the embedder lives: once per installation (the user's cache), not per home
        (each new home exported it again, ~10 s); beside the models when a models dir is set."""
        if self.model.dir is not None:
            return self.model.dir / "embedder"
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("fieldmind", appauthor=False)) / "embedder"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def threads(self) -> int:
        return self.model.threads or os.cpu_count() or 2


MAX_CONFIG_BYTES = 1 << 20
"""A settings file is a few lines; a bigger one is not one (a link to /dev/zero grew past 5 GB)."""


class ConfigFileSource(TomlConfigSettingsSource):
    """pydantic-settings' TOML source, reading the file only as `_read_config` allows (it skips a FIFO silently
    and reads a link to /dev/zero without end)."""

    def _read_files(self, files: object, deep_merge: bool = False) -> dict[str, Any]:
        return _read_config(Path(str(files)))


def _read_config(path: Path) -> dict[str, Any]:
    """The settings file's values: only a regular file, at most MAX_CONFIG_BYTES, is read (a FIFO would hang)."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise FieldmindError(f"{path}: cannot read settings ({exc.strerror or exc}); fix or delete the file") from exc
    if not stat.S_ISREG(mode):
        raise FieldmindError(f"{path}: not a regular file (a device, FIFO or folder); delete it or make it a file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise FieldmindError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KB, not a settings file; fix it")
        return tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FieldmindError(f"{path}: cannot read settings ({exc}); fix or delete the file") from exc


def load_settings(home: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Settings for `home`: the config file, then `FIELDMIND_*` variables on top, then `overrides`."""
    home_path = resolve_home(home)
    try:
        return Settings(home=home_path, **overrides)
    except ValidationError as exc:
        raise FieldmindError(_explain(exc, home_path / CONFIG_FILE)) from exc


def server_engine(url: str | None) -> dict[str, Any]:
    """The settings overrides for `--engine-url URL` (none without a URL)."""
    return {"engine": {"backend": "server", "url": url}} if url else {}


def _explain(error: ValidationError, path: Path) -> str:
    """Which key in which file (or variable) is wrong, and why: one line a problem."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        env = "FIELDMIND_" + "__".join(str(part).upper() for part in item["loc"])
        where = f"${env}" if env in os.environ else str(path)
        problems.append(f"{where}: setting {key} = {shown_value(item.get('input'))}: {item['msg']}")
    return "; ".join(problems) + " (fix or remove it; `fieldmind doctor` shows the settings in use)"


def save_setting(settings: Settings, dotted_key: str, value: Any) -> None:
    """Write one setting (like `model.name`) into `<home>/config.toml`, keeping the others."""
    import tomli_w

    path = settings.home / CONFIG_FILE
    current = _read_config(path)
    node = current
    *parents, leaf = dotted_key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    write_atomic(path, tomli_w.dumps(current))
