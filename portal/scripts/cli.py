"""The `portal` command: portal SUBCOMMAND CONFIG [options].

Each subcommand boots the application from the .ini (pyramid.paster.bootstrap) and runs
inside one transaction spanning ZODB and SQL, like a request.
"""

import argparse
import contextlib
import getpass
import os
import sys

import zc.lockfile
from pyramid.paster import bootstrap, setup_logging

from portal.security import Role


class CommandError(Exception):
    """Raised inside a command's transaction: it is aborted and the message printed."""


@contextlib.contextmanager
def _env(config_uri):
    """The bootstrapped app; its databases are closed on the way out."""
    setup_logging(config_uri)
    env = bootstrap(config_uri)
    registry = env["registry"]
    try:
        with env:
            yield env
    finally:
        registry.zodb.close()
        registry.sql_engine.dispose()


def cmd_migrate(args):
    from portal.services.setup import migrate, mirror_units

    with _env(args.config) as env:
        migrate(env["registry"].sql_engine)
        request = env["request"]
        with request.tm:
            mirror_units(request.zodb.root(), request.dbsession)
    print("SQL schema is at the newest revision.")


def cmd_evolve(args):
    from portal.services.setup import ensure_site, mirror_units

    with _env(args.config) as env, env["request"].tm:
        site, applied = ensure_site(env["request"].zodb.root())
        mirror_units(env["request"].zodb.root(), env["request"].dbsession)
        _current_aggregates(env["request"], site)
    print(f"Applied evolve steps: {', '.join(applied)}" if applied else "ZODB is up to date.")


def _current_aggregates(request, site) -> None:
    """Rebuild the report aggregates when the steps changed what they are kept for."""
    from portal.services import aggregates

    count = aggregates.ensure_current(
        request.dbsession,
        site,
        request.registry,
        progress=lambda n: print(f"{n:,} records read", file=sys.stderr),
    )
    if count is not None:
        print(f"Rebuilt the report aggregates from {count:,} submissions.")


def cmd_init(args):
    from portal.services.setup import ensure_site, migrate, mirror_units, populate

    with _env(args.config) as env:
        migrate(env["registry"].sql_engine)
        request = env["request"]
        with request.tm:
            site, _applied = ensure_site(request.zodb.root())
            for line in populate(site, demo=args.demo):
                print(line)
            mirror_units(request.zodb.root(), request.dbsession)
            _current_aggregates(request, site)
            if args.demo:
                from portal.demo_data import DemoDataError, fill_demo

                try:
                    print(fill_demo(request) or "Demo submissions are there already.")
                except DemoDataError as e:
                    raise CommandError(f"demo submissions: {e}") from None
    print("Initialised.")


def cmd_user_add(args):
    from portal import audit
    from portal.services.accounts import create_account, grant_role

    password = _read_password(args)
    with _env(args.config) as env:
        request = env["request"]
        with request.tm:
            site = request.root_site
            unit = site.unit_by_code(args.org)
            if unit is None:
                raise CommandError(f"no organisation unit with code {args.org}")
            try:
                account = create_account(
                    site, args.login, args.name or args.login, args.org, password
                )
                grant_role(account, args.role, unit)
            except ValueError as e:
                raise CommandError(request.localizer.translate(e.args[0])) from None
            audit.record(
                request,
                "account.create",
                target=args.login,
                unit=unit,
                detail={"actor": "cli", "role": args.role},
            )
    print(f"Created {args.login} with role {args.role} at {args.org}.")


def cmd_two_factor_reset(args):
    """The operator's way out when no security administrator can remove a second factor
    (the only one lost their phone and recovery codes)."""
    from portal import audit
    from portal.services import two_factor
    from portal.services.accounts import end_sessions

    with _env(args.config) as env:
        request = env["request"]
        with request.tm:
            account = request.root_site["accounts"].get(args.login)
            if account is None:
                raise CommandError(f"no account {args.login}")
            two_factor.reset(account)
            ended = end_sessions(request.dbsession, account.login)
            audit.record(
                request,
                "account.two_factor.reset",
                target=account.login,
                unit=request.root_site.unit_by_code(account.org),
                detail={"actor": "cli", "sessions_ended": ended},
            )
    print(f"Removed the second factor of {args.login}: they set it up again at their next login.")


