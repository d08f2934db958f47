"""Background work: one Huey instance, tasks that run inside the portal's app context.

Declare work in your feature's own module and import that module from `portal.jobs.worker`
so the consumer knows it::

    from portal.jobs import periodic_task, task
    from huey import crontab

    @task()
    def rebuild_something(unit_id: int) -> None: ...

    @periodic_task(crontab(minute="0", hour="18"))  # crontab in UTC
    def nightly() -> None: ...

`rebuild_something(3)` queues the call; the consumer runs it with `db.session` ready and
removes the session afterwards. Tasks commit their own work.
"""

from portal.jobs.runner import huey, periodic_task, task

__all__ = ["huey", "periodic_task", "task"]
