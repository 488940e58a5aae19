"""The `factdesk` command: serve, migrate, manage users and tokens, load the demo desk."""

import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from sqlmodel import Session

if TYPE_CHECKING:
    from flask import Flask

from claims.workflow import RatingScaleError, activate_scale
from service.accounts.models import Role, User
from service.accounts.services import UserService
from service.core.config import Settings, SettingsError
from service.core.database import make_engine
from service.core.errors import DomainError
from service.ops.migrate import revision, upgrade


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
        activate_scale(settings.rating_scale)
    except (SettingsError, RatingScaleError) as exc:
        raise click.ClickException(str(exc)) from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def _migrate(settings: Settings) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@click.group()
def main() -> None:
    """Factdesk: claims, primary sources and published verdicts."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="Web workers [default: 2 × cores].")
def serve(host: str, port: int, workers: int | None) -> None:
    """Migrate the database, then serve the web app with gunicorn, and its background worker."""
    from gunicorn.app.base import BaseApplication

    from service.ops.supervisor import PortTaken, WorkerSupervisor, check_port

    shown_host = f"[{host}]" if ":" in host else host
    try:  # before anything that belongs to an instance already running (its metrics, its worker)
        check_port(host, port)
    except PortTaken as exc:
        raise click.ClickException(
            f"Port {port} on {host} is taken ({exc}): another `factdesk serve`, or another "
            "server, listens there. Stop it, or choose another port with --port."
        ) from exc
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {shown_host}:{port}: {exc.strerror or exc}.") from exc
    if not os.environ.get("FACTDESK_BASE_URL"):
        # Links (API bodies, pages, webhooks) point where this server listens, in every process it
        # starts, never at a request's Host header; set FACTDESK_BASE_URL to the public address.
        local = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, shown_host)  # noqa: S104 - a name, not a bind
        os.environ["FACTDESK_BASE_URL"] = f"http://{local}:{port}"
    settings = _settings()
    _migrate(settings)
    workers = workers or 2 * (os.cpu_count() or 1)
    with _session(settings) as session:
        has_users = UserService(session).any()

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("accesslog", None)  # the app writes one JSON line per request itself
            self.cfg.set("control_socket_disable", True)  # gunicorn 27's socket is shared by every instance
            self.cfg.set("child_exit", _forget_worker_metrics)

        def load(self) -> "Flask":
            from service import create_app

            return create_app()

    click.echo(
        f"Factdesk listening on http://{shown_host}:{port} ({workers} workers, "
        f"database {_redacted(settings.sqlalchemy_url)})"
    )
    click.echo(f"API docs: http://{shown_host}:{port}/api/docs")
    click.echo(f"Links point at {settings.public_base} (FACTDESK_BASE_URL)")
    if not has_users:
        click.echo(
            "No users yet. Create the first one (its token is printed once):\n"
            "  factdesk users add alice --role admin"
        )
    sys.argv = sys.argv[:1]  # gunicorn parses argv too
    # Every process (web workers, the job worker) counts into files here and /metrics adds them
    # up; set before any of them imports prometheus_client, emptied of a previous run's counts.
    # One folder per port: another instance on the same data dir keeps its own counts.
    metrics_dir = settings.data_dir.resolve() / "metrics" / str(port)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    # The background worker runs beside the web workers, so this one command does everything;
    # when it dies (a crash, an OOM kill) another one is started.
    supervisor = WorkerSupervisor([sys.executable, "-m", "service.cli", "worker", "--quiet"])
    supervisor.start()
    try:
        _Gunicorn().run()
    finally:
        supervisor.stop()


@main.command()
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 32))
@click.option("--quiet", is_flag=True, help="Log warnings only.")
def worker(threads: int, quiet: bool) -> None:
    """Run the background worker: source captures and periodic re-checks."""
    import logging

    from huey.consumer import Consumer

    from service.ops import jobs, logs

    settings = _settings()
    logs.configure(settings)  # JSON lines with secrets masked, as the web workers write them
    if quiet:
        logging.getLogger().setLevel(logging.WARNING)
    jobs.configure(settings)
    if not quiet:
        click.echo(
            f"Factdesk worker: {threads} threads, queue in "
            f"{'Redis' if settings.redis_url else settings.data_dir / 'jobs.db'}"
        )
    stop = threading.Event()
    jobs.keep_beating(stop)  # /readyz tells queued jobs without a live worker
    try:
        # Locks in the queue's SQLite file never expire: this worker, the only reader of that
        # file, clears what a predecessor that died left held. Redis's locks expire instead.
        flush = not settings.redis_url
        Consumer(jobs.huey, workers=threads, worker_type="thread", periodic=True, flush_locks=flush).run()
    finally:
        stop.set()


@main.group()
def sources() -> None:
    """Primary sources."""


@sources.command("recheck")
@click.option("--all", "everything", is_flag=True, help="Every URL source, not only those due.")
def sources_recheck(everything: bool) -> None:
    """Queue a capture of the sources due for a check (or of all of them)."""
    from datetime import timedelta

    from service.ops import jobs

    settings = _settings()
    _migrate(settings)
    jobs.configure(settings)
    count = jobs.recheck_sources(timedelta(0) if everything else None)
    click.echo(
        f"Queued {count} source{'s' if count != 1 else ''} for capture; "
        "the worker (`factdesk worker`, or the one `factdesk serve` runs) captures them."
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema."""
    settings = _settings()
    _migrate(settings)
    click.echo(f"Database is up to date: {_redacted(settings.sqlalchemy_url)}")


