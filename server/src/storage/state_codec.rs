//! The stored form of a person's engine state: a short header and the state
//! in postcard (serde, binary), compressed with Snappy, instead of the JSON
//! written before issue 8.
//!
//! Why postcard: the state is mostly `f64`s, which JSON writes as decimal
//! text and must parse back digit by digit; postcard writes them as 8 raw
//! bytes (a 12-week state: 16.0 KB against 23.2 KB of JSON, and see
//! `docs/benchmarks.md` for the time), needs no schema step, and goes through
//! the engine's existing serde derives, so the engine does not change. It is
//! not self-describing, so the header pins what the bytes mean.
//!
//! Why Snappy on top: the statistics are laid out for the whole catalogue's
//! processes, and a person rates a handful of them, so much of the body is
//! runs of zero (a year of six rated processes: 19.2 KB of postcard, 8.8 KB
//! compressed). Snappy takes about 10 µs to compress that and 5 µs to
//! expand it, a few percent of a write's CPU, where zstd saves another
//! 1.5 KB for 45 µs; on a CPU-bound server the faster one wins, and halving
//! the bytes halves the overflow pages and WAL every write copies (and the
//! disk a million people take).
//!
//! `b"TPS"`, one byte of [`CODEC_VERSION`], then the engine's
//! [`STATE_FORMAT`] (u32, little-endian), then the body: raw Snappy of the
//! postcard (codec 2), or the postcard itself (codec 1, still read).
//!
//! A state written by another engine layout does not decode (`None` from
//! [`decode`]), exactly like a stale JSON state: the caller rebuilds it from
//! the person's events. States stored as JSON or as codec 1 by earlier
//! versions still load (JSON's first byte is `{`), and the next write of that
//! person stores the current form, so a database migrates as its people are
//! used.
//!
//! Both backends use it; it must not know about either.

use super::{Result, StorageError, snappy};
use tutti_engine::state::{PersonState, STATE_FORMAT};

/// What starts every binary state.
const MAGIC: &[u8; 3] = b"TPS";
/// Version of this framing (header plus compressed postcard body).
pub const CODEC_VERSION: u8 = 2;
/// The framing before compression (header plus postcard body), still read.
const CODEC_UNCOMPRESSED: u8 = 1;
const HEADER: usize = MAGIC.len() + 1 + 4;

/// The stored form of `state`.
pub fn encode(state: &PersonState) -> Result<Vec<u8>> {
    let body = postcard::to_stdvec(state)
        .map_err(|e| StorageError::Corrupt(format!("encode person state: {e}")))?;
    let mut out = Vec::with_capacity(HEADER + snap::raw::max_compress_len(body.len()));
    out.extend_from_slice(MAGIC);
    out.push(CODEC_VERSION);
    out.extend_from_slice(&STATE_FORMAT.to_le_bytes());
    snappy::compress_into(&mut out, &body)
        .map_err(|e| StorageError::Corrupt(format!("compress person state: {e}")))?;
    Ok(out)
}

/// Why a stored state was not used.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Written by another engine layout or codec version: rebuild from events.
    #[error("stored by another state format ({0})")]
    OtherFormat(String),
    /// The bytes do not decode.
    #[error("{0}")]
    Invalid(String),
}