def _read_password(args) -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\n")


def cmd_orgs_import(args):
    from portal.services import orgtree

    try:
        f = open(args.file, "rb")  # closed by the with below
    except OSError as e:
        raise CommandError(f"cannot read {args.file}: {e.strerror}") from None
    with f, _env(args.config) as env:
        request = env["request"]
        with request.tm:
            result = orgtree.import_file(request, f, args.file, actor="cli")
            if result.errors:
                for error in result.errors:
                    print(request.localizer.translate(error), file=sys.stderr)
                raise CommandError(
                    f"nothing imported: {len(result.errors)} problem(s) in {args.file}"
                )
    print(
        f"Imported {result.created} new and {result.updated} changed units "
        f"({result.unchanged} unchanged)."
    )


def cmd_form_import(args):
    from portal import audit
    from portal.i18n import forms_language
    from portal.services import forms as form_service

    try:
        f = open(args.file, "rb")  # closed by the with below
    except OSError as e:
        raise CommandError(f"cannot read {args.file}: {e.strerror}") from None
    with f, _env(args.config) as env:
        request = env["request"]
        language = forms_language(request)
        with request.tm:
            site = request.root_site
            outcome = form_service.import_xlsform(site, f.read(), args.file)
            for warning in outcome.warnings:
                print(f"warning: {warning.render(language)}", file=sys.stderr)
            if not outcome.ok:
                for error in outcome.errors:
                    print(error.render(language), file=sys.stderr)
                raise CommandError(
                    f"nothing imported: {len(outcome.errors)} problem(s) in {args.file}"
                )
            form = outcome.form
            name, number = form.name, form.next_number
            for change in outcome.changes:
                if change.data_loss:
                    print(f"warning: {change.message.render(language)}", file=sys.stderr)
            scope = form_service.forms_folder(site).org_scope()
            audit.record(
                request,
                "form.import",
                target=form.name,
                unit=scope,
                detail={"actor": "cli", "version": number, "created": outcome.created},
            )
            if args.publish:
                try:
                    form_service.publish(form, "cli")
                except form_service.PublishRefused as refused:
                    for problem in refused.problems:
                        where = ".".join(p for p in (problem.field, problem.attribute) if p)
                        text = problem.message.render(language)
                        print(f"{where}: {text}" if where else text, file=sys.stderr)
                    raise CommandError(
                        f"nothing imported: {form.name} cannot be published "
                        f"({len(refused.problems)} problem(s))"
                    ) from None
                audit.record(
                    request,
                    "form.publish",
                    target=form.name,
                    unit=scope,
                    detail={"actor": "cli", "version": number},
                )
    state = "published" if args.publish else "saved as a draft"
    print(f"{name} version {number} {state}.")


def cmd_form_export(args):
    from forms.xlsform import export_xlsform
    from portal.services.forms import get_form

    with _env(args.config) as env:
        request = env["request"]
        with request.tm:
            form = get_form(request.root_site, args.name)
            if form is None:
                raise CommandError(f"no form named {args.name}")
            version = form.latest if args.version is None else form.version(args.version)
            if version is None:
                raise CommandError(
                    f"{args.name} has no published version {args.version or ''}".rstrip()
                )
            data, number = export_xlsform(version.definition()), version.number
    try:
        with open(args.output, "wb") as f:
            f.write(data)
    except OSError as e:
        raise CommandError(f"cannot write {args.output}: {e.strerror}") from None
    print(f"Wrote {args.name} version {number} to {args.output}.")


