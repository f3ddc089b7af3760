//! Name-based UUIDs (RFC 4122 version 5) and the SHA-1 they are built on.
//!
//! The conformance oracle gives every scenario event whose id is not a UUID the id
//! `uuid5(SCENARIO_NAMESPACE, "event:" + id)`; the replay must do the same, because a few
//! of Prefect's rules compare event ids. SHA-1 is implemented here (it is only used to
//! derive ids, never for security) so that the adapter needs no extra dependency.

use overdue_core::EventId;

/// The namespace the conformance oracle maps scenario event ids with
/// (`6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e`).
pub const SCENARIO_NAMESPACE: [u8; 16] = [
    0x6f, 0x0b, 0x2a, 0x8e, 0x5b, 0x7c, 0x4c, 0x8e, 0x9f, 0x3e, 0x7d, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,
];

/// The version-5 UUID of `name` in `namespace`, as Python's `uuid.uuid5` computes it.
pub fn uuid5(namespace: [u8; 16], name: &str) -> EventId {
    let mut hasher = Sha1::new();
    hasher.update(&namespace);
    hasher.update(name.as_bytes());
    let digest = hasher.finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    EventId(bytes)
}

/// The id the oracle gives a scenario event id `text`: the UUID itself if `text` is one
/// in any form Python's `uuid.UUID` accepts, else `uuid5(SCENARIO_NAMESPACE, "event:" +
/// text)`.
pub fn scenario_event_id(text: &str) -> EventId {
    parse_python_uuid(text).unwrap_or_else(|| uuid5(SCENARIO_NAMESPACE, &format!("event:{text}")))
}

/// Parses `text` the way Python's `uuid.UUID(text)` does: `urn:` and `uuid:` removed,
/// braces stripped from both ends, every `-` removed, then exactly 32 characters read as
/// a base-16 Python integer (`int(hex, 16)`: surrounding whitespace, a `+` sign, a `0x`
/// prefix and single underscores between digits are all accepted; Python's non-ASCII
/// Unicode digits are not).
pub fn parse_python_uuid(text: &str) -> Option<EventId> {
    let hex = text.replace("urn:", "").replace("uuid:", "");
    let hex = hex.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if hex.chars().count() != 32 {
        return None;
    }
    let value = parse_python_hex_int(&hex)?;
    Some(EventId(value.to_be_bytes()))
}

/// `int(text, 16)` for a value that must fit in 128 bits.
fn parse_python_hex_int(text: &str) -> Option<u128> {
    let text = text.trim_matches(|c: char| c.is_whitespace());
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .map(|rest| rest.strip_prefix('_').unwrap_or(rest))
        .unwrap_or(text);
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let mut value: u128 = 0;
    let mut previous_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if previous_underscore {
                return None;
            }
            previous_underscore = true;
            continue;
        }
        previous_underscore = false;
        let digit = c.to_digit(16)?;
        value = value.checked_mul(16)?.checked_add(u128::from(digit))?;
    }
    Some(value)
}

