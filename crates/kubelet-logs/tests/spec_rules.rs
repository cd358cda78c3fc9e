//! One test per rule of `shared/spec/kubelet-logs.md`, on the public API.

use tale_sandbox_kubelet_logs::{
    ContainerLog, FollowCursor, FollowOptions, FollowStatus, LogConfig, ReadOptions, SplitMode,
    Stream, Tag, Timestamp, decode_cri_file,
};

const SECOND: i64 = 1_000_000_000;
/// 2023-11-14T22:13:20Z
const BASE: i64 = 1_700_000_000 * SECOND;

fn at(offset_nanos: i64) -> Timestamp {
    Timestamp::from_unix_nanos(BASE + offset_nanos)
}

fn ts(offset_nanos: i64) -> String {
    at(offset_nanos).to_rfc3339_nanos()
}

fn log_with(max_record_bytes: usize) -> ContainerLog {
    ContainerLog::new(LogConfig { max_record_bytes, ..LogConfig::default() }).unwrap()
}

fn with_timestamps() -> ReadOptions {
    ReadOptions { timestamps: true, ..ReadOptions::default() }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn a_40_kib_line_is_stored_as_16_kib_partials_and_served_as_one_line_with_one_timestamp() {
    let mut log = ContainerLog::new(LogConfig::default()).unwrap();
    let line: Vec<u8> = (0..40 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    // The line arrives in three pipe reads a millisecond apart, then its newline.
    log.write(at(0), Stream::Stdout, &line[..10_000]);
    log.write(at(1_000_000), Stream::Stdout, &line[10_000..30_000]);
    log.write(at(2_000_000), Stream::Stdout, &line[30_000..]);
    log.write(at(3_000_000), Stream::Stdout, b"\nnext\n");

    let file = decode_cri_file(&log.current_file_bytes()).unwrap();
    assert!(file.iter().all(|r| r.content.len() <= 16 * 1024));
    assert_eq!(file.iter().filter(|r| r.tag == Tag::Full).count(), 2, "the long line and `next`");
    assert!(file.len() > 3, "the line is stored as several records with their own timestamps");

    let mut expected = format!("{} ", ts(0)).into_bytes();
    expected.extend_from_slice(&line);
    expected.extend_from_slice(format!("\n{} next\n", ts(3_000_000)).as_bytes());
    assert_eq!(log.read(&with_timestamps()), expected);

    let mut plain = line.clone();
    plain.extend_from_slice(b"\nnext\n");
    assert_eq!(log.read(&ReadOptions::default()), plain);
}

#[test]
fn records_of_one_write_share_one_timestamp_and_each_gets_a_prefix() {
    let mut log = log_with(16);
    log.write(at(7), Stream::Stdout, b"a\nb\nc\n");
    let expected = format!("{t} a\n{t} b\n{t} c\n", t = ts(7));
    assert_eq!(text(&log.read(&with_timestamps())), expected);
}

#[test]
fn stdout_and_stderr_are_served_interleaved_in_write_order() {
    let mut log = log_with(16);
    log.write(at(1), Stream::Stdout, b"out1\n");
    log.write(at(2), Stream::Stderr, b"err\n");
    log.write(at(3), Stream::Stdout, b"out2\n");
    assert_eq!(text(&log.read(&ReadOptions::default())), "out1\nerr\nout2\n");
}

#[test]
fn since_time_skips_older_records_and_can_start_without_a_timestamp() {
    let mut log = log_with(16);
    log.write(at(0), Stream::Stdout, b"old line\nstart of a ");
    log.write(at(SECOND + 5), Stream::Stdout, b"long line\nnew line\n");
    let since = at(SECOND).floor_to_second();
    let served = log.read(&ReadOptions {
        timestamps: true,
        since_time: Some(since),
        ..ReadOptions::default()
    });
    // `long line` continues a line whose start was skipped: no prefix.
    assert_eq!(text(&served), format!("long line\n{} new line\n", ts(SECOND + 5)));
}

#[test]
fn since_time_is_inclusive_and_a_resume_at_the_floor_of_a_second_repeats_that_second() {
    let mut log = log_with(64);
    log.write(at(SECOND + 100), Stream::Stdout, b"a\n");
    log.write(at(SECOND + 900_000_000), Stream::Stdout, b"b\n");
    log.write(at(2 * SECOND), Stream::Stdout, b"c\n");
    let since = |t: Timestamp| ReadOptions { since_time: Some(t), ..ReadOptions::default() };
    assert_eq!(text(&log.read(&since(at(SECOND + 900_000_000).floor_to_second()))), "a\nb\nc\n");
    assert_eq!(text(&log.read(&since(at(2 * SECOND)))), "c\n");
}

#[test]
fn limit_bytes_cuts_the_output_inside_a_timestamp() {
    let mut log = log_with(64);
    log.write(at(0), Stream::Stdout, b"first\nsecond\n");
    let full = log.read(&with_timestamps());
    let first_line = format!("{} first\n", ts(0)).len();
    for limit in [1, 10, first_line + 12, full.len() - 1, full.len(), full.len() + 50] {
        let served =
            log.read(&ReadOptions { limit_bytes: Some(limit as u64), ..with_timestamps() });
        assert_eq!(served, full[..limit.min(full.len())].to_vec(), "limit {limit}");
    }
    assert_eq!(
        log.read(&ReadOptions { limit_bytes: Some(0), ..with_timestamps() }),
        Vec::<u8>::new()
    );
}

#[test]
fn limit_bytes_cuts_inside_a_utf8_character() {
    let mut log = log_with(64);
    log.write(at(0), Stream::Stdout, "x€\n".as_bytes());
    let served = log.read(&ReadOptions { limit_bytes: Some(3), ..ReadOptions::default() });
    assert_eq!(served, vec![b'x', 0xE2, 0x82]);
}

#[test]
fn limit_bytes_does_not_count_records_skipped_by_since_time() {
    let mut log = log_with(64);
    log.write(at(0), Stream::Stdout, b"skipped\n");
    log.write(at(2 * SECOND), Stream::Stdout, b"kept\n");
    let served = log.read(&ReadOptions {
        since_time: Some(at(SECOND)),
        limit_bytes: Some(3),
        ..ReadOptions::default()
    });
    assert_eq!(text(&served), "kep");
}

#[test]
fn tail_lines_counts_file_lines_and_is_applied_before_limit_bytes() {
    let mut log = log_with(4);
    log.write(at(0), Stream::Stdout, b"one\ntwo\nthree!\n");
    // File lines: `one`, `two`, `thre` (P), `e!` (F).
    assert_eq!(
        text(&log.read(&ReadOptions { tail_lines: Some(2), ..ReadOptions::default() })),
        "three!\n"
    );
    // A tail that starts on a continuation piece still starts "after a line end": it gets a prefix.
    let served = log.read(&ReadOptions { tail_lines: Some(1), ..with_timestamps() });
    assert_eq!(text(&served), format!("{} e!\n", ts(0)));
    let served = log.read(&ReadOptions {
        tail_lines: Some(3),
        limit_bytes: Some(5),
        ..ReadOptions::default()
    });
    assert_eq!(text(&served), "two\nt");
    assert_eq!(
        log.read(&ReadOptions { tail_lines: Some(0), ..ReadOptions::default() }),
        Vec::<u8>::new()
    );
    assert_eq!(
        text(&log.read(&ReadOptions { tail_lines: Some(99), ..ReadOptions::default() })),
        "one\ntwo\nthree!\n"
    );
}

#[test]
fn rotation_is_periodic_so_the_file_overshoots_and_only_max_files_are_kept() {
    let mut log = ContainerLog::new(LogConfig { max_files: 3, ..LogConfig::default() }).unwrap();
    let max_size = 200;
    assert!(!log.maybe_rotate(max_size), "an empty file is not rotated");
    for i in 0..10 {
        log.write(at(i), Stream::Stdout, b"0123456789\n");
    }
    assert!(log.current_size() > 2 * max_size, "writes between checks overshoot the limit");
    assert!(log.maybe_rotate(max_size));
    assert_eq!(log.generation(), 1);
    assert_eq!(log.current_size(), 0);
    assert!(!log.maybe_rotate(max_size));
    for generation in 2..6 {
        log.write(at(100), Stream::Stdout, b"x\n");
        log.rotate();
        assert_eq!(log.generation(), generation);
    }
    let kept: Vec<u64> = log.rotated_files().iter().map(|f| f.generation).collect();
    assert_eq!(kept, vec![3, 4], "max_files counts the current file");
    assert_eq!(log.true_stream_len(), 10 * 11 + 4 * 2);
}

#[test]
fn rotation_check_triggers_at_exactly_the_maximum_size() {
    let mut log = log_with(64);
    log.write(at(0), Stream::Stdout, b"x\n");
    let size = log.current_size();
    assert_eq!(size, 42, "30-byte timestamp, ` stdout F `, content, newline");
    assert!(!log.maybe_rotate(size + 1));
    assert!(log.maybe_rotate(size));
}

#[test]
fn a_read_after_rotation_returns_only_the_new_file() {
    let mut log = log_with(64);
    log.write(at(0), Stream::Stdout, b"before rotation\nhalf of a ");
    log.rotate();
    log.write(at(1), Stream::Stdout, b"line\nafter rotation\n");
    assert_eq!(text(&log.read(&ReadOptions::default())), "line\nafter rotation\n");
    // A fresh read starts "after a line end", so the continuation gets a timestamp here.
    assert_eq!(
        text(&log.read(&with_timestamps())),
        format!("{t} line\n{t} after rotation\n", t = ts(1))
    );
    assert_eq!(log.true_stream().unwrap(), b"before rotation\nhalf of a line\nafter rotation\n");
}

#[test]
fn a_follow_stream_continues_across_rotation_carrying_the_line_state_over() {
    let mut log = log_with(64);
    let mut cursor = FollowCursor::new(&log, with_timestamps(), FollowOptions::default());
    log.write(at(0), Stream::Stdout, b"one\ntw");
    assert_eq!(text(&cursor.read_available(&log)), format!("{t} one\n{t} tw", t = ts(0)));
    log.write(at(1), Stream::Stdout, b"o and");
    log.rotate();
    log.write(at(2), Stream::Stdout, b" more\nthree\n");
    assert_eq!(text(&cursor.read_available(&log)), format!("o and more\n{} three\n", ts(2)));
    assert_eq!(cursor.rotations_crossed(), 1);
    assert!(!cursor.is_finished(&log));
    log.close(at(3));
    assert!(cursor.is_finished(&log));
    let mut rest = Vec::new();
    assert_eq!(cursor.read_into(&log, &mut rest, usize::MAX), FollowStatus::Finished);
    assert!(rest.is_empty());
}

#[test]
fn an_old_kubelet_follow_stream_gets_nothing_after_rotation_and_ends_when_the_container_exits() {
    let mut log = log_with(64);
    let old = FollowOptions { continue_after_rotation: false, ..FollowOptions::default() };
    let mut cursor = FollowCursor::new(&log, ReadOptions::default(), old);
    log.write(at(0), Stream::Stdout, b"one\n");
    assert_eq!(text(&cursor.read_available(&log)), "one\n");
    log.write(at(1), Stream::Stdout, b"two\n");
    log.rotate();
    log.write(at(2), Stream::Stdout, b"three\n");
    // It still drains its old file (it has it open), then the new file is never served.
    assert_eq!(text(&cursor.read_available(&log)), "two\n");
    log.write(at(3), Stream::Stdout, b"four\n");
    let mut out = Vec::new();
    assert_eq!(cursor.read_into(&log, &mut out, usize::MAX), FollowStatus::Waiting);
    assert!(out.is_empty());
    assert!(cursor.is_stalled_by_rotation());
    log.close(at(4));
    assert_eq!(cursor.read_into(&log, &mut out, usize::MAX), FollowStatus::Finished);
    assert!(out.is_empty());
}

#[test]
fn the_reported_loss_drops_unread_old_file_bytes_at_rotation() {
    let mut log = log_with(64);
    let lossy = FollowOptions { lose_unread_on_rotation: true, ..FollowOptions::default() };
    let mut cursor = FollowCursor::new(&log, ReadOptions::default(), lossy);
    log.write(at(0), Stream::Stdout, b"seen\n");
    assert_eq!(text(&cursor.read_available(&log)), "seen\n");
    log.write(at(1), Stream::Stdout, b"lost\n");
    log.rotate();
    log.write(at(2), Stream::Stdout, b"new\n");
    assert_eq!(text(&cursor.read_available(&log)), "new\n");
    assert_eq!(cursor.lost_records(), 1);
}

#[test]
fn several_rotations_between_reads_skip_the_files_in_between() {
    let mut log = log_with(64);
    let mut cursor = FollowCursor::new(&log, ReadOptions::default(), FollowOptions::default());
    log.write(at(0), Stream::Stdout, b"a\n");
    log.rotate();
    log.write(at(1), Stream::Stdout, b"b\n");
    log.rotate();
    log.write(at(2), Stream::Stdout, b"c\n");
    assert_eq!(text(&cursor.read_available(&log)), "a\nc\n");
    assert_eq!(cursor.skipped_files(), 1);
}

#[test]
fn a_follow_stream_ends_at_limit_bytes_and_respects_tail_and_budget() {
    let mut log = log_with(64);
    log.write(at(0), Stream::Stdout, b"one\ntwo\nthree\n");
    let read = ReadOptions { tail_lines: Some(2), limit_bytes: Some(12), ..ReadOptions::default() };
    let mut cursor = FollowCursor::new(&log, read, FollowOptions::default());
    let mut out = Vec::new();
    assert_eq!(
        cursor.read_into(&log, &mut out, 1),
        FollowStatus::MoreAvailable,
        "budget reached after one record"
    );
    assert_eq!(text(&out), "two\n");
    assert_eq!(cursor.read_into(&log, &mut out, usize::MAX), FollowStatus::Waiting);
    log.write(at(1), Stream::Stdout, b"four\n");
    assert_eq!(cursor.read_into(&log, &mut out, usize::MAX), FollowStatus::Finished);
    assert_eq!(text(&out), "two\nthree\nfo", "12 bytes in all");
    assert!(cursor.is_finished(&log));
}

#[test]
fn containerd_hold_mode_logs_an_unterminated_tail_only_when_the_container_exits() {
    let config = LogConfig {
        max_record_bytes: 8,
        split_mode: SplitMode::HoldUntilNewline,
        ..LogConfig::default()
    };
    let mut log = ContainerLog::new(config).unwrap();
    let mut cursor = FollowCursor::new(&log, with_timestamps(), FollowOptions::default());
    log.write(at(0), Stream::Stdout, b"done\nprogress");
    assert_eq!(text(&cursor.read_available(&log)), format!("{} done\n", ts(0)));
    log.close(at(5));
    assert_eq!(text(&cursor.read_available(&log)), format!("{} progress", ts(5)));
    assert!(cursor.is_finished(&log));
}

#[test]
fn a_follow_stream_without_rotation_serves_the_same_bytes_as_a_read() {
    let mut log = log_with(5);
    let mut cursor = FollowCursor::new(&log, with_timestamps(), FollowOptions::default());
    let mut streamed = Vec::new();
    for (i, chunk) in
        [&b"abc"[..], b"defghij\nk", b"\n", b"lmnopqrstuvwxyz", b"\n\n"].iter().enumerate()
    {
        log.write(at(i as i64 * 1000), Stream::Stdout, chunk);
        streamed.extend(cursor.read_available(&log));
    }
    assert_eq!(streamed, log.read(&with_timestamps()));
}
