"""The reader: a stream of bytes (gzip or plain) becomes bounded batches of lines."""
from __future__ import annotations

import gzip
import io
import random

import pytest

from ingest import reader
from ingest.reader import TruncatedObject, json_safe, line_batches

LINES = [f"line {i} with some text".encode() for i in range(1, 2001)]
TEXT = b"\n".join(LINES) + b"\n"


def read_all(data: bytes, read_size: int = reader.READ_SIZE) -> list[bytes]:
    return [line for lines, _ in line_batches(io.BytesIO(data).read, read_size) for line in lines]


@pytest.mark.parametrize("read_size", [1, 7, 4096, reader.READ_SIZE])
def test_plain_text_is_split_into_its_lines_whatever_the_read_size(read_size):
    assert read_all(TEXT, read_size) == LINES


@pytest.mark.parametrize("read_size", [1, 7, 4096, reader.READ_SIZE])
def test_gzip_is_recognised_by_its_magic_bytes_and_decompressed(read_size):
    assert read_all(gzip.compress(TEXT), read_size) == LINES


def test_gzip_bytes_are_decompressed_whatever_the_object_is_called_and_plain_bytes_are_not():
    # The reader sees only bytes; a `.gz` name on plain text or no name on gzip changes nothing.
    assert read_all(gzip.compress(b"a\nb\n")) == [b"a", b"b"]
    assert read_all(b"\x1f not gzip\n") == [b"\x1f not gzip"]


@pytest.mark.parametrize("read_size", [1, 13, reader.READ_SIZE])
def test_concatenated_gzip_members_are_all_read(read_size):
    data = gzip.compress(b"first\nsecond\n") + gzip.compress(b"third\n") + gzip.compress(b"fourth")
    assert read_all(data, read_size) == [b"first", b"second", b"third", b"fourth"]


def test_crlf_line_endings_are_removed_even_when_split_across_reads():
    data = b"one\r\ntwo\r\nthree\r\n"
    for read_size in (1, 4, 5, 100):
        assert read_all(data, read_size) == [b"one", b"two", b"three"]


def test_a_carriage_return_inside_a_line_is_kept():
    assert read_all(b"a\rb\r\nc\n") == [b"a\rb", b"c"]


def test_the_last_line_without_a_newline_is_still_a_line():
    assert read_all(b"one\ntwo") == [b"one", b"two"]
    assert read_all(gzip.compress(b"one\ntwo")) == [b"one", b"two"]


def test_empty_lines_are_yielded_so_line_numbers_stay_right():
    assert read_all(b"one\n\nthree\n") == [b"one", b"", b"three"]


def test_an_empty_object_yields_no_lines():
    assert read_all(b"") == []
    assert read_all(gzip.compress(b"")) == []


