//! SHA-256 in hex: a token's stored form, the digest of stored state an audit event vouches
//! for, a guardrail policy's digest.

use sha2::{Digest, Sha256};

/// SHA-256 of a text, in hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