def cmd_demo_data(args):
    import time

    from sqlalchemy.exc import IntegrityError

    from portal import demo_data

    with _env(args.config) as env:
        request = env["request"]
        with request.tm:
            serials, surveyed = demo_data.existing(request.dbsession.connection())
            try:
                plan = demo_data.make_plan(
                    request.root_site,
                    args.records,
                    seed=args.seed,
                    org=args.org,
                    months=args.months,
                    serials=serials,
                    surveyed=surveyed,
                )
            except demo_data.DemoDataError as e:
                raise CommandError(str(e)) from None
        for name, reason in plan.skipped.items():
            print(f"skipped {name}: {reason}", file=sys.stderr)
        workers = args.workers
        if workers is None:  # worth their start-up only for big runs
            workers = min(os.cpu_count() or 1, 4) if args.records >= 50_000 else 0
        start = time.perf_counter()
        # Outside the request's transaction: commits every 100 000 rows keep a long run's
        # work and its memory bounded.
        from portal.services import record_changes

        site = request.root_site
        progress = demo_data.Progress(plan.expected)  # the population's expected records
        with env["registry"].sql_engine.connect() as connection:
            try:
                rows = demo_data.write(
                    connection,
                    demo_data.batches(plan, workers),
                    commit_every=100_000,
                    progress=progress,
                    written=record_changes.bulk_writer(connection, site, env["registry"]),
                )
                progress.finish(rows)
                demo_data.write_references(connection, plan)
                connection.commit()
            except IntegrityError:
                raise CommandError(
                    f"records made with seed {plan.seed} are there already: choose another seed"
                ) from None
            except demo_data.DemoDataError as e:
                raise CommandError(str(e)) from None
    elapsed = time.perf_counter() - start
    rate = rows / elapsed if elapsed else 0.0
    print(
        f"Added {rows:,} demo submissions (seed {plan.seed}) in {elapsed:.1f}s, {rate:,.0f} rows/s."
    )


def cmd_attachments_clean(args):
    from portal.housekeeping import clean_attachments

    with _env(args.config) as env:
        removed = clean_attachments(env["registry"].zodb)
    print(
        f"Removed {removed} lapsed uploads that no submission refers to. "
        "Their space is freed when the ZODB is next packed (portal pack)."
    )


def cmd_pack(args):
    from portal.housekeeping import pack

    if args.days < 0:
        raise CommandError("--days cannot be negative")
    with _env(args.config) as env:
        pack(env["registry"].zodb, args.days)
    print(f"Packed the ZODB, keeping {args.days:g} days of history.")


def cmd_reports_rebuild(args):
    from portal.services import aggregates

    with _env(args.config) as env:
        request = env["request"]
        with request.tm:
            catalogue = aggregates.catalogue_of(request.root_site, request.registry)
            count = aggregates.rebuild(
                request.dbsession,
                catalogue,
                progress=lambda n: print(f"{n:,} records read", file=sys.stderr),
            )
    print(f"Rebuilt the report aggregates from {count:,} submissions.")


def cmd_reports_check(args):
    from portal.services import aggregates

    with _env(args.config) as env:
        request = env["request"]
        # Read only: aborted whatever happens (an abort inside `with request.tm` left the
        # context manager nothing to commit, and it raised NoTransaction).
        request.tm.begin()
        try:
            catalogue = aggregates.catalogue_of(request.root_site, request.registry)
            found = aggregates.differences(request.dbsession, catalogue)
        finally:
            request.tm.abort()
    for line in found[:200]:
        print(line)
    if found:
        print(f"{len(found)} aggregates differ from a full recomputation.", file=sys.stderr)
        return 1
    print("The report aggregates agree with a full recomputation.")
    return 0


