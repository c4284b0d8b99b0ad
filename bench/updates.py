"""Questionnaire answer taps through the whole bot, next to a bare aiogram Dispatcher.

Teachers answer the deficits self-assessment (its single-choice questions) by tapping answer
buttons. Each tap is a full update through the app's Dispatcher: every middleware, the
database, the questionnaire engine and the next question rendered; Telegram is a light
mocked Bot API session in this process. Each teacher waits for the reply before the next
tap; ``--concurrency`` taps (of different teachers) are in flight at a time.

The same taps go to a bare aiogram ``Dispatcher`` (no middleware, no database, aiogram's
default memory FSM storage) whose handler makes the same Bot API calls: editMessageText with a
question-sized text and the same keyboard shape, then answerCallbackQuery, through the same
mocked session class. The ratio project/bare is the share of aiogram's own speed the bot keeps.

The two alternate (project, bare, project, bare, ...) for ``--rounds`` rounds; then both get a
fixed offered load (open loop: one tap started every 1/``--rate`` seconds, whatever is still in
flight) for ``--seconds`` seconds. Each phase starts after a full garbage collection (not
timed), so it pays for its own garbage only; the collector's pauses inside it are printed.

    python bench/updates.py [--teachers 500] [--concurrency 20] [--rounds 3]
        [--taps-per-teacher 2] [--rate 300] [--seconds 5] [--database-url URL]

Goals: ratio project/bare >= 0.5 on SQLite and >= 0.4 on PostgreSQL; p99 <= 25 ms at
300 taps/s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml
from aiogram import Bot, Dispatcher, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy import func, select

from bench._common import (
    ROOT,
    BenchSession,
    GcPauses,
    LoggedErrors,
    Screen,
    add_teachers,
    button_with,
    buttons,
    callback_update,
    database_version,
    goal,
    load_average,
    machine_line,
    make_bot,
    median,
    message_update,
    ms,
    percentile,
    tap_label,
    use_database,
)
from bot.app import create_app, settle
from models import Answer
from models.db import make_engine
from tests.conftest import Clock, make_settings, reset_schema

INSTRUMENT_ID = "deficits"
SURVEYS_LABEL = "Анкеты"  # main menu: the questionnaires
BEGIN_LABEL = "Начать"  # the questionnaire's intro: begin
RATIO_GOAL = {"sqlite": 0.5, "postgresql": 0.4}
P99_GOAL = {"sqlite": 0.025}  # seconds, at GOAL_RATE offered
GOAL_RATE = 300.0
UNLIMITED = 10**9


# ---------------------------------------------------------------- the questionnaire


@dataclass(frozen=True)
class Questionnaire:
    button: str  # its button in the list of questionnaires
    questions: int  # single-choice questions: answer taps in one attempt
    answers: frozenset[str]  # labels of the answer options


def load_questionnaire(instrument_id: str = INSTRUMENT_ID) -> Questionnaire:
    """Read the instrument file, so answer buttons are recognised by their labels."""
    for path in sorted((ROOT / "surveys" / "instruments").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("id") != instrument_id:
            continue
        option_sets = data.get("option_sets") or {}
        labels: set[str] = set()
        count = 0
        for section in data["sections"]:
            for q in section["questions"]:
                if q.get("type") != "single":
                    raise RuntimeError(f"{path.name}: question {q.get('id')} is not single-choice")
                count += 1
                options = q.get("options") or option_sets[q["option_set"]]
                labels.update(str(o["label"]) for o in options)
        return Questionnaire(str(data["button"]), count, frozenset(labels))
    raise RuntimeError(f"no instrument file with id {instrument_id!r}")


# ---------------------------------------------------------------- one side: project or bare


@dataclass
class Side:
    """A Dispatcher with its Bot and mocked session, and the teachers' chats on it."""

    name: str
    dp: Dispatcher
    bot: Bot
    session: BenchSession
    answer_labels: frozenset[str]
    rng: random.Random
    left: dict[int, int] = field(default_factory=dict)  # answer taps left in the attempt
    answered: int = 0  # accepted answer taps
    rejected: int = 0  # taps answered with an alert, or with no edited message
    question_shown: Screen | None = None  # the last question a tap brought

    def is_answer(self, label: str) -> bool:
        return any(label.endswith(a) for a in self.answer_labels)

    def answer_choices(self, screen: Screen | None) -> list[str]:
        return [
            b.callback_data for b in buttons(screen) if b.callback_data and self.is_answer(b.text)
        ]

    async def tap(self, chat: int) -> float | None:
        """Tap an answer of the question on screen; the seconds the update took, or None
        when this chat shows no question."""
        screen = self.session.screens.get(chat)
        choices = self.answer_choices(screen)
        if screen is None or not choices:
            self.left[chat] = 0
            return None
        update = callback_update(self.bot, chat, screen, self.rng.choice(choices))
        edits = self.session.edits.get(chat, 0)
        alerts = self.session.alerts.get(chat, 0)
        start = time.perf_counter()
        await self.dp.feed_update(self.bot, update)
        elapsed = time.perf_counter() - start
        if self.session.edits.get(chat, 0) > edits and self.session.alerts.get(chat, 0) == alerts:
            self.answered += 1
            self.left[chat] -= 1
        else:
            self.rejected += 1
        shown = self.session.screens.get(chat)
        if self.answer_choices(shown):
            self.question_shown = shown
        else:
            self.left[chat] = 0  # the questionnaire is complete: results are on screen
        return elapsed