@db.command("copy")
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="The new, empty PostgreSQL database: postgresql://USER:PASSWORD@HOST:PORT/NAME.",
)
@click.option(
    "--blobs-to",
    metavar="URL",
    help="The new blob store (file:///path or s3://bucket/prefix) [default: this desk's own, "
    "whose blobs are then only verified].",
)
def db_copy(target_url: str, blobs_to: str | None) -> None:
    """Copy every row and blob of this desk into an empty PostgreSQL database, and verify the copy.

    The target is migrated first; the rows are committed only once their counts and every claim's
    history hold there, so an interrupted copy leaves it empty and can simply be run again.
    """
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    import service.app  # noqa: F401 - every model's table, as the app registers them
    from service.ops.dbcopy import CopyError, copy_desk
    from sources.blobs import StoreUnavailable, open_store

    if not target_url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        raise click.ClickException("--to must name a PostgreSQL database: postgresql://USER@HOST:PORT/NAME.")
    settings = _settings()
    try:
        source_blobs = open_store(settings.blob_url, settings)
        target_blobs = open_store(blobs_to, settings) if blobs_to and blobs_to != settings.blob_url else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    source = make_engine(settings.sqlalchemy_url, pool_size=1)
    target = make_engine(target_url, pool_size=1)
    try:
        report = copy_desk(
            source,
            target,
            SQLModel.metadata,
            source_blobs=source_blobs,
            target_blobs=target_blobs,
            on_progress=click.echo,
        )
    except CopyError as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreUnavailable as exc:
        raise click.ClickException(f"A blob store does not answer: {exc}. Nothing was committed.") from exc
    except sa.exc.DBAPIError as exc:  # unreachable, refused, or changed under the copy
        raise click.ClickException(
            f"Cannot use a database: {str(exc.orig).strip()}\nIf the copy had begun, nothing was committed."
        ) from exc
    finally:
        source.dispose()
        target.dispose()
    for line in report.inherited:
        click.echo(f"Copied as it was here: {line}", err=True)
    click.echo(
        f"Copied {sum(report.rows.values())} rows of {len(report.rows)} tables and "
        f"{report.blobs_copied} blobs. Verified: every table's row count, {report.histories} "
        f"histories recomputed, {report.blobs_verified} blobs' SHA-256."
    )
    click.echo(
        f"Run the desk on it with FACTDESK_DATABASE_URL={_redacted(target_url)}"
        + (f" and FACTDESK_BLOB_URL={blobs_to}" if target_blobs is not None else "")
    )


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does, e.g. 'add extractions'.")
def db_revision(message: str) -> None:
    """Write the next migration from what the models have that the database lacks (for contributors)."""
    settings = _settings()
    engine = make_engine(settings.sqlalchemy_url)
    try:
        written = revision(engine, message)
    finally:
        engine.dispose()
    if written is None:
        click.echo("The models and the migrations agree: nothing to write.")
        return
    click.echo(f"Wrote {written}\nRead it before committing: autogenerate cannot see renames.")


@main.group()
def history() -> None:
    """Claims' hash-chained histories."""


@history.command("verify")
@click.argument("claim_id", required=False)
def history_verify(claim_id: str | None) -> None:
    """Check every claim's history (or CLAIM_ID's): each event's hash and link, the chain's end
    against the head its claim names, and each approval against the verdict it published."""
    from service.ops.audit import verify_histories

    settings = _settings()
    with _session(settings) as session:
        checked, broken = verify_histories(
            session, claim_id, on_broken=lambda line: click.echo(line, err=True)
        )
    if claim_id is not None and checked == 0:
        raise click.ClickException(f"No claim {claim_id!r}.")
    if broken:
        raise click.ClickException(f"{broken} of {checked} histories do not hold (listed above).")
    click.echo(f"All {checked} histories hold.")


