"""``pedbot`` command line: run, migrate, check, demo, schools, catalog, roles, export."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import FIXES, ConfigError, Settings, load_settings, settings_or_exit
from models import RoleName
from models.db import is_sqlite, make_engine, make_sessionmaker

T = TypeVar("T")


def _print(text: str) -> None:
    print(text, flush=True)


def _fail(text: str, code: int = 1) -> None:
    print(text, file=sys.stderr, flush=True)
    raise SystemExit(code)


# Loggers that would write personal data at DEBUG or INFO: SQLAlchemy's engine logs
# statements and result rows, aiosqlite the calls with their arguments. They stay at WARNING
# whatever LOG_LEVEL says (SQL parameters are hidden from their messages as well).
QUIET_LOGGERS = ("sqlalchemy", "aiosqlite", "asyncpg")


def quiet_loggers() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_loggers()


def prepare_database(settings: Settings) -> None:
    """SQLite migrates itself; PostgreSQL must be migrated explicitly by ``pedbot migrate``."""
    from bot.migrate import is_up_to_date, upgrade

    if is_sqlite(settings.database_url):
        upgrade(settings.database_url)
        return

    async def _check() -> bool:
        engine = make_engine(settings.database_url)
        try:
            return await is_up_to_date(engine)
        finally:
            await engine.dispose()

    try:
        ok = asyncio.run(_check())
    except (OSError, ConnectionError) as exc:
        _fail(
            f"Не удаётся подключиться к базе данных ({type(exc).__name__}). Проверьте DATABASE_URL.",
            2,
        )
        return
    if not ok:
        _fail(
            "База данных PostgreSQL не подготовлена или устарела. Выполните: pedbot migrate",
            2,
        )


def with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def _main() -> T:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


# ---------- commands ----------


def cmd_run(args: argparse.Namespace) -> None:
    settings = settings_or_exit(require_token=True)
    setup_logging(settings.log_level)
    prepare_database(settings)
    from bot.runner import TokenRejected, run_polling

    try:
        asyncio.run(run_polling(settings))
    except TokenRejected:
        _fail(
            f"Сервер Bot API ({settings.telegram_api_url}) отклонил BOT_TOKEN: проверьте токен у @BotFather.",
            2,
        )


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    setup_logging(settings.log_level)
    from bot.migrate import upgrade

    upgrade(settings.database_url)
    _print("Миграции применены.")


def cmd_check(args: argparse.Namespace) -> None:
    from surveys.loader import INSTRUMENTS_DIR, InstrumentError, load_instruments

    errors = 0
    try:
        settings = load_settings()
        _print("Настройки: в порядке.")
        for name in settings.operator_missing():
            print(
                f"Предупреждение: не задан {name} — {FIXES[name]}. Без него текст согласия "
                "на обработку персональных данных не называет оператора полностью.",
                file=sys.stderr,
            )
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        errors += 1
    directory = Path(args.instruments) if args.instruments else INSTRUMENTS_DIR
    try:
        found = load_instruments(directory)
    except InstrumentError as exc:
        for problem in exc.problems:
            print(f"Ошибка в анкете {problem}", file=sys.stderr)
        errors += len(exc.problems)
    else:
        for inst in found.values():
            _print(
                f"Анкета {inst.id} (версия {inst.version}, вопросов: {len(inst.questions)}): в порядке."
            )
        if not found:
            print(f"В папке {directory} нет файлов анкет (*.yaml).", file=sys.stderr)
            errors += 1
    if errors:
        raise SystemExit(1)


def cmd_demo(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    setup_logging(settings.log_level)
    prepare_database(settings)
    from services.demo import DemoError, DemoReport, fill_demo
    from services.instruments import sync_instruments
    from surveys.loader import load_instruments

    async def work(session: AsyncSession) -> DemoReport:
        registry = await sync_instruments(session, load_instruments())
        return await fill_demo(session, registry, seed=args.seed, teachers=args.teachers)

    try:
        report = with_session(settings, work)
    except DemoError as exc:
        _fail(str(exc))
        return
    r = report  # a services.demo.DemoReport
    _print(
        "Демо-данные созданы: "
        f"организаций {r.schools}, педагогов {r.teachers} (молодых {r.young}), "
        f"заполненных анкет {r.attempts_completed} (начатых {r.attempts_in_progress}), "
        f"программ в каталоге {r.catalog_items}, записанных курсов {r.courses}, "
        f"маршрутов: сохранённых {r.routes_active}, черновиков {r.routes_draft}."
    )
    _print(r.mentoring_line())


def cmd_schools_import(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from services.schools import import_schools

    path = Path(args.file)
    if not path.is_file():
        _fail(f"Файл не найден: {path}")

    report = with_session(settings, lambda s: import_schools(s, path))
    for err in report.errors:
        print(f"Строка {err.row}, столбец «{err.column}»: {err.message}", file=sys.stderr)
    _print(
        f"Школ добавлено: {report.created}, обновлено: {report.updated}, строк с ошибками: {len(report.errors)}."
    )
    if report.errors:
        raise SystemExit(1)


def cmd_catalog_import(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from services.catalog import import_catalog

    path = Path(args.file)
    if not path.is_file():
        _fail(f"Файл не найден: {path}")

    report = with_session(settings, lambda s: import_catalog(s, path, replace=args.replace))
    for err in report.errors:
        if err.row:
            print(f"Строка {err.row}, столбец «{err.column}»: {err.message}", file=sys.stderr)
        else:
            print(f"Файл: {err.message}", file=sys.stderr)
    if report.replace_skipped:
        print(
            "В файле есть ошибки: программы, которых нет в файле, не сняты с публикации.",
            file=sys.stderr,
        )
    _print(
        f"Программ добавлено: {report.created}, обновлено: {report.updated}, "
        f"без изменений: {report.unchanged}, снято с публикации: {report.deactivated}, "
        f"строк с ошибками: {report.error_rows}."
    )
    if report.errors:
        raise SystemExit(1)


def cmd_catalog_export(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from services.catalog import EXPORT_SUFFIXES, export_catalog

    path = Path(args.file)
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        _fail(f"Укажите файл с расширением .xlsx или .csv, а не «{path.name}».")
    if not path.parent.is_dir():
        _fail(f"Папки нет: {path.parent}")
    n = with_session(settings, lambda s: export_catalog(s, path))
    _print(f"Программ выгружено: {n}, файл: {path}.")


def _scope_kwargs(args: argparse.Namespace) -> dict[str, object]:
    return {
        "school_code": args.school,
        "municipality_code": args.municipality,
        "region": args.region,
    }


def cmd_roles(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from services import roles

    if args.roles_command == "list":
        lines = with_session(settings, roles.list_roles)
        for line in lines:
            target = f" {line.target}" if line.target else ""
            _print(f"{line.telegram_id}\t{line.role}\t{line.scope}{target}")
        for admin in sorted(settings.admin_ids):
            _print(f"{admin}\tadmin\t(ADMIN_IDS)")
        if not lines and not settings.admin_ids:
            _print("Ролей пока нет.")
        return
    role = RoleName(args.role)
    try:
        if args.roles_command == "grant":
            with_session(
                settings, lambda s: roles.grant(s, args.telegram_id, role, **_scope_kwargs(args))
            )  # type: ignore[arg-type]
            _print(f"Роль {role.value} выдана пользователю {args.telegram_id}.")
        else:
            n = with_session(
                settings, lambda s: roles.revoke(s, args.telegram_id, role, **_scope_kwargs(args))
            )  # type: ignore[arg-type]
            _print(f"Снято ролей: {n}.")
    except roles.RoleError as exc:
        _fail(f"Ошибка: {exc}", 2)


def cmd_facts(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from services import facts

    if args.facts_command == "rebuild":
        r = with_session(settings, facts.rebuild)
        _print(
            f"Сохранённые показатели пересчитаны: педагогов с маршрутом, курсом или парой "
            f"{r.teachers}, счётчиков результатов {r.counters}."
        )
        return
    lines = with_session(settings, facts.drift)
    if not lines:
        _print("Сохранённые показатели совпадают с пересчётом.")
        return
    for line in lines:
        _print(line)
    _fail("Сохранённые показатели расходятся с пересчётом: выполните «pedbot facts rebuild».")


def cmd_export_indicators(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from models import utcnow
    from services.digest import Export, ExportError, export_table

    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.is_dir():
        _fail(f"Папки нет: {out.parent}")

    async def work(session: AsyncSession) -> Export:
        return await export_table(
            session,
            scope=args.scope,
            fmt=args.format,
            now=utcnow(),
            settings=settings,
            period=args.period,
        )

    try:
        export = with_session(settings, work)
    except ExportError as exc:
        _fail(f"Ошибка: {exc}", 2)
        return
    path = out or Path(export.filename)
    path.write_bytes(export.data)
    _print(
        f"Показатели выгружены: {export.scope_name}, {export.period}, "
        f"организаций: {export.schools}, файл: {path}."
    )


def cmd_export_report(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    prepare_database(settings)
    from datetime import date, datetime

    from bot.i18n import Translator
    from services.indicators import academic_year, load_plans
    from services.report import report_for, resolve_scope
    from services.report_rules import RulesError, default_rules, load_rules

    try:
        rules = load_rules(args.rules) if args.rules else default_rules()
    except RulesError as exc:
        _fail(str(exc))
        return
    now = datetime.now(settings.tz)
    today = now.date()
    if args.period:
        first, _, second = args.period.partition("/")
        if not (first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
            _fail(f"Учебный год указывается так: 2026/2027, а не «{args.period}».")
        year = academic_year(date(int(first), 9, 1))
        if year.start > today:
            _fail(f"Учебный год {args.period} ещё не начался.")
        if year.end < today:
            today = year.end
            now = datetime.combine(today, datetime.max.time(), tzinfo=settings.tz)
    out = Path(args.out) if args.out else Path(f"spravka-{args.scope.replace(':', '-')}.docx")
    if out.suffix.lower() != ".docx":
        _fail(f"Укажите файл с расширением .docx, а не «{out.name}».")
    if not out.parent.is_dir():
        _fail(f"Папки нет: {out.parent}")
    t = Translator("ru", tz=settings.tz)
    plans = load_plans(settings.indicator_plans)

    async def work(session: AsyncSession) -> bytes:
        key = await resolve_scope(session, args.scope)
        return await report_for(session, key, today, now, plans, t=t, rules=rules)

    try:
        data = with_session(settings, work)
    except ValueError as exc:
        _fail(f"Ошибка: {exc}.", 2)
        return
    out.write_bytes(data)
    _print(f"Аналитическая справка сохранена: {out}.")


def _export_commands(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The ``export`` command's own subcommands (made once, shared by every export)."""
    export = sub.choices.get("export")
    if export is None:
        export = sub.add_parser("export", help="выгрузить показатели и справки в файлы")
        export.add_subparsers(dest="export_command", required=True)
    return next(a for a in export._actions if isinstance(a, argparse._SubParsersAction))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pedbot", description="Бот методической службы")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="запустить бота (long polling)").set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="применить миграции базы данных").set_defaults(func=cmd_migrate)
    check = sub.add_parser("check", help="проверить настройки и файлы анкет")
    check.add_argument("--instruments", help="папка с файлами анкет (по умолчанию встроенная)")
    check.set_defaults(func=cmd_check)
    demo = sub.add_parser("demo", help="заполнить пустую базу демонстрационными данными")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--teachers", type=int, default=400)
    demo.set_defaults(func=cmd_demo)

    schools = sub.add_parser("schools", help="справочник организаций")
    schools_sub = schools.add_subparsers(dest="schools_command", required=True)
    imp = schools_sub.add_parser("import", help="загрузить организации из CSV или XLSX")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_schools_import)

    catalog = sub.add_parser("catalog", help="каталог программ повышения квалификации")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    cimp = catalog_sub.add_parser("import", help="загрузить программы из CSV или XLSX")
    cimp.add_argument("file")
    cimp.add_argument(
        "--replace",
        action="store_true",
        help="снять с публикации программы, которых нет в файле (если в файле нет ошибок)",
    )
    cimp.set_defaults(func=cmd_catalog_import)
    cexp = catalog_sub.add_parser("export", help="выгрузить каталог в XLSX или CSV")
    cexp.add_argument("file")
    cexp.set_defaults(func=cmd_catalog_export)

    roles = sub.add_parser("roles", help="роли методистов и администраторов")
    roles_sub = roles.add_subparsers(dest="roles_command", required=True)
    for name in ("grant", "revoke"):
        p = roles_sub.add_parser(name)
        p.add_argument("telegram_id", type=int)
        p.add_argument("role", choices=[r.value for r in RoleName])
        scope = p.add_mutually_exclusive_group()
        scope.add_argument("--school", metavar="CODE")
        scope.add_argument("--municipality", metavar="CODE")
        scope.add_argument("--region", action="store_true")
        p.set_defaults(func=cmd_roles)
    roles_sub.add_parser("list").set_defaults(func=cmd_roles)

    facts = sub.add_parser("facts", help="сохранённые данные для показателей")
    facts_sub = facts.add_subparsers(dest="facts_command", required=True)
    facts_sub.add_parser("rebuild", help="пересчитать из исходных записей").set_defaults(
        func=cmd_facts
    )
    facts_sub.add_parser("check", help="сравнить с пересчётом, ничего не меняя").set_defaults(
        func=cmd_facts
    )

    export = sub.add_parser("export", help="выгрузки")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    ind = export_sub.add_parser(
        "indicators", help="показатели по школам охвата в XLSX, CSV или JSON"
    )
    ind.add_argument(
        "--scope",
        required=True,
        metavar="ОХВАТ",
        help="school:КОД, municipality (единственный), municipality:КОД или region",
    )
    ind.add_argument("--format", required=True, choices=["xlsx", "csv", "json"])
    ind.add_argument("--out", metavar="ФАЙЛ", help="куда записать (по умолчанию — в текущую папку)")
    ind.add_argument("--period", metavar="2026/2027", help="учебный год (по умолчанию — текущий)")
    ind.set_defaults(func=cmd_export_indicators)

    report = _export_commands(sub).add_parser(
        "report", help="аналитическая справка по показателям (DOCX)"
    )
    report.add_argument(
        "--scope",
        required=True,
        metavar="SCOPE",
        help="school:КОД, municipality, municipality:КОД или region",
    )
    report.add_argument("--period", metavar="2026/2027", help="учебный год (по умолчанию текущий)")
    report.add_argument("--out", metavar="FILE", help="файл .docx")
    report.add_argument("--rules", metavar="FILE", help="свой файл правил рекомендаций (YAML)")
    report.set_defaults(func=cmd_export_report)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