def test_a_truncated_gzip_yields_the_lines_before_the_cut_then_raises():
    data = gzip.compress(TEXT)
    cut = data[: len(data) * 2 // 3]
    seen: list[bytes] = []
    with pytest.raises(TruncatedObject, match="truncated"):
        for lines, _ in line_batches(io.BytesIO(cut).read, 64):
            seen.extend(lines)
    assert len(seen) > 100
    assert seen[:-1] == LINES[: len(seen) - 1]  # every whole line before the cut, in order
    assert LINES[len(seen) - 1].startswith(seen[-1])  # and the cut line as far as it got


def test_a_gzip_missing_only_its_trailer_still_raises_truncated():
    data = gzip.compress(b"a\nb\n")[:-8]  # CRC and length gone
    seen = []
    with pytest.raises(TruncatedObject):
        for lines, _ in line_batches(io.BytesIO(data).read):
            seen.extend(lines)
    assert seen == [b"a", b"b"]


def test_corrupt_gzip_data_raises_truncated_object_naming_the_corruption():
    data = bytearray(gzip.compress(TEXT))
    data[20:40] = b"\xff" * 20
    with pytest.raises(TruncatedObject, match="corrupt"):
        read_all(bytes(data))


def test_a_large_plain_input_comes_in_many_batches_no_bigger_than_a_read():
    batches = list(line_batches(io.BytesIO(TEXT * 10).read, 4096))
    assert len(batches) > 10
    assert all(sum(len(line) + 1 for line in lines) <= 4096 + 64 for lines, _ in batches)
    assert [line for lines, _ in batches for line in lines] == LINES * 10


def test_a_highly_compressible_gzip_is_decompressed_in_capped_pieces(monkeypatch):
    # A gzip bomb must not be inflated in one go: output per piece is capped at MAX_BATCH_BYTES.
    monkeypatch.setattr(reader, "MAX_BATCH_BYTES", 64 * 1024)
    line = b"x" * 99
    data = gzip.compress((line + b"\n") * 20000)  # ~2 MB of text, a few KB compressed
    assert len(data) < 64 * 1024
    batches = list(line_batches(io.BytesIO(data).read))
    assert len(batches) >= 2_000_000 // (64 * 1024)
    # A batch is one capped piece plus the unfinished line carried over from the piece before.
    assert max(sum(len(x) + 1 for x in lines) for lines, _ in batches) <= 64 * 1024 + len(line) + 1
    assert sum(len(lines) for lines, _ in batches) == 20000


def test_batches_say_whether_they_are_json_safe():
    batches = list(line_batches(io.BytesIO(b'plain "quoted"\nback\\slash\ntab\there\n').read, 1))
    flags = {bytes(lines[0]): safe for lines, safe in batches if lines}
    assert flags[b'plain "quoted"'] is True
    assert flags[b"back\\slash"] is False
    assert flags[b"tab\there"] is False


def test_json_safe_rejects_control_characters_and_backslashes_only():
    assert json_safe('quotes " and ünïcödé and DEL \x7f'.encode())
    for bad in (b"\\", b"\x00", b"\x1f", b"\t", b"\r"):
        assert not json_safe(b"a" + bad + b"b")


def test_random_line_lengths_and_read_sizes_round_trip():
    rng = random.Random(7)
    lines = [bytes(rng.choice(b"abc \"\t") for _ in range(rng.randrange(0, 300))) for _ in range(500)]
    data = b"\n".join(lines)
    for read_size in (1, 3, 64, 1000):
        assert read_all(data, read_size) == lines
        assert read_all(gzip.compress(data), read_size) == lines


# -- gzip padding ----------------------------------------------------------------------------------


@pytest.mark.parametrize("read_size", [1, 5, reader.READ_SIZE])
@pytest.mark.parametrize("padding", [1, 512, 10_000])
def test_zero_bytes_after_the_last_gzip_member_are_padding_not_corruption(read_size, padding):
    assert read_all(gzip.compress(TEXT) + b"\0" * padding, read_size) == LINES


def test_zero_padding_between_members_and_more_data_is_still_corruption():
    data = gzip.compress(b"a\n") + b"\0\0" + gzip.compress(b"b\n")
    with pytest.raises(TruncatedObject, match="other than zero padding"):
        read_all(data)


@pytest.mark.parametrize("garbage", [b"garbage", b"\n", b"\x1f"])
def test_other_bytes_after_the_last_gzip_member_are_corruption(garbage):
    with pytest.raises(TruncatedObject):
        read_all(gzip.compress(b"a\nb\n") + garbage)


# -- overlong lines --------------------------------------------------------------------------------


def batches(data: bytes, read_size: int = reader.READ_SIZE, max_line_bytes: int = 100):
    return list(line_batches(io.BytesIO(data).read, read_size, max_line_bytes=max_line_bytes))


def flatten(found) -> list:
    """Lines as bytes, overlong lines as ("overlong", length, whole text)."""
    out = []
    for batch in found:
        if isinstance(batch, reader.OverlongLine):
            out.append(("overlong", batch.length, b"".join(batch.chunks(7))))
        else:
            out.extend(batch[0])
    return out


@pytest.mark.parametrize("read_size", [1, 9, 64, 1000, reader.READ_SIZE])
@pytest.mark.parametrize("compress", [False, True])
def test_a_line_over_the_limit_comes_alone_as_an_overlong_line_and_its_neighbours_keep_their_places(read_size,
                                                                                                 compress):
    long = bytes(range(33, 123)) * 5  # 450 bytes
    data = b"first\n" + long + b"\nlast\n"
    found = batches(gzip.compress(data) if compress else data, read_size)
    assert flatten(found) == [b"first", ("overlong", 450, long), b"last"]


@pytest.mark.parametrize("read_size", [3, 64, reader.READ_SIZE])
def test_a_line_of_exactly_the_limit_is_an_ordinary_line(read_size):
    assert flatten(batches(b"x" * 100 + b"\ny\n", read_size)) == [b"x" * 100, b"y"]


@pytest.mark.parametrize("read_size", [2, 64, reader.READ_SIZE])
def test_an_overlong_line_ending_in_crlf_loses_only_its_line_ending(read_size):
    long = b"a\r" * 100 + b"z"
    assert flatten(batches(long + b"\r\nnext\r\n", read_size)) == [("overlong", 201, long), b"next"]


def test_an_overlong_line_keeps_a_bounded_prefix_its_length_and_its_sha256():
    import hashlib

    long = b"0123456789" * 1000
    [overlong] = batches(long, 512)
    assert overlong.prefix == long[:reader.OVERLONG_PREFIX_BYTES]
    assert (overlong.length, overlong.sha256) == (10_000, hashlib.sha256(long).hexdigest())


def test_an_object_without_any_newline_is_never_held_whole(monkeypatch):
    # 20 MB of one line, read 64 KiB at a time: no batch, and no pending buffer, may grow past the limit.
    held = []
    original = reader.OverlongLine.feed

    def feed(self, data):
        held.append(len(data))
        original(self, data)

    monkeypatch.setattr(reader.OverlongLine, "feed", feed)
    size = 20 << 20
    chunks = iter([b"y" * (64 << 10)] * (size // (64 << 10)))
    [overlong] = list(line_batches(lambda n: next(chunks, b""), 64 << 10, max_line_bytes=1 << 20))
    assert overlong.length == size
    assert max(held) <= (1 << 20) + (64 << 10)


def test_max_line_bytes_below_one_is_refused():
    with pytest.raises(ValueError):
        batches(b"a\n", max_line_bytes=0)


def test_without_the_json_safety_check_batches_say_not_checked_and_lines_are_the_same():
    data = b"plain\nwith \\ backslash\n"
    checked = list(line_batches(io.BytesIO(data).read))
    unchecked = list(line_batches(io.BytesIO(data).read, check_json_safe=False))
    assert [lines for lines, _ in unchecked] == [lines for lines, _ in checked]
    assert [safe for _, safe in unchecked] == [False]
    assert [safe for _, safe in line_batches(io.BytesIO(b"plain\n").read)] == [True]


def test_max_line_bytes_of_one_is_the_smallest_limit_and_the_refusal_says_so():
    assert flatten(batches(b"a\nbc\n", max_line_bytes=1)) == [b"a", ("overlong", 2, b"bc")]
    with pytest.raises(ValueError) as refused:
        batches(b"a\n", max_line_bytes=0)
    assert str(refused.value) == "max_line_bytes must be at least 1"


@pytest.mark.parametrize("read_size", [1, 4, 10, 100, 101, reader.READ_SIZE])
def test_a_line_of_exactly_the_limit_is_ordinary_whichever_read_it_ends_in(read_size):
    # Whether the limit is reached while the line is still waiting for its newline, right after
    # another line's newline, or inside one batch: exactly the limit is still a line.
    for data in (b"x" * 100, b"x" * 100 + b"\n", b"a\n" + b"x" * 100, b"a\n" + b"x" * 100 + b"\nb"):
        expected = [line for line in data.split(b"\n") if line]
        assert flatten(batches(data, read_size)) == expected, data


@pytest.mark.parametrize("read_size", [1, 7, 64, reader.READ_SIZE])
def test_a_line_of_exactly_the_limit_beside_an_overlong_one_in_the_same_read_stays_ordinary(read_size):
    data = b"x" * 100 + b"\n" + b"y" * 101 + b"\n" + b"z" * 100
    assert flatten(batches(data, read_size)) == [b"x" * 100, ("overlong", 101, b"y" * 101), b"z" * 100]


@pytest.mark.parametrize("compress", [False, True])
def test_overlong_lines_come_without_empty_batches_around_them(compress):
    long = b"L" * 150
    shapes = {  # overlong lines first and last in a read, or first and last in a batch
        long + b"\nmiddle\n" + long: ["OverlongLine", [b"middle"], "OverlongLine"],
        b"a\n" + long + b"\nb": [[b"a"], "OverlongLine", [b"b"]],
    }
    for data, shape in shapes.items():
        found = batches(gzip.compress(data) if compress else data)
        assert [type(b).__name__ if isinstance(b, reader.OverlongLine) else b[0] for b in found] == shape


@pytest.mark.parametrize("read_size", [3, 50, 101, 1000, reader.READ_SIZE])
def test_every_overlong_line_knows_the_limit_it_is_over(read_size):
    # Spooled across reads, met whole inside a batch, or started right after another line's newline.
    long = b"L" * 150
    for data in (long, b"a\n" + long + b"\nb", b"a\n" + long):
        overlong = [b for b in batches(data, read_size) if isinstance(b, reader.OverlongLine)]
        assert [(o.limit, o.length, o.prefix) for o in overlong] == [(100, 150, long)], (read_size, data)


@pytest.mark.parametrize("read_size", [1, 7, 64, reader.READ_SIZE])
def test_an_empty_first_line_before_a_line_of_exactly_the_limit_stays_its_own_line(read_size):
    assert flatten(batches(b"\n" + b"x" * 100, read_size)) == [b"", b"x" * 100]


def test_an_overlong_line_tail_after_a_newline_is_spooled_from_the_byte_after_it():
    long = bytes(range(65, 91)) * 6  # 156 bytes, every position distinct enough to show a shift
    [first, overlong] = batches(b"ab\n" + long)
    assert first == ([b"ab"], True)
    assert (overlong.length, overlong.prefix, b"".join(overlong.chunks())) == (156, long, long)


def test_the_prefix_of_an_overlong_line_fed_in_small_pieces_is_exactly_its_first_bytes():
    long = bytes(range(32, 127)) * 60  # 5,700 bytes, no line ending among them
    [overlong] = batches(long, read_size=100, max_line_bytes=500)
    assert overlong.prefix == long[:reader.OVERLONG_PREFIX_BYTES]
    assert overlong.length == len(long)


@pytest.mark.parametrize("read_size", [1, 2, 3])
def test_a_carriage_return_held_back_across_reads_is_put_back_only_once(read_size):
    long = b"a\rb\r\rc" * 30
    [overlong] = batches(long + b"\n", read_size)
    assert b"".join(overlong.chunks()) == long and overlong.length == len(long)


def test_an_overlong_line_is_read_back_in_chunks_of_the_size_asked():
    long = b"0123456789" * 20
    [overlong] = batches(long)
    assert [len(c) for c in overlong.chunks(64)] == [64, 64, 64, 8]
    assert b"".join(overlong.chunks(64)) == long


def test_an_overlong_line_in_gzip_is_measured_whole_when_it_inflates_to_several_pieces(monkeypatch):
    monkeypatch.setattr(reader, "MAX_BATCH_BYTES", 4096)
    long = b"w" * 50_000
    data = gzip.compress(b"a\n" + long + b"\nb\n")
    assert len(data) < reader.READ_SIZE  # one read, inflated in capped pieces
    assert flatten(batches(data, max_line_bytes=1000)) == [b"a", ("overlong", 50_000, long), b"b"]


@pytest.mark.parametrize("data", [b"x", b"\x1f", b"ab"])
def test_an_object_shorter_than_the_gzip_magic_is_its_one_line(data):
    assert read_all(data, 1) == [data]
    assert read_all(data) == [data]


def test_a_zlib_stream_after_a_gzip_member_is_corruption_not_another_member():
    import zlib

    with pytest.raises(TruncatedObject) as refused:
        read_all(gzip.compress(b"a\n") + zlib.compress(b"b\n"))
    assert str(refused.value).startswith("the gzip stream is corrupt: ")


def test_what_a_truncated_or_padded_wrong_gzip_says():
    with pytest.raises(TruncatedObject) as cut:
        read_all(gzip.compress(b"a\nb\n")[:-8])
    assert str(cut.value) == "the gzip stream ends before its end marker (the object is truncated)"
    with pytest.raises(TruncatedObject) as padded:
        read_all(gzip.compress(b"a\n") + b"\0\0garbage")
    assert str(padded.value) == "the gzip stream is corrupt: bytes other than zero padding after its last member"