@main.group()
def users() -> None:
    """People who use the desk."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option(
    "--password",
    "with_password",
    is_flag=True,
    help="Also set a password for the reviewer desk: asked for twice, or one line read from stdin.",
)
def users_add(name: str, role: str, with_password: bool) -> None:
    """Add a user and print their first API token (shown only this once)."""
    from service.accounts.signin import SignInService

    password = _read_password() if with_password else None
    settings = _settings()
    _migrate(settings)
    with _session(settings) as session:
        service = UserService(session)
        try:
            user = service.add(name, role)
            token = service.issue_token(user)
            if password is not None:
                SignInService(session).set_password(user, password)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()
    click.echo(f"Added {user.name} ({user.id}) as {role}.")
    click.echo(f"Token (shown once, keep it secret): {token}")
    if password is not None:
        click.echo(f"Password set: {user.name} can sign in to the reviewer desk at /desk.")


@users.command("list")
def users_list() -> None:
    """Everyone, by name: role, status and last activity (token use or desk sign-in)."""
    settings = _settings()
    with _session(settings) as session:
        people = UserService(session).people()
    if not people:
        click.echo("No users yet: factdesk users add NAME --role admin")
        return
    rows = [
        (
            p.user.name,
            p.user.role,
            "disabled" if p.user.disabled_at else "active",
            _when(p.last_active_at) if p.last_active_at else "never",
        )
        for p in people
    ]
    _table(("NAME", "ROLE", "STATUS", "LAST ACTIVE"), rows)


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice([role.value for role in Role]))
def users_set_role(name: str, role: str) -> None:
    """Give NAME another ROLE (the last active admin stays one)."""
    with _user_change(name) as (service, user):
        service.set_role(user, role)
    click.echo(f"{name} is now {role}.")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable NAME: their tokens and desk sessions stop at once (`users enable` lets them back)."""
    with _user_change(name) as (service, user):
        service.set_disabled(user, True)
    click.echo(f"{name} is disabled: their tokens and desk sessions no longer work.")


@users.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Let a disabled NAME back in (their tokens work again; they sign in to the desk afresh)."""
    with _user_change(name) as (service, user):
        service.set_disabled(user, False)
    click.echo(f"{name} is enabled again.")


@contextmanager
def _user_change(name: str) -> Iterator[tuple[UserService, User]]:
    """The user named, to change in one transaction; domain refusals become clear CLI errors."""
    settings = _settings()
    with _session(settings) as session:
        service = UserService(session)
        try:
            yield service, service.find(name)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        click.echo(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@users.command("passwd")
@click.argument("name")
def users_passwd(name: str) -> None:
    """Set NAME's desk password (asked for twice, or one line from stdin); it also lifts a lock-out."""
    from service.accounts.signin import SignInService

    password = _read_password()
    settings = _settings()
    with _session(settings) as session:
        try:
            user = UserService(session).find(name)
            SignInService(session).set_password(user, password)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()
    click.echo(f"Password set for {user.name}; their other desk sessions are signed out.")


def _read_password() -> str:
    """A new desk password: typed twice at a terminal, or one line of stdin (never an argument,
    which other users could read in the process list or shell history)."""
    from service.accounts.signin import SignInService

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        SignInService.check_password(password)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    return password


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("user")
def tokens_create(user: str) -> None:
    """Issue another token for USER (name or id); it is shown only this once."""
    settings = _settings()
    with _session(settings) as session:
        service = UserService(session)
        try:
            token = service.issue_token(service.find(user))
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()
    click.echo(f"Token (shown once, keep it secret): {token}")


@tokens.command("list")
@click.argument("user")
def tokens_list(user: str) -> None:
    """USER's tokens (name or id), newest first, by prefix: never the whole token."""
    settings = _settings()
    with _session(settings) as session:
        service = UserService(session)
        try:
            found = service.tokens(service.find(user))
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
    if not found:
        click.echo(f"{user} has no tokens: factdesk tokens create {user}")
        return
    rows = [
        (
            t.prefix + "…",
            _when(t.created_at),
            _when(t.last_used_at) if t.last_used_at else "never",
            f"revoked {_when(t.revoked_at)}" if t.revoked_at else "live",
        )
        for t in found
    ]
    _table(("TOKEN", "CREATED", "LAST USED", "STATUS"), rows)


@tokens.command("revoke")
@click.argument("token_prefix")
def tokens_revoke(token_prefix: str) -> None:
    """Revoke the token starting with TOKEN_PREFIX (its first 12 characters, or all of it)."""
    settings = _settings()
    with _session(settings) as session:
        try:
            count = UserService(session).revoke(token_prefix)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        session.commit()
    if count == 0:
        raise click.ClickException("No live token starts with that prefix.")
    click.echo(f"Revoked {count} token{'s' if count != 1 else ''}.")


@main.command()
def demo() -> None:
    """Load the example desk: claims from a real report on a U.N. resolution."""
    from service.ops.demo import load_demo

    settings = _settings()
    _migrate(settings)
    with _session(settings) as session:
        result = load_demo(session, settings)
        session.commit()
    click.echo(f"Demo desk loaded: {result.created} new claims, {result.existing} already there.")
    click.echo(
        "With `factdesk serve` running (http://127.0.0.1:8000 by default):\n"
        "  published fact-checks, their pages (/c/…) and badges (/badges/….svg): /claimreview.json\n"
        "  the reviewer desk: /desk (sign in as a user made with `factdesk users add NAME --role "
        "reviewer --password`)\n"
        "  the whole desk over the API: curl -H 'Authorization: Bearer fdk_…' /api/v1/claims"
    )


def _forget_worker_metrics(_server: object, worker: Any) -> None:
    """gunicorn's child_exit hook: drop a dead web worker's live gauges from /metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped upstream


def _redacted(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    main()
