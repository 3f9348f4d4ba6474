"""Sending on a background thread while the next request is parsed (Options.send_threads=1, the default)
changes nothing a person or OpenSearch sees: the same requests in the same order, the same counts, dead
letters, resume points and one-line errors as sending in line (send_threads=0). The sink is used by one
thread at a time, and the parse waits when the sender falls behind, so memory stays bounded.
(Every other test in tests/pipeline runs both ways too: see the `send_threads` fixture.)"""
from __future__ import annotations

import queue
import sys
import threading

import pytest

from ingest.deadletter import LocalDeadLetterWriter
from ingest.pipeline import DEFAULT_SEND_THREADS, LocalFile, Options, Resume, process_object
from ingest.shipper import BulkRequestError
from ingest.sinks import DeadlineExceeded, Rejection

from .conftest import ALB_KEY, UNPARSABLE_LINE, alb_lines, gzipped, s3_notification, text

DEFAULT = bool(DEFAULT_SEND_THREADS)
BOTH = pytest.mark.parametrize("threads", [0, 1], ids=["in-line", "background"])


@pytest.fixture
def send_threads():
    """These tests choose the way of sending themselves (Options.send_threads), so run once each."""


class Recording:
    """Takes every request, rejecting the lines in `reject` (400); notes the thread each request came on.
    From request number `fail_at` on (1-based) it raises `error` instead."""

    def __init__(self, reject=frozenset(), fail_at: int | None = None, error: Exception | None = None):
        self.reject, self.fail_at, self.error = reject, fail_at, error
        self.requests: list[list[int]] = []
        self.threads: list[int] = []

    def send(self, items, deadline):
        self.threads.append(threading.get_ident())
        if self.fail_at is not None and len(self.requests) + 1 >= self.fail_at:
            raise self.error
        self.requests.append([item.line_number for item in items])
        return [Rejection(item, 400, "mapper_parsing_exception: bad") for item in items
                if item.line_number in self.reject]

    def close(self):
        pass


def _object(tmp_path, count=60, bad=(7, 31)):
    lines = alb_lines(count)
    for n in bad:
        lines[n - 1] = UNPARSABLE_LINE
    path = tmp_path / "alb.log.gz"
    path.write_bytes(gzipped(text(lines)))
    return LocalFile(str(path), "alb.log.gz")


def _run(tmp_path, sink, threads, **kwargs):
    dead_letter = LocalDeadLetterWriter(tmp_path / f"dead-letter-{threads}")
    return process_object(_object(tmp_path), sink, dead_letter, Options(bulk_max_docs=8, send_threads=threads),
                          **kwargs)


def _outcome(report) -> dict:
    fields = ("status", "error", "lines_read", "indexed", "failed", "dead_lettered", "continuation")
    return {name: getattr(report, name) for name in fields} | {"dead_letter": bool(report.dead_letter_uri)}


def test_both_ways_send_the_same_requests_and_count_and_dead_letter_the_same(tmp_path):
    inline, background = Recording(reject={3, 31, 50}), Recording(reject={3, 31, 50})
    expected = _outcome(_run(tmp_path, inline, 0))
    assert _outcome(_run(tmp_path, background, 1)) == expected
    assert background.requests == inline.requests == [list(range(n, min(n + 8, 61))) for n in range(1, 61, 8)]
    assert (expected["indexed"], expected["failed"], expected["dead_lettered"]) == (56, 1, 3)  # line 31's failure record rejected


@BOTH
def test_requests_are_sent_by_one_thread_the_parsing_one_only_when_sending_in_line(tmp_path, threads):
    sink = Recording()
    _run(tmp_path, sink, threads)
    assert len(set(sink.threads)) == 1
    assert (sink.threads[0] == threading.get_ident()) == (threads == 0)


def test_an_error_on_the_sender_thread_is_reported_in_the_same_line_as_in_line(tmp_path):
    error = lambda: BulkRequestError("https://search.example.com", 401, "security_exception: missing authentication")  # noqa: E731
    inline = _run(tmp_path, Recording(fail_at=3, error=error()), 0)
    background = _run(tmp_path, Recording(fail_at=3, error=error()), 1)
    assert _outcome(background) == _outcome(inline)
    assert background.error == ("BulkRequestError: POST https://search.example.com/_bulk failed: HTTP 401: "
                                "security_exception: missing authentication")
    assert background.indexed + background.failed == 16  # the two requests before it, counted


