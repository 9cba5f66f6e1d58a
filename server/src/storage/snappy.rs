//! Snappy (the raw format of the `snap` crate) for what the storage layer
//! writes large and reads back rarely: person states ([`super::state_codec`]),
//! stored responses ([`crate::idempotency`]) and a decision's ranking
//! (SQLite). Snappy, not zstd: a write is CPU-bound on this service, and
//! Snappy compresses a 9 KB body in about 10 µs where zstd takes 45 µs to
//! save another sixth.

/// Largest body stored bytes may expand to: far above anything the server
/// writes (tens of KB), so a damaged length cannot ask for gigabytes.
const MAX_EXPANDED: usize = 16 << 20;

/// Appends the compressed `body` to `out`.
pub fn compress_into(out: &mut Vec<u8>, body: &[u8]) -> Result<(), String> {
    let start = out.len();
    out.resize(start + snap::raw::max_compress_len(body.len()), 0);
    let n = snap::raw::Encoder::new()
        .compress(body, &mut out[start..])
        .map_err(|e| e.to_string())?;
    out.truncate(start + n);
    Ok(())
}

/// The body `compressed` expands to.
pub fn expand(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let len = snap::raw::decompress_len(compressed).map_err(|e| e.to_string())?;
    if len > MAX_EXPANDED {
        return Err(format!("claims {len} bytes expanded"));
    }
    let mut out = vec![0; len];
    let n = snap::raw::Decoder::new()
        .decompress(compressed, &mut out)
        .map_err(|e| e.to_string())?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_a_damaged_length_is_refused() {
        let body = b"{\"items\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}".repeat(50);
        let mut packed = b"hdr".to_vec();
        compress_into(&mut packed, &body).expect("compresses");
        assert!(packed.starts_with(b"hdr") && packed.len() < body.len() / 4);
        assert_eq!(expand(&packed[3..]).expect("expands"), body);
        // A varint length of 2^32: refused before anything is allocated.
        assert!(expand(&[0x80, 0x80, 0x80, 0x80, 0x10]).is_err());
        assert!(expand(b"not snappy at all").is_err());
    }
}
