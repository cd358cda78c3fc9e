#!/usr/bin/env python3
"""Writes the shared accumulator test vectors (tests/vectors/*.json).

Every expectation here is derived from the scenario — what the container wrote, what the
kubelet served — and the rules of issue 3, never from running the accumulator. Run it from
anywhere: `python3 tests/vectors/generate.py`; it rewrites the generated files and leaves the
hand-written ones (bindings-smoke-*) alone.
"""

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
MIB = 1024 * 1024
written = []


def ts(second, nanos=0, zone="Z"):
    """A kubelet timestamp prefix (9 fraction digits) plus the space."""
    return f"2026-11-26T10:00:{second:02d}.{nanos:09d}{zone} "


def chunk(b):
    if isinstance(b, str):
        b = b.encode()
    try:
        s = b.decode("utf-8")
        return s
    except UnicodeDecodeError:
        return {"hex": b.hex()}


def read(*chunks, end=True):
    r = {"chunks": [chunk(c) for c in chunks]}
    if not end:
        r["end"] = False
    return r


def vector(name, description, mode, cap, reads, stdout, truncated, total, rotations=0, gaps=0, malformed=0, text=None):
    if isinstance(stdout, str):
        stdout = stdout.encode()
    v = {
        "name": name,
        "description": description,
        "capBytes": cap,
        "mode": mode,
        "reads": reads,
        "expect": {
            "stdout": chunk(stdout),
            **({"text": text} if text is not None else {}),
            "truncated": truncated,
            "totalBytes": total,
            "rotations": rotations,
            "gaps": gaps,
            "malformed": malformed,
        },
    }
    assert truncated == (gaps > 0 or total > cap), name
    path = HERE / f"{name}.json"
    path.write_text(json.dumps(v, indent=2, ensure_ascii=False) + "\n")
    written.append(path.name)


# --- spec §6.3: the TypeScript fix's own test sequences ------------------------------------

vector("t1-rotation-on-final-poll", "Spec §6.3 T1: polls 'AAAAA' then 'BBB' (shrink: the file rotated). "
       "DIFFERS from the TypeScript result 'AAAAA' on purpose (W3): the new file's 'BBB' is kept; "
       "bytes written between the last poll and the rotation may be lost, so the rotation is a gap.",
       "raw", MIB, [read("AAAAA"), read("BBB")], "AAAAABBB", True, 8, rotations=1, gaps=1)
vector("t2-rotation-then-growth", "Spec §6.3 T2: 'AAAAAA', 'BBBB' (rotation), 'BBBBBBBB': the new file is "
       "taken from its first byte and its growth appended; same stdout as the TypeScript fix.",
       "raw", MIB, [read("AAAAAA"), read("BBBB"), read("BBBBBBBB")], "AAAAAABBBBBBBB", True, 14, rotations=1, gaps=1)
vector("t3-cap", "Spec §6.3 T3: cap 4, every poll 'AAAAAAAAAA': stdout is the first 4 bytes, truncated.",
       "raw", 4, [read("AAAAAAAAAA"), read("AAAAAAAAAA")], "AAAA", True, 10)

# --- spec §6.4 weaknesses ----------------------------------------------------------------

vector("w1-rotation-past-old-offset", "W1: the new file has already grown past the old read offset, so no "
       "shrink is seen; its content differs from what was consumed, so the rotation is still detected and "
       "the new file is taken whole (the TypeScript fix would append only its bytes past offset 20).",
       "raw", MIB,
       [read("line-0001\nline-0002\n"), read("line-0005\nline-0006\nline-0007\n")],
       "line-0001\nline-0002\nline-0005\nline-0006\nline-0007\n", True, 50, rotations=1, gaps=1)
vector("w1-rotation-past-old-offset-chunked", "W1 with the second snapshot in 1- and 2-byte chunks: the "
       "mismatch is found inside a chunk and the held bytes are taken in order.",
       "raw", MIB,
       [read("line-0001\n"), read("line-0001\nline-0002\n"),
        read(*[c for c in ["l", "i", "ne", "-0", "00", "5\n", "li", "ne-0006\n", "x"]])],
       "line-0001\nline-0002\nline-0005\nline-0006\nx", True, 41, rotations=1, gaps=1)
vector("w2-bytes-between-poll-and-rotation", "W2: 'a3\\n' was written after the last poll and rotated away "
       "before the next one; no read can return it, so the rotation counts as a gap (truncated).",
       "raw", MIB, [read("a1\na2\n"), read("b1\n")], "a1\na2\nb1\n", True, 9, rotations=1, gaps=1)
vector("w3-rotation-on-final-poll-longer-file", "W3: the final poll sees a rotated file longer than the old "
       "one (so no shrink); its bytes are kept.",
       "raw", MIB, [read("AAAA"), read("BBBBBBBBB")], "AAAABBBBBBBBB", True, 13, rotations=1, gaps=1)

euro_line = "€" * 10 + "\n"
eb = euro_line.encode()
vector("w4-poll-between-partial-records", "W4: a poll lands between two CRI partial records of one line of "
       "'€', cutting a character after its first byte (byte 16 = 5×3+1); byte offsets, not UTF-16 lengths, "
       "so the next poll continues exactly and no U+FFFD is invented.",
       "raw", MIB, [read(eb[:16]), read(eb)], eb, False, len(eb), text=euro_line)