def test_after_an_error_the_background_sender_sends_nothing_more(tmp_path):
    sink = Recording(fail_at=2, error=BulkRequestError("https://search.example.com", 400, "bad request"))
    _run(tmp_path, sink, 1)
    assert sink.requests == [list(range(1, 9))]
    assert len(sink.threads) == 2  # the failed request, and none after it


def test_time_running_out_on_the_sender_thread_gives_the_resume_point_sending_in_line_gives(tmp_path):
    def stop_at_third():
        return Recording(fail_at=3, error=DeadlineExceeded(8, "items throttled (429) for 4 min"))

    inline = _run(tmp_path, stop_at_third(), 0)
    background = _run(tmp_path, stop_at_third(), 1)
    assert _outcome(background) == _outcome(inline)
    assert Resume(**background.continuation).line == 16
    assert background.error == "8 items still unsent when the time ran out: items throttled (429) for 4 min"


class _Held(Recording):
    """Holds the first request until the parsing thread is blocked handing over another one."""

    def __init__(self, object_reads: list[int], lines: int):
        super().__init__()
        self.object_reads, self.lines = object_reads, lines  # (an unbounded queue would read them all)
        self.reads_while_held: int | None = None
        self.parsing = threading.get_ident()  # made on the thread that parses

    def send(self, items, deadline):
        if not self.requests:
            # Bounded, so that a parse that never waits fails the test instead of hanging it.
            for _ in range(30_000):
                if _blocked_handing_over(self.parsing) or len(self.object_reads) > self.lines:
                    break
                threading.Event().wait(0.001)
            self.reads_while_held = len(self.object_reads)
        return super().send(items, deadline)


def _blocked_handing_over(thread_id: int) -> bool:
    """The thread is in the hand-over queue's put and that queue is full. Only this (sending) thread takes
    from the queue, and it is here, so the parse stays blocked: the read count is then final, whatever the
    scheduling. (Found by the code object, not by a name: mutation testing renames the pipeline's methods.)"""
    frame = sys._current_frames().get(thread_id)
    while frame is not None:
        if frame.f_code is queue.Queue.put.__code__:
            return frame.f_locals["self"].full()
        frame = frame.f_back
    return False


def _line_by_line(lines: list[bytes], reads: list[int], fail_at: int | None = None, before_failing=lambda: None):
    """An ALB log object read one line a read (each read noted in `reads`); read number `fail_at` fails."""
    class OneLineAtATime:
        uri = key = "alb.log"

        def open(self):
            def read(n):
                reads.append(1)
                if len(reads) == fail_at:
                    before_failing()
                    raise OSError("Connection reset by peer")
                return lines[len(reads) - 1] if len(reads) <= len(lines) else b""
            return read, lambda: None

    return OneLineAtATime()


def _hold_the_first_request(tmp_path, fail: Exception | None = None):
    """200 lines, one line per read and per request, the first request held (then failing with `fail`)."""
    lines = text(alb_lines(200)).splitlines(keepends=True)
    reads: list[int] = []
    sink = _Held(reads, len(lines))
    sink.fail_at, sink.error = (1, fail) if fail is not None else (None, None)
    report = process_object(_line_by_line(lines, reads), sink, LocalDeadLetterWriter(tmp_path / "d"),
                            Options(log_format="alb", bulk_max_docs=1, send_threads=1))
    return report, sink


def test_the_parse_waits_while_the_sender_is_behind(tmp_path):
    # One line per read and per request: while the first request is held, the parsing thread hands one
    # request over to wait, fills the next, and then waits itself; it does not read the object on.
    report, sink = _hold_the_first_request(tmp_path)
    assert report.status == "ok" and report.indexed == 200
    # held: line 1; waiting: line 2; being handed over: line 3, once line 4 was read and did not fit it.
    # A second request waiting (or an unbounded hand-over) would read line 5 (or all 200) first.
    assert sink.reads_while_held == 4


