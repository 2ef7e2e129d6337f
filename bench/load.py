"""Booking over HTTP: a pool of client threads sending real form posts to gunicorn.

Only the standard library drives the load (http.client, one connection per thread), so
the client side costs little next to the server it measures.
"""

import http.client
import re
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .freetimes import percentile
from .plan import Booking, post_form
from .server import backend_sampler, cpu_meter, process_cpu


@dataclass
class Phase:
    label: str
    seconds: float
    latencies: list[float]  # milliseconds, one per request
    statuses: Counter
    examples: dict[str, str]  # outcome -> what the first such page said
    backends: dict[str, float] = field(default_factory=dict)  # average PostgreSQL sessions
    cpu: dict[str, float] = field(default_factory=dict)  # share of the machine's CPU time
    processes: dict[str, float] = field(default_factory=dict)  # CPU seconds by process group

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p95_ms(self) -> float:
        return percentile(self.latencies, 0.95)


def combine(phases: list[Phase]) -> Phase:
    """Rounds of one kind of request, as one phase."""
    seconds = sum(phase.seconds for phase in phases)

    def weighted(values: Callable[[Phase], dict[str, float]]) -> dict[str, float]:
        return {
            key: sum(values(phase)[key] * phase.seconds for phase in phases) / seconds
            for key in values(phases[0])
        }

    examples: dict[str, str] = {}
    for phase in reversed(phases):
        examples.update(phase.examples)
    return Phase(
        label=phases[0].label,
        seconds=seconds,
        latencies=[latency for phase in phases for latency in phase.latencies],
        statuses=sum((phase.statuses for phase in phases), Counter()),
        examples=examples,
        backends=weighted(lambda phase: phase.backends),
        cpu=weighted(lambda phase: phase.cpu),
        processes={
            group: sum(phase.processes[group] for phase in phases) for group in phases[0].processes
        },
    )


class _Browser:
    """One client thread's connection; http.client reopens it when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(
        self, method: str, path: str, *, cookies: dict[str, str], body: str | None = None
    ) -> tuple[int, dict[str, str], bytes, float]:
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items() if value),
        }
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        elapsed = (time.perf_counter() - started) * 1000
        if response.will_close:
            self.connection.close()
        return response.status, dict(response.getheaders()), content, elapsed

    def close(self) -> None:
        self.connection.close()


@dataclass
class _Result:
    outcome: str
    milliseconds: float
    page: bytes = b""  # kept for outcomes that need explaining


def _pool(
    *, port: int, threads: int, work: Callable[[_Browser, int], _Result | None]
) -> tuple[float, list[float], Counter, dict[str, str]]:
    """Run `work(browser, n)` for n = 0, 1, ... on `threads` threads until it returns None.

    Returns the wall-clock seconds, the latencies, how often each outcome came back and
    what the first page of each outcome that kept its page said.
    """
    lock = threading.Lock()
    counter = iter(range(10**9))
    latencies: list[float] = []
    outcomes: Counter = Counter()
    examples: dict[str, str] = {}

    def loop() -> None:
        browser = _Browser(port)
        try:
            while True:
                with lock:
                    number = next(counter)
                try:
                    result = work(browser, number)
                except (OSError, http.client.HTTPException) as error:
                    result = _Result(f"error {type(error).__name__}: {error}", 0.0)
                if result is None:
                    return
                with lock:
                    outcomes[result.outcome] += 1
                    if result.milliseconds:
                        latencies.append(result.milliseconds)
                    if result.page and result.outcome not in examples:
                        examples[result.outcome] = _excerpt(result.page)
        finally:
            browser.close()

    # Daemon threads: an interrupted run stops without waiting for them.
    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, latencies, outcomes, examples


def _excerpt(page: bytes, length: int = 300) -> str:
    """The text of the page's main content, for a person to see why a request failed."""
    text = page.decode(errors="replace")
    main = re.search(r"<main.*?</main>", text, re.DOTALL)
    words = re.sub(r"<[^>]+>", " ", main.group(0) if main else text).split()
    return " ".join(words)[:length]


def open_forms(plan: list[Booking], *, port: int, threads: int) -> tuple[Counter, dict[str, str]]:
    """GET each confirmation page: its CSRF cookie and token and the one-time booking token."""

    def work(browser: _Browser, number: int) -> _Result | None:
        if number >= len(plan):
            return None
        booking = plan[number]
        status, headers, content, elapsed = browser.send(
            "GET", f"{booking.path}?{booking.query}", cookies={"sessionid": booking.session}
        )
        form = post_form(content) if status == 200 else {}
        cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", ""))
        if not ("csrfmiddlewaretoken" in form and "booking_token" in form and cookie):
            return _Result(f"{status} without a booking form", elapsed, content)
        booking.csrf_cookie = cookie.group(1)
        booking.form = form
        return _Result("form", elapsed)

    _, _, outcomes, examples = _pool(port=port, threads=threads, work=work)
    return outcomes, examples


def book(plan: list[Booking], *, port: int, threads: int) -> Phase:
    """POST each booking form: 302 is booked, 409 is a conflict, anything else a failure."""
    ready = [booking for booking in plan if booking.form]

    def work(browser: _Browser, number: int) -> _Result | None:
        if number >= len(ready):
            return None
        booking = ready[number]
        status, headers, content, elapsed = browser.send(
            "POST",
            booking.path,
            cookies={"sessionid": booking.session, "csrftoken": booking.csrf_cookie},
            body=urlencode(booking.form),
        )
        if status == 302 and "/booked/" in headers.get("Location", ""):
            return _Result("302 booked", elapsed)
        outcome = "409 conflict" if status == 409 else f"{status} failure"
        return _Result(outcome, elapsed, content or headers.get("Location", "").encode())

    return _measured("booking (POST /book/...)", port=port, threads=threads, work=work)


def insert(
    plan: list[Booking], *, port: int, threads: int, seconds: float | None = None, count: int = 0
) -> Phase:
    """POST the bare insert view, for `seconds` or `count` requests, with the same cookies."""
    deadline = time.perf_counter() + seconds if seconds else None

    def work(browser: _Browser, number: int) -> _Result | None:
        if (deadline and time.perf_counter() >= deadline) or (count and number >= count):
            return None
        booking = plan[number % len(plan)]
        status, _, content, elapsed = browser.send(
            "POST", "/bench/insert/", cookies={"sessionid": booking.session}, body=""
        )
        if status == 200:
            return _Result("200 inserted", elapsed)
        return _Result(f"{status} failure", elapsed, content)

    return _measured("bare insert (POST /bench/insert/)", port=port, threads=threads, work=work)


def _measured(
    label: str, *, port: int, threads: int, work: Callable[[_Browser, int], _Result | None]
) -> Phase:
    """One phase of `work` on the pool, with the machine's CPU, each process group's CPU
    and the database sessions sampled meanwhile."""
    with backend_sampler() as backends, cpu_meter() as cpu, process_cpu() as processes:
        seconds, latencies, outcomes, examples = _pool(port=port, threads=threads, work=work)
    return Phase(label, seconds, latencies, outcomes, examples, backends, cpu, processes)