vector("w4-timestamped-split-character", "W4 in timestamped mode: a limitBytes cut inside '€', then a "
       "reconnect: the character is completed, not replaced.",
       "timestamped", MIB,
       [read((ts(1) + euro_line).encode()[:31 + 16]), read(ts(1) + euro_line)], eb, False, len(eb), text=euro_line)

w5 = ("a" * 1022 + "😀" + "b").encode()
vector("w5-cap-inside-emoji", "W5: the 1024-byte cap falls inside '😀' (F0 9F | 98 80): stdout is the raw "
       "first 1024 bytes, text drops the incomplete character instead of ending in U+FFFD.",
       "raw", 1024, [read(w5)], w5[:1024], True, len(w5), text="a" * 1022)
for keep in (1, 2, 3):
    data = ("x" * (10 - keep) + "😀").encode()
    vector(f"w5-cap-keeps-{keep}-of-4-bytes", f"W5: cap 10 keeps {keep} of the 4 bytes of '😀'; text never "
           "ends in U+FFFD.", "raw", 10, [read(data)], data[:10], True, len(data), text="x" * (10 - keep))

cjk = "漢字かな" * 3 + "\n"
cjk_b = cjk.encode()
vector("w8-cap-counts-bytes", "W8: the cap counts bytes, not UTF-16 units: CJK output (3 bytes per "
       "character) keeps exactly 10 bytes, and the pushes together return exactly those 10 bytes.",
       "timestamped", 10,
       [read(ts(1) + "漢字かな", "漢字かな", "漢字かな\n")], cjk_b[:10], True, len(cjk_b), text="漢字か")
vector("w10-exact-cap-not-truncated", "W10: output of exactly capBytes bytes is complete, not truncated.",
       "raw", 5, [read("hello"), read("hello")], "hello", False, 5)
vector("w10-exact-cap-timestamped", "W10 in timestamped mode: exactly capBytes bytes, not truncated.",
       "timestamped", 6, [read(ts(1) + "hello\n")], "hello\n", False, 6)

# --- raw mode: reads that prove nothing, shrink detection ---------------------------------

vector("raw-abandoned-read-proves-nothing", "A raw read cut by a connection error is abandoned: being "
       "shorter than what was consumed does not make it a new file.",
       "raw", MIB, [read("abcdef"), read("abc", end=False), read("abcdefgh")], "abcdefgh", False, 8)
vector("raw-shrink-with-identical-head", "A complete raw read shorter than what was consumed is a new file "
       "even when its bytes match: a file only grows until it is rotated.",
       "raw", MIB, [read("AAAA"), read("AA")], "AAAAAA", True, 6, rotations=1, gaps=1)
vector("raw-limit-bytes-steady-state", "Polls with limitBytes = cap+1 return the same head once the file "
       "is past it: nothing new is taken, and the extra byte marks the output truncated.",
       "raw", 4, [read("abc"), read("abcde"), read("abcde")], "abcd", True, 5)

# --- timestamped mode ---------------------------------------------------------------------

long_line = "0123456789" * 4
vector("cri-partial-long-line", "A long line split by the runtime into partial records comes back as one "
       "line with one timestamp; a limitBytes cut inside it, then a sinceTime reconnect, continue it "
       "without repeating a byte.",
       "timestamped", MIB,
       [read(ts(1) + long_line[:25]), read(ts(1) + long_line + "\n" + ts(2) + "next\n")],
       long_line + "\nnext\n", False, 46)
vector("cri-partial-long-line-follow-across-rotation", "A follow stream that crosses a rotation in the middle "
       "of a long line continues it without a timestamp (state carried over), then the next line has one.",
       "timestamped", MIB,
       [read(ts(1) + long_line[:16], long_line[16:], "\n" + ts(3) + "after\n")],
       long_line + "\nafter\n", False, 47)
vector("lines-sharing-one-timestamp", "Several lines share one timestamp (one write). A cut in the middle of "
       "that group, then a resume at the floor of the second: the group is recognised by rank and bytes.",
       "timestamped", MIB,
       [read(ts(1, 1) + "old\n" + ts(1, 5) + "a\n" + ts(1, 5) + "b", end=False),
        read(ts(1, 1) + "old\n" + ts(1, 5) + "a\n" + ts(1, 5) + "b\n" + ts(1, 5) + "c\n" + ts(2) + "d\n")],
       "old\na\nb\nc\nd\n", False, 12)
vector("lines-sharing-one-timestamp-identical", "Identical lines sharing one timestamp: only the count "
       "and byte total tell which were taken.",
       "timestamped", MIB,
       [read(ts(1) + "x\n" + ts(1) + "x\n"), read(ts(1) + "x\n" + ts(1) + "x\n" + ts(1) + "x\n")],
       "x\nx\nx\n", False, 6)