@pytest.fixture
def senders(monkeypatch):
    """How many background senders were started."""
    from ingest import pipeline

    started = []

    class Counted(pipeline._Sender):
        def __init__(self, send):
            started.append(1)
            super().__init__(send)

    monkeypatch.setattr(pipeline, "_Sender", Counted)
    return started


@pytest.mark.parametrize("setting, background", [("0", False), ("1", True), (None, DEFAULT)],
                         ids=["BULK_SEND_THREADS=0", "BULK_SEND_THREADS=1", "unset"])
def test_the_lambda_setting_chooses_the_way_of_sending(aws, opensearch, invoke, lambda_env, senders, setting,
                                                       background):
    if setting is not None:
        lambda_env.setenv("BULK_SEND_THREADS", setting)
    body = gzipped(text(alb_lines(20)))
    aws.put(ALB_KEY, body)
    run = invoke(s3_notification(ALB_KEY, len(body)))
    assert run.error is None and len(opensearch.docs) == 20
    assert bool(senders) is background


@pytest.mark.parametrize("flag, background", [(["--send-threads", "0"], False), (["--send-threads", "1"], True), ([], DEFAULT)],
                         ids=["--send-threads 0", "--send-threads 1", "default"])
def test_the_command_line_flag_chooses_the_way_of_sending(tmp_path, opensearch, senders, flag, background):
    from ingest.cli import main

    path = tmp_path / "alb.log.gz"
    path.write_bytes(gzipped(text(alb_lines(20))))
    assert main(["run", str(path), "--format", "alb", "--opensearch-url", opensearch.url, "--auth", "none",
                 "--dead-letter", str(tmp_path / "d"), *flag]) == 0
    assert len(opensearch.docs) == 20 and bool(senders) is background


# -- pinned by mutation testing (issue 15) -----------------------------------------------------------

def test_after_an_error_the_requests_waiting_are_dropped_and_the_parse_is_not_held_up(tmp_path):
    # The first request fails while one waits and the parse is blocked handing over the next: both are
    # dropped by the sender, so the parse gets on to report the error instead of waiting for ever.
    outcome: list = []
    parse = threading.Thread(target=lambda: outcome.append(_hold_the_first_request(
        tmp_path, BulkRequestError("https://search.example.com", 400, "bad request"))), daemon=True)
    parse.start()
    parse.join(60)  # bounded: a sender that stops taking requests would block the parse's close for ever
    assert outcome, "the parse never finished: a request handed over after the error was never taken"
    report, sink = outcome[0]
    assert report.error == "BulkRequestError: POST https://search.example.com/_bulk failed: HTTP 400: bad request"
    assert (len(sink.threads), sink.requests) == (1, [])


def test_requests_are_sent_from_one_daemon_thread_named_bulk_sender(tmp_path):
    # The name shows in thread dumps; a daemon never keeps the process alive at exit.
    class Noted(Recording):
        seen: set = set()

        def send(self, items, deadline):
            self.seen.add((threading.current_thread().name, threading.current_thread().daemon))
            return super().send(items, deadline)

    sink = Noted()
    assert _run(tmp_path, sink, 1).status == "ok"
    assert sink.seen == {("bulk-sender", True)}


@pytest.mark.parametrize("outcome, counts", [("rejects line 2", (3, 0, 1)), ("runs out of time after line 2", (2, 0, 0))])
def test_a_request_being_sent_when_the_object_cannot_be_read_on_is_counted(tmp_path, outcome, counts):
    # The sender holds lines 1-4 until the read of line 9 fails; what it then settles is counted, not lost.
    lines = text(alb_lines(12)).splitlines(keepends=True)
    failed = threading.Event()

    class Slow(Recording):
        def send(self, items, deadline):
            failed.wait(60)  # bounded: a read that never fails fails the test instead of hanging it
            if outcome.startswith("runs out"):
                raise DeadlineExceeded(2, "items throttled (429) for 1 min", items[2:])
            return super().send(items, deadline)

    report = process_object(_line_by_line(lines, [], fail_at=9, before_failing=failed.set),
                            Slow(reject={2}), LocalDeadLetterWriter(tmp_path / "d"),
                            Options(log_format="alb", bulk_max_docs=4, send_threads=1))

    assert (report.status, report.error) == ("failed", "OSError: Connection reset by peer")
    assert (report.indexed, report.failed, report.dead_lettered) == counts