async def limited(jobs: Iterable[Callable[[], Awaitable[None]]], concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[None]]) -> None:
        async with sem:
            await job()

    await asyncio.gather(*(run(j) for j in jobs))


async def open_questionnaire(side: Side, chat: int, q: Questionnaire) -> None:
    """From anywhere to the first unanswered question: /menu, questionnaires, deficits,
    and «Начать» when the intro is shown. Every button is read from what the bot sent."""
    await side.dp.feed_update(side.bot, message_update(side.bot, chat, "/menu"))
    await tap_label(side.dp, side.bot, side.session, chat, SURVEYS_LABEL)
    await tap_label(side.dp, side.bot, side.session, chat, q.button)
    if button_with(side.session.screens.get(chat), BEGIN_LABEL) is not None:
        await tap_label(side.dp, side.bot, side.session, chat, BEGIN_LABEL)
    screen = side.session.screens.get(chat)
    if not side.answer_choices(screen):
        shown = [b.text for b in buttons(screen)]
        raise RuntimeError(f"chat {chat}: no question of {q.button!r} shown; buttons: {shown}")
    side.left[chat] = q.questions


async def refill(
    side: Side, chats: list[int], q: Questionnaire, clock: Clock, concurrency: int
) -> int:
    """Teachers who completed the questionnaire start a new attempt (the clock moves past the
    repeat interval). Returns how many did; outside any measured phase."""
    done = [c for c in chats if side.left.get(c, 0) <= 0]
    if done:
        clock.now += timedelta(days=31)
        await limited(
            [partial(open_questionnaire, side, c, q) for c in done],
            concurrency,
        )
    return len(done)


def bare_dispatcher(text: str, markup: InlineKeyboardMarkup | None) -> Dispatcher:
    """aiogram alone: the handler edits the message and answers the button, nothing else."""
    router = Router(name="bare")

    @router.callback_query()
    async def on_tap(query: CallbackQuery) -> None:
        if isinstance(query.message, Message):
            await query.message.edit_text(text, reply_markup=markup)
        await query.answer()

    dp = Dispatcher()
    dp.include_router(router)
    return dp