/// Reads a stored state: the binary form, or the JSON of earlier versions.
pub fn decode(bytes: &[u8]) -> Result<PersonState, DecodeError> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| DecodeError::Invalid(e.to_string()));
    }
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return Err(DecodeError::Invalid("not a person state".into()));
    }
    let codec = bytes[MAGIC.len()];
    let mut format = [0u8; 4];
    format.copy_from_slice(&bytes[MAGIC.len() + 1..HEADER]);
    let format = u32::from_le_bytes(format);
    if !matches!(codec, CODEC_VERSION | CODEC_UNCOMPRESSED) || format != STATE_FORMAT {
        return Err(DecodeError::OtherFormat(format!(
            "codec {codec}, state format {format}; this build writes codec {CODEC_VERSION}, format {STATE_FORMAT}"
        )));
    }
    let expanded;
    let body = if codec == CODEC_VERSION {
        expanded = snappy::expand(&bytes[HEADER..]).map_err(DecodeError::Invalid)?;
        &expanded[..]
    } else {
        &bytes[HEADER..]
    };
    // Trailing bytes mean the layout is not the one that wrote them.
    let (state, rest) = postcard::take_from_bytes::<PersonState>(body)
        .map_err(|e| DecodeError::Invalid(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::Invalid(format!(
            "{} bytes after the state",
            rest.len()
        )));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tutti_engine::Engine;
    use tutti_engine::ids::{ProcessId, Timestamp};
    use tutti_engine::observe::{Assessment, Instrument, Outcome, Rating};

    /// A state with a history, so every part of the layout holds data.
    fn lived_state() -> PersonState {
        let engine = Engine::with_defaults();
        let mut state = engine.new_person(vec![]);
        for week in 0..12_i64 {
            let wobble = (week % 5) as f64 * 7.0;
            let assessment = Assessment {
                at: Timestamp(week * 7 * 86_400_000),
                ratings: ["affect", "cognition", "social"]
                    .iter()
                    .map(|p| Rating {
                        process: ProcessId((*p).to_owned()),
                        adaptive: Some(40.0 + wobble),
                        maladaptive: Some(60.0 - wobble),
                    })
                    .collect(),
                outcomes: vec![Outcome {
                    instrument: Instrument::Phq9,
                    score: 14.0 - week as f64 / 2.0,
                }],
                risk_flags: vec![],
            };
            engine
                .observe_assessment(&mut state, &assessment)
                .expect("assessment folds in");
        }
        state
    }

    #[test]
    fn a_state_round_trips_and_is_smaller_than_its_json() {
        let state = lived_state();
        let bytes = encode(&state).expect("encodes");
        assert_eq!(decode(&bytes).expect("decodes"), state);
        let json = serde_json::to_vec(&state).expect("json");
        assert!(
            bytes.len() < json.len(),
            "binary {} bytes, JSON {}",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn compression_shrinks_a_state_and_an_uncompressed_one_still_loads() {
        let state = lived_state();
        let compressed = encode(&state).expect("encodes");
        // Codec 1, as versions before compression wrote it.
        let mut plain = compressed[..HEADER].to_vec();
        plain[MAGIC.len()] = CODEC_UNCOMPRESSED;
        plain.extend(postcard::to_stdvec(&state).expect("postcard"));
        assert_eq!(decode(&plain).expect("codec 1 decodes"), state);
        assert!(
            compressed.len() * 3 < plain.len() * 2,
            "compressed {} bytes, plain {}",
            compressed.len(),
            plain.len()
        );
    }

    #[test]
    fn a_damaged_length_cannot_ask_for_gigabytes() {
        let mut bytes = encode(&lived_state()).expect("encodes");
        // Snappy's varint length: 2^32 - 1.
        bytes.truncate(HEADER);
        bytes.extend([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
        assert!(matches!(decode(&bytes), Err(DecodeError::Invalid(_))));
    }

    #[test]
    fn a_json_state_from_an_earlier_version_still_loads() {
        let state = lived_state();
        let json = serde_json::to_vec(&state).expect("json");
        assert_eq!(decode(&json).expect("decodes"), state);
    }

    #[test]
    fn another_format_or_damaged_bytes_do_not_decode() {
        let mut bytes = encode(&lived_state()).expect("encodes");
        let mut other = bytes.clone();
        other[MAGIC.len() + 1] ^= 0xff;
        assert!(matches!(decode(&other), Err(DecodeError::OtherFormat(_))));
        bytes.push(0);
        assert!(matches!(decode(&bytes), Err(DecodeError::Invalid(_))));
        assert!(matches!(decode(b"xyz"), Err(DecodeError::Invalid(_))));
    }
}
