"""Where a document in the index came from, as a value: this device (`local`), the site store written by a
terminal (`site:T`), or a signed pack at a version (`pack:N@V`). Stored as its label; parsed in one place."""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_LABEL = "local"


@dataclass(frozen=True)
class DocumentSource:
    kind: str
    """local, site or pack."""
    name: str = ""
    """The terminal that wrote a site document, or the pack's name."""
    version: int | None = None
    """A pack's version."""

    @classmethod
    def parse(cls, label: str) -> DocumentSource:
        """The value of a stored label; an unknown label is a local document (it came from this device)."""
        kind, _, rest = label.partition(":")
        if kind == "pack":
            name, _, version = rest.partition("@")
            return cls("pack", name, int(version) if version.isdigit() else None)
        if kind == "site":
            return cls("site", rest)
        return cls(LOCAL_LABEL)

    @classmethod
    def pack(cls, name: str, version: int) -> DocumentSource:
        return cls("pack", name, version)

    @classmethod
    def site(cls, terminal: str) -> DocumentSource:
        return cls("site", terminal)

    @property
    def label(self) -> str:
        """As stored: `local`, `site:T`, `pack:N@V`."""
        if self.kind == "pack":
            return f"pack:{self.name}@{self.version}"
        return f"site:{self.name}" if self.kind == "site" else LOCAL_LABEL

    @property
    def is_pack(self) -> bool:
        return self.kind == "pack"

    @property
    def is_site(self) -> bool:
        return self.kind == "site"

    def describe(self) -> str:
        """For people (an answer card): `pack fleet-a v7`, `site store (terminal T)`, `local file`."""
        if self.kind == "pack":
            return f"pack {self.name} v{self.version}"
        return f"site store (terminal {self.name})" if self.kind == "site" else "local file"