def bare_side(
    sample: Screen, chats: list[int], q: Questionnaire, session: BenchSession, seed: int
) -> Side:
    """The bare Dispatcher's side, showing ``sample`` (a question the bot drew) in every
    chat, with no end to its answers."""
    side = Side(
        "bare",
        bare_dispatcher(sample.text, sample.markup),
        make_bot(session),
        session,
        q.answers,
        random.Random(seed),
    )
    for c in chats:
        session.screens[c] = Screen(1, sample.text, sample.markup)
        side.left[c] = UNLIMITED
    return side


# ---------------------------------------------------------------- the two measurements


def failures(count: int) -> str:
    return f"; {count} taps REFUSED OR FAILED" if count else ""


@dataclass
class Run:
    latencies: list[float]
    elapsed: float
    failed: int  # taps refused (an alert) or failed (no message edited)
    gc: str

    @property
    def taps(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.taps / self.elapsed if self.elapsed > 0 else 0.0

    def figures(self) -> str:
        lat = self.latencies
        return (
            f"{self.rate:.1f} taps/s ({self.taps} taps in {self.elapsed:.2f} s; "
            f"p50 {ms(percentile(lat, 50))}, p95 {ms(percentile(lat, 95))}, "
            f"p99 {ms(percentile(lat, 99))}; {self.gc}{failures(self.failed)})"
        )


async def closed_loop(side: Side, chats: list[int], taps_per_teacher: int, concurrency: int) -> Run:
    """Every teacher taps ``taps_per_teacher`` answers one after another; ``concurrency``
    taps in flight across teachers. Latency: one update, from feed to return."""
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def teacher(chat: int) -> None:
        for _ in range(taps_per_teacher):
            if side.left.get(chat, 0) <= 0:
                return
            async with sem:
                took = await side.tap(chat)
            if took is not None:
                latencies.append(took)

    rejected = side.rejected
    gc.collect()  # outside the time: a phase pays only for the garbage it makes itself
    with GcPauses() as pauses:
        start = time.perf_counter()
        await asyncio.gather(*(teacher(c) for c in chats))
        elapsed = time.perf_counter() - start
    return Run(latencies, elapsed, side.rejected - rejected, pauses.summary())


@dataclass
class Load:
    offered: float
    seconds: float
    issued: int
    latencies: list[float]
    lags: list[float]
    elapsed: float  # from the first start to the last completion
    ran_out: bool  # every teacher had answered the whole questionnaire
    failed: int
    gc: str

    @property
    def achieved(self) -> float:
        """Taps done per second of the load, or of the time it took to finish them."""
        span = max(self.elapsed, self.issued / self.offered)
        return len(self.latencies) / span if span > 0 else 0.0

    def figures(self) -> str:
        lat = self.latencies
        note = "; stopped early: no questions left" if self.ran_out else ""
        return (
            f"achieved {self.achieved:.1f} taps/s ({len(lat)} of {self.issued} taps done in "
            f"{self.elapsed:.2f} s{note}); p50 {ms(percentile(lat, 50))}, "
            f"p99 {ms(percentile(lat, 99))} (of which the start was late by p50 "
            f"{ms(percentile(self.lags, 50))}, p99 {ms(percentile(self.lags, 99))}; {self.gc}"
            f"{failures(self.failed)})"
        )


async def open_loop(side: Side, chats: list[int], rate: float, seconds: float) -> Load:
    """One tap started every 1/rate seconds for ``seconds``, whatever is still in flight,
    going round the teachers; a teacher's taps still follow one another. Latency: from the
    moment the tap was due to its completion (waiting for the teacher's previous tap counts)."""
    total = round(rate * seconds)
    locks = {c: asyncio.Lock() for c in chats}
    budget = {c: side.left.get(c, 0) for c in chats}
    latencies: list[float] = []
    lags: list[float] = []  # from the moment a tap was due to the moment its task ran
    tasks: list[asyncio.Task[None]] = []
    order = itertools.cycle(chats)

    async def one(chat: int, due: float) -> None:
        lags.append(time.perf_counter() - due)
        async with locks[chat]:
            took = await side.tap(chat)
        if took is not None:
            latencies.append(time.perf_counter() - due)

    ran_out = False
    rejected = side.rejected
    gc.collect()  # outside the time, as for the rounds
    with GcPauses() as pauses:
        start = time.perf_counter()
        for k in range(total):
            due = start + k / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            chat = next((c for c in itertools.islice(order, len(chats)) if budget[c] > 0), None)
            if chat is None:
                ran_out = True
                break
            budget[chat] -= 1
            tasks.append(asyncio.create_task(one(chat, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    failed = side.rejected - rejected
    return Load(
        rate, seconds, len(tasks), latencies, lags, elapsed, ran_out, failed, pauses.summary()
    )


# ---------------------------------------------------------------- the benchmark


def shape(markup: InlineKeyboardMarkup | None) -> list[int]:
    return [len(row) for row in markup.inline_keyboard] if markup is not None else []


async def main(
    *,
    teachers: int = 500,
    concurrency: int = 20,
    rounds: int = 3,
    taps_per_teacher: int = 2,
    rate: float = 300.0,
    seconds: float = 5.0,
    database_url: str | None = None,
    seed: int = 1,
) -> dict[str, float]:
    """Run the benchmark, print its figures; returns the headline figures."""
    print(machine_line(), flush=True)
    q = load_questionnaire()
    with use_database(database_url) as url, LoggedErrors() as logged:
        engine = make_engine(url)
        await reset_schema(engine)
        backend = engine.dialect.name
        where = "a temporary file" if not database_url else "the given database, schema reset"
        print(f"database: {await database_version(engine)} ({where})")
        print(
            f"teachers: {teachers}; answer taps per teacher per round: {taps_per_teacher}; "
            f"in flight: {concurrency}; rounds: {rounds}; questionnaire: {INSTRUMENT_ID} "
            f"({q.questions} single-choice questions)",
            flush=True,
        )
        clock = Clock()
        app = await create_app(make_settings(url), engine=engine, clock=clock)
        settle()  # as `pedbot run` does after start-up
        project_session = BenchSession()
        project = Side(
            "project",
            app.dispatcher,
            make_bot(project_session),
            project_session,
            q.answers,
            random.Random(seed),
        )
        bare_session = BenchSession()
        bare: Side | None = None

        def errors(phase: str) -> None:
            summary = logged.take()
            if summary:
                print(f"{phase}: {summary}", flush=True)

        try:
            started = time.perf_counter()
            chats = await add_teachers(app, teachers)
            registered = time.perf_counter() - started
            started = time.perf_counter()
            await limited([partial(open_questionnaire, project, c, q) for c in chats], concurrency)
            first_question = project_session.screens[chats[0]]
            print(
                f"setup: {teachers} registered teachers in {registered:.1f} s (one through the "
                f"dialog, the others copied in the database); the questionnaire opened for each "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            errors("setup")

            # ---- alternating rounds, as fast as possible
            results: list[tuple[Run, Run]] = []
            for r in range(1, rounds + 1):
                await refill(project, chats, q, clock, concurrency)
                p_run = await closed_loop(project, chats, taps_per_teacher, concurrency)
                errors(f"round {r}: project")
                if bare is None:
                    # a question the bot showed after an answer (with «back»), else the first
                    sample = project.question_shown or first_question
                    bare = bare_side(sample, chats, q, bare_session, seed)
                    print(
                        f"bare handler: editMessageText with a text of {len(sample.text)} "
                        f"characters and a keyboard of rows {shape(sample.markup)} (a question "
                        f"as the bot sent it), then answerCallbackQuery",
                        flush=True,
                    )
                b_run = await closed_loop(bare, chats, taps_per_teacher, concurrency)
                errors(f"round {r}: bare")
                results.append((p_run, b_run))
                ratio = p_run.rate / b_run.rate if b_run.rate else 0.0
                print(f"round {r}: project {p_run.figures()}")
                print(f"round {r}: bare    {b_run.figures()}")
                print(f"round {r}: ratio project/bare {ratio:.3f}", flush=True)

            p_rates = [p.rate for p, _ in results]
            b_rates = [b.rate for _, b in results]
            ratios = [p.rate / b.rate if b.rate else 0.0 for p, b in results]
            target = RATIO_GOAL.get(backend)
            goal_text = (
                f"goal ratio >= {target} on {backend}: {goal(median(ratios) >= target)}"
                if target is not None
                else f"no ratio goal for {backend}"
            )
            print(
                f"over {len(results)} rounds: project min {min(p_rates):.1f} / median "
                f"{median(p_rates):.1f} taps/s; bare min {min(b_rates):.1f} / median "
                f"{median(b_rates):.1f} taps/s"
            )
            print(
                f"over {len(results)} rounds: ratio project/bare min {min(ratios):.3f} / median "
                f"{median(ratios):.3f} ({goal_text}, judged on the median)",
                flush=True,
            )

            # ---- a fixed offered load
            print(
                f"offered load: {rate:g} taps/s for {seconds:g} s, open loop "
                f"({round(rate * seconds)} taps, one every {ms(1 / rate)})",
                flush=True,
            )
            await refill(project, chats, q, clock, concurrency)
            p_load = await open_loop(project, chats, rate, seconds)
            errors("load: project")
            print(f"load: project {p_load.figures()} ({p99_goal_text(backend, rate, p_load)})")
            assert bare is not None
            b_load = await open_loop(bare, chats, rate, seconds)
            errors("load: bare")
            print(f"load: bare    {b_load.figures()}", flush=True)

            # ---- every counted answer tap is an answer in the database
            async with app.sessionmaker() as s:
                stored = int(await s.scalar(select(func.count()).select_from(Answer)) or 0)
            print(
                f"check: {stored} answers stored for {project.answered} accepted answer taps "
                f"({'equal' if stored == project.answered else 'DIFFERENT'}); taps refused or "
                f"failed: project {project.rejected}, bare {bare.rejected}; {load_average()} "
                f"at the end"
            )
            return {
                "project_rate": median(p_rates),
                "bare_rate": median(b_rates),
                "ratio": median(ratios),
                "load_project_p99": percentile(p_load.latencies, 99),
                "load_bare_p99": percentile(b_load.latencies, 99),
                "answers_stored": float(stored),
                "answer_taps": float(project.answered),
                "failed": float(project.rejected + bare.rejected),
            }
        finally:
            await app.close()
            await project.bot.session.close()
            await bare_session.close()


def p99_goal_text(backend: str, rate: float, load: Load) -> str:
    goal_p99 = P99_GOAL.get(backend)
    if goal_p99 is None:
        return f"no p99 goal for {backend}"
    if rate != GOAL_RATE:
        return f"the goal p99 <= {ms(goal_p99)} on {backend} is for {GOAL_RATE:g} taps/s"
    met = percentile(load.latencies, 99) <= goal_p99
    return f"goal p99 <= {ms(goal_p99)} at {GOAL_RATE:g} taps/s on {backend}: {goal(met)}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20, help="taps in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--taps-per-teacher", type=int, default=2, help="answer taps of each teacher per round"
    )
    parser.add_argument("--rate", type=float, default=300.0, help="offered load, taps/s")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the load")
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary dir"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the answers chosen")
    args = parser.parse_args()
    asyncio.run(
        main(
            teachers=args.teachers,
            concurrency=args.concurrency,
            rounds=args.rounds,
            taps_per_teacher=args.taps_per_teacher,
            rate=args.rate,
            seconds=args.seconds,
            database_url=args.database_url or None,
            seed=args.seed,
        )
    )
