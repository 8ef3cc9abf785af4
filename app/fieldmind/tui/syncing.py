"""Running a sync from the app: progress to the status bar, a notification listing what changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldmind.tui.app import FieldmindApp


def sync_in_worker(app: FieldmindApp) -> None:
    """Called in a thread worker."""
    from fieldmind.sync.runner import run_sync

    def state(text: str) -> None:
        app.call_from_thread(setattr, app, "sync_state", text)
        if text.startswith("downloading "):
            done, total = (int(n) for n in text.split()[1].split("/"))
            app.call_from_thread(setattr, app, "sync_progress", (done, total))
        else:
            app.call_from_thread(setattr, app, "sync_progress", (0, 0))

    try:
        result = run_sync(app.services, progress=state)
    except Exception as exc:
        state("sync failed")
        app.call_from_thread(app.notify, str(exc), title="Sync failed", severity="error", timeout=20)
        return
    app.refresh_index_size()
    if result.applied:
        changes = ", ".join(
            f"{a['name']} v{a['version']} (+{a['added']} ~{a['updated']} -{a['removed']})" for a in result.applied
        )
        app.call_from_thread(app.notify, f"Applied {changes}", title="Knowledge updated")
    for rejected in result.rejected:
        app.call_from_thread(
            app.notify, f"{rejected['name']}: {rejected['reason']}", title="Update rejected", severity="warning"
        )
    state(result.state_text())