/// A streaming SHA-1 (FIPS 180-4).
#[derive(Clone, Debug)]
pub struct Sha1 {
    state: [u32; 5],
    block: [u8; 64],
    block_len: usize,
    total_len: u64,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// A hasher that has seen no input.
    pub fn new() -> Sha1 {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            block: [0; 64],
            block_len: 0,
            total_len: 0,
        }
    }

    /// Feeds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total_len = self.total_len.wrapping_add(data.len() as u64);
        while !data.is_empty() {
            let take = (64 - self.block_len).min(data.len());
            self.block[self.block_len..self.block_len + take].copy_from_slice(&data[..take]);
            self.block_len += take;
            data = &data[take..];
            if self.block_len == 64 {
                let block = self.block;
                self.compress(&block);
                self.block_len = 0;
            }
        }
    }

    /// The 20-byte digest of everything fed so far.
    pub fn finish(mut self) -> [u8; 20] {
        let bit_len = self.total_len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.block_len != 56 {
            self.update(&[0]);
        }
        self.update(&bit_len.to_be_bytes());
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    fn compress(&mut self, block: &[u8; 64]) {
        let mut w = [0u32; 80];
        for (i, chunk) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = self.state;
        for (i, &word) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(word);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e]) {
            *s = s.wrapping_add(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn sha1_hex(data: &[u8]) -> String {
        let mut h = Sha1::new();
        h.update(data);
        hex(&h.finish())
    }

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        let million_a = vec![b'a'; 1_000_000];
        assert_eq!(
            sha1_hex(&million_a),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn sha1_streaming_equals_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 55, 56, 63, 64, 65, 128, 999] {
            let mut h = Sha1::new();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(hex(&h.finish()), sha1_hex(&data), "split at {split}");
        }
    }

    #[test]
    fn uuid5_matches_python() {
        // python3 -c "import uuid; print(uuid.uuid5(uuid.UUID('6f0b2a8e-…'), 'event:hb1'))"
        assert_eq!(
            uuid5(SCENARIO_NAMESPACE, "event:hb1").to_string(),
            "2d8342e9-ad35-5ff5-b135-95a18eb1d868"
        );
        assert_eq!(
            uuid5(SCENARIO_NAMESPACE, "event:").to_string(),
            "e60e8fdd-6adf-56d4-90fa-f0601d94f9c3"
        );
        assert_eq!(
            uuid5(SCENARIO_NAMESPACE, "event:zürich ✓").to_string(),
            "62e5ecb4-23d4-518f-b139-df06e8013624"
        );
        // uuid.NAMESPACE_DNS, "python.org" (the example in Python's documentation)
        let dns = EventId::parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap();
        assert_eq!(
            uuid5(dns.0, "python.org").to_string(),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn scenario_ids_that_are_uuids_are_kept() {
        let text = "6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e";
        assert_eq!(scenario_event_id(text).0, SCENARIO_NAMESPACE);
        for form in [
            "6F0B2A8E5B7C4C8E9F3E7D1A2B3C4D5E",
            "{6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e}",
            "urn:uuid:6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e",
            "6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d5e",
            "6f0b-2a8e5b7c4c8e9f3e7d1a2b3c4d5e--",
        ] {
            assert_eq!(scenario_event_id(form).0, SCENARIO_NAMESPACE, "{form}");
        }
        // `int(x, 16)` accepts a 0x prefix and underscores between digits
        assert_eq!(
            parse_python_uuid("0x0b2a8e5b7c4c8e9f3e7d1a2b3c4d5e").map(|u| u.to_string()),
            Some("000b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e".to_string())
        );
        assert_eq!(
            parse_python_uuid("6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d_5").map(|u| u.to_string()),
            Some("06f0b2a8-e5b7-c4c8-e9f3-e7d1a2b3c4d5".to_string())
        );
        assert_eq!(
            parse_python_uuid("0x_0b2a8e5b7c4c8e9f3e7d1a2b3c4d5").map(|u| u.to_string()),
            Some("0000b2a8-e5b7-c4c8-e9f3-e7d1a2b3c4d5".to_string())
        );
        assert_eq!(
            parse_python_uuid("{{6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d5e}").map(|u| u.to_string()),
            Some("6f0b2a8e-5b7c-4c8e-9f3e-7d1a2b3c4d5e".to_string())
        );
        assert_eq!(
            parse_python_uuid(" +6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d").map(|u| u.to_string()),
            Some("006f0b2a-8e5b-7c4c-8e9f-3e7d1a2b3c4d".to_string())
        );
        assert_eq!(parse_python_uuid("6f0b2a8e5b7c4c8e9f3e7d1a2b3c4d__"), None);
        assert_eq!(parse_python_uuid("hb1"), None);
        assert_eq!(parse_python_uuid("zz0b2a8e5b7c4c8e9f3e7d1a2b3c4d5e"), None);
    }
}
