"""What every command shares: `--home`, `--json`, building services, and turning errors into exit codes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from fieldmind.errors import FieldmindError

if TYPE_CHECKING:
    from fieldmind.knowledge.revisions import Scope
    from fieldmind.services import Services

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def home_option(func: F) -> F:
    return click.option(
        "--home",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        help="Data directory (default: $FIELDMIND_HOME, else the user data dir).",
    )(func)


def engine_url_option(func: F) -> F:
    return click.option(
        "--engine-url",
        default=None,
        metavar="URL",
        help="A site's OpenAI-compatible inference server to word answers (the local model is the fallback).",
    )(func)


def engine_overrides(engine_url: str | None) -> dict[str, Any]:
    """Settings overrides for `--engine-url` (this command's, else the group's)."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    from fieldmind.settings import server_engine

    return server_engine(engine_url or (root.params.get("engine_url") if root is not None else None))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(func)


def scope_options(func: F) -> F:
    """`--scope k=v` (repeatable) and `--all-revisions`: which documents a question may draw on."""
    func = click.option(
        "--all-revisions", is_flag=True, help="Search superseded revisions too (only the current ones by default)."
    )(func)
    return click.option(
        "--scope",
        "scope",
        multiple=True,
        metavar="KEY=VALUE",
        help="Only documents tagged so (e.g. asset=N123AB), plus untagged general ones. Repeatable.",
    )(func)


def make_scope(pairs: tuple[str, ...]) -> Scope | None:
    from fieldmind.knowledge.revisions import Scope

    try:
        return Scope.parse(pairs) if pairs else None
    except FieldmindError as exc:
        raise click.UsageError(str(exc)) from None


def command_home(home: str | None) -> str | None:
    """This command's home: its own --home, else the group's (None: the default)."""
    root = click.get_current_context().find_root()
    return home or (root.params.get("home") if root else None)


def services_for(home: str | None, engine_url: str | None = None) -> Services:
    """Services for this command's home (its own --home, else the group's) and inference server, if any."""
    from fieldmind.services import Services, apply_network_policy
    from fieldmind.settings import load_settings

    ctx = click.get_current_context()
    settings = load_settings(command_home(home), **engine_overrides(engine_url))
    apply_network_policy(settings)
    services = Services(settings)
    services.knowledge.on_wait = info
    services.catalog.on_wait = info
    ctx.call_on_close(services.close)
    return services


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def info(message: str) -> None:
    """Progress and notes go to stderr, so stdout stays clean for answers and JSON."""
    click.echo(message, err=True)


def progress_line(text: str, last: bool = False) -> None:
    """A job's progress on stderr: rewritten in place on a terminal, one line per step in a log."""
    if sys.stderr.isatty():
        click.echo(f"\r\033[K{text}", nl=last, err=True)
    else:
        click.echo(text, err=True)


def reports_errors(func: F) -> F:
    """A FieldmindError becomes one clear line on stderr and exit status 1, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FieldmindError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_PARTIAL)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return cast(F, wrapper)
