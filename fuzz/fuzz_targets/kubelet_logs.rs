//! The kubelet-logs model's parsers and line splitter on arbitrary bytes: CRI files and lines,
//! RFC 3339 timestamps. Never panics; whatever decodes encodes back to the same records; a
//! parsed time renders in the kubelet's fixed 30-byte form and parses back to itself; the
//! splitter's records carry exactly the bytes written, in order, each within its size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_kubelet_logs::{
    LineSplitter, Record, SplitMode, Stream, TIMESTAMP_LEN, Timestamp, decode_cri_file,
    decode_cri_line,
};

fn encode_all(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        record.encode_into(&mut out);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    match selector % 4 {
        0 => {
            if let Ok(records) = decode_cri_file(rest) {
                assert_eq!(records.len(), rest.iter().filter(|&&b| b == b'\n').count());
                let again =
                    decode_cri_file(&encode_all(&records)).expect("an encoded file decodes");
                assert_eq!(again, records);
            }
        }
        1 => {
            if let Ok(record) = decode_cri_line(rest) {
                assert!(!record.content.contains(&b'\n'));
                let encoded = record.encode();
                assert_eq!(encoded.len(), record.encoded_len());
                assert_eq!(decode_cri_line(&encoded).expect("an encoded line decodes"), record);
            }
        }
        2 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(time) = Timestamp::parse_rfc3339(&text) {
                let rendered = time.to_rfc3339_nanos();
                assert_eq!(rendered.len(), TIMESTAMP_LEN);
                assert_eq!(Timestamp::parse_rfc3339(&rendered), Ok(time), "{text:?} -> {rendered}");
            }
        }
        _ => {
            let Some((&shape, bytes)) = rest.split_first() else { return };
            let max = usize::from(shape % 16) + 1;
            let mode =
                if shape & 0x80 == 0 { SplitMode::PerWrite } else { SplitMode::HoldUntilNewline };
            let mut splitter = LineSplitter::new(max, mode);
            let time = Timestamp::from_unix_nanos(1_764_151_200_000_000_000);
            let mut records = Vec::new();
            for write in bytes.chunks(usize::from(shape >> 4 & 7) + 1) {
                records.extend(splitter.write(time, Stream::Stdout, write));
            }
            records.extend(splitter.close(time, Stream::Stdout));
            let mut payload = Vec::new();
            for record in &records {
                assert!(record.content.len() <= max && !record.content.contains(&b'\n'));
                payload.extend(record.payload());
            }
            assert_eq!(payload, bytes);
        }
    }
});