def cmd_check(args):
    from portal.services import consistency

    with _env(args.config) as env:
        report = consistency.check_all(
            env["request"], repair=args.repair, with_aggregates=not args.no_aggregates
        )
    for line in report.lines:
        print(line)
    for name, count in report.repaired.items():
        print(f"repaired: {name} {count:,}")
    if report.problems and not args.repair:
        print(
            f"{report.problems:,} disagreements between ZODB and SQL; "
            "`portal check --repair` puts them right.",
            file=sys.stderr,
        )
        return 1
    print("ZODB and SQL agree." if not report.problems else "Repaired.")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="portal", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, func, help):
        c = sub.add_parser(name, help=help)
        c.add_argument("config", help="the .ini file, e.g. development.ini")
        c.set_defaults(func=func)
        return c

    init = command(
        "init", cmd_init, "create or upgrade storage; load the divisions and the shipped forms"
    )
    init.add_argument(
        "--demo",
        action="store_true",
        help="also load demo units, accounts and synthetic submissions",
    )
    command("migrate", cmd_migrate, "upgrade the SQL schema (Alembic)")
    command("evolve", cmd_evolve, "apply pending ZODB evolve steps")
    user = command("user-add", cmd_user_add, "add an account (password read from stdin)")
    user.add_argument("login")
    user.add_argument("--role", required=True, choices=[role.value for role in Role])
    user.add_argument("--org", required=True, help="code of the unit the role is granted at")
    user.add_argument("--name", help="display name (default: the login)")
    reset = command(
        "two-factor-reset",
        cmd_two_factor_reset,
        "remove an account's second factor (it sets one up again at its next login)",
    )
    reset.add_argument("login")
    orgs = command("orgs-import", cmd_orgs_import, "import org units from CSV or XLSX")
    orgs.add_argument("file")
    form_import = command(
        "form-import",
        cmd_form_import,
        "import an XLSForm: a new form, or a new draft of an existing one",
    )
    form_import.add_argument("file")
    form_import.add_argument(
        "--publish",
        action="store_true",
        help="publish it as the next version (nothing is saved if it cannot be)",
    )
    form_export = command(
        "form-export", cmd_form_export, "write a published version of a form as an XLSForm"
    )
    form_export.add_argument("name")
    form_export.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
    form_export.add_argument("--version", type=int, help="the version (default: the latest)")
    demo = command(
        "demo-data",
        cmd_demo_data,
        "add synthetic submissions of the published shipped forms (no real data)",
    )
    demo.add_argument("--records", type=int, required=True, help="how many to add")
    demo.add_argument(
        "--seed", type=int, help="makes the records reproducible (default: a random seed, printed)"
    )
    demo.add_argument("--org", help="only at units under this one (default: the whole tree)")
    demo.add_argument(
        "--months",
        type=int,
        default=24,
        help="spread over this many months up to today (default: 24)",
    )
    demo.add_argument(
        "--workers",
        type=int,
        help="processes generating records while this one writes "
        "(default: one per CPU, up to 4, from 50 000 records)",
    )
    command(
        "attachments-clean",
        cmd_attachments_clean,
        "remove lapsed uploads that no submission refers to (run it daily)",
    )
    check = command(
        "check",
        cmd_check,
        "check that ZODB and SQL agree (paths, attachments, report aggregates, transactions "
        "a crash interrupted); exit 1 if they do not",
    )
    check.add_argument(
        "--repair", action="store_true", help="put right what disagrees (with an audit row)"
    )
    check.add_argument(
        "--no-aggregates",
        action="store_true",
        help="skip the recomputation of the report aggregates (the slow part)",
    )
    command(
        "reports-rebuild",
        cmd_reports_rebuild,
        "recompute every report aggregate from the submissions",
    )
    command(
        "reports-check",
        cmd_reports_check,
        "compare the kept report aggregates with a full recomputation (exit 1 if they differ)",
    )
    pack = command(
        "pack",
        cmd_pack,
        "pack the ZODB: drop old object revisions and what nothing refers to (removed "
        "uploads' files included)",
    )
    pack.add_argument(
        "--days",
        type=float,
        default=7.0,
        help="keep this many days of history (default 7)",
    )
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except zc.lockfile.LockError:
        print(
            "error: the embedded database (FileStorage) is open in another process, most "
            "likely the running portal. Stop it first; or, for lapsed uploads and packing, "
            "set portal.housekeeping_hours and let the portal do them itself.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
