"""Running a sync from the app: progress to the status bar, a notification listing what changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldmind.tui.app import FieldmindApp


def sync_in_worker(app: FieldmindApp) -> None:
    """Called in a thread worker."""
    from fieldmind.sync.runner import SyncProgress, run_sync
    from fieldmind.tui.messages import SyncChanged

    def state(progress: SyncProgress) -> None:
        app.post_message(SyncChanged(progress.describe(), progress.done, progress.total))

    try:
        result = run_sync(app.services, progress=state)
    except Exception as exc:
        state(SyncProgress("sync failed"))
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
    state(SyncProgress(result.state_text()))