vector("reconnect-same-file", "A follow stream cut mid-line, then a sinceTime reconnect to the same file: "
       "it re-serves the unfinished line, whose taken bytes are skipped.",
       "timestamped", MIB,
       [read(ts(1) + "one\n" + ts(2) + "tw", end=False), read(ts(2) + "two\n" + ts(3) + "three\n")],
       "one\ntwo\nthree\n", False, 14)
vector("reconnect-across-rotation", "A follow stream is cut; the file rotates before the reconnect, whose "
       "response starts after the last line taken: bytes may be missing, a gap.",
       "timestamped", MIB,
       [read(ts(1) + "one\n" + ts(2) + "two\n", end=False), read(ts(4) + "four\n")],
       "one\ntwo\nfour\n", True, 13, rotations=1, gaps=1)
vector("reconnect-across-rotation-mid-line", "The reconnect after a rotation begins with the rest of the "
       "line that was being taken, shown with its own timestamp (the new file's first record): the part "
       "already taken through the follow stream is not repeated.",
       "timestamped", MIB,
       [read(ts(1) + "abc", "def", end=False), read(ts(3) + "defgh\n" + ts(4) + "x\n")],
       "abcdefgh\nx\n", True, 11, rotations=1, gaps=1)
vector("since-time-leading-prefixless", "A sinceTime read that skipped the start of a line serves its tail "
       "without a timestamp; those bytes are older than the last line taken and are skipped.",
       "timestamped", MIB,
       [read(ts(1, 100) + "abcdef\n" + ts(2, 700) + "g\n"),
        read("def\n" + ts(2, 700) + "g\n" + ts(3) + "h\n")],
       "abcdef\ng\nh\n", False, 11)
vector("limit-bytes-inside-timestamp", "A limitBytes cut inside a timestamp prefix: the partial prefix is "
       "dropped, the next read completes the line.",
       "timestamped", MIB,
       [read(ts(1) + "a\n" + ts(1) + "b\n" + ts(2)[:10]), read(ts(1) + "a\n" + ts(1) + "b\n" + ts(2) + "c\n")],
       "a\nb\nc\n", False, 6)
vector("timestamp-with-offset", "Timestamps with a numeric offset (a node not in UTC) compare by instant.",
       "timestamped", MIB,
       [read(ts(1, 0, "+01:00") + "a\n"), read(ts(1, 0, "+01:00") + "a\n" + ts(2, 0, "+01:00") + "b\n")],
       "a\nb\n", False, 4)
vector("malformed-prefix", "A line after a newline without a valid timestamp prefix is a data error: it is "
       "counted, the rest of the response is not used, and with no later read that is a possible loss.",
       "timestamped", MIB, [read(ts(1) + "a\nGARBAGE b\n" + ts(2) + "c\n")], "a\n", True, 2, gaps=1, malformed=1)
vector("malformed-prefix-recovered", "After a malformed response, a later read that re-serves the last line "
       "taken proves nothing was lost: counted as malformed, not as a gap.",
       "timestamped", MIB,
       [read(ts(1) + "a\nGARBAGE b\n" + ts(2) + "c\n"), read(ts(1) + "a\n" + ts(2) + "c\n")],
       "a\nc\n", False, 4, malformed=1)
vector("first-read-mid-line", "The first response starts prefix-less (the stream's start was missed): the "
       "bytes of the unknown line are skipped and the missing start is a gap.",
       "timestamped", MIB, [read("bc\n" + ts(2) + "d\n")], "d\n", True, 2, gaps=1)
vector("empty-and-old-reads", "Empty responses and responses with only old lines change nothing.",
       "timestamped", MIB, [read(ts(1) + "a\n"), read(), read(ts(1) + "a\n"), read(ts(1) + "a\n" + ts(2) + "b\n")],
       "a\nb\n", False, 4)

# --- multi-byte characters split at every position ----------------------------------------

mb_text = "aé€😀\n"
for mode in ("raw", "timestamped"):
    body = (ts(1) + mb_text if mode == "timestamped" else mb_text).encode()
    for k in range(1, len(body)):
        vector(f"split-{mode}-{k:02d}", f"One response split at byte {k} (inside the timestamp or a UTF-8 "
               "character): the result does not depend on where chunks end.",
               mode, MIB, [read(body[:k], body[k:])], mb_text, False, len(mb_text.encode()), text=mb_text)
    mb = mb_text.encode()
    for cap in range(1, len(mb)):
        # The text keeps only whole characters of the first `cap` bytes.
        text = mb[:cap].decode("utf-8", errors="ignore")
        while text and not mb.startswith(text.encode()):
            text = text[:-1]
        vector(f"cap-{mode}-{cap:02d}", f"A cap of {cap} bytes over 'aé€😀\\n': stdout is the raw byte cut, "
               "text drops a character the cap cut.", mode, cap, [read(body)], mb[:cap], True, len(mb), text=text)

# Remove stale generated files.
for p in HERE.glob("*.json"):
    # bindings-smoke-*: hand-written; recorded-*: recordings of real runs (tale-sandbox exec --record).
    if p.name not in written and not p.name.startswith(("bindings-smoke-", "recorded-")):
        p.unlink()
print(f"wrote {len(written)} vectors")
