//! Wire encodings shared by every operation: timestamps and blobs.

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp kept in milliseconds and sent as epoch seconds, a JSON *number* with up to three
/// decimals (aws-sdk-rust rejects strings; docs/aws-behaviour.md §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochSeconds(pub i64);

impl Serialize for EpochSeconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            serializer.serialize_i64(self.0 / 1000)
        } else {
            serializer.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// A blob member: standard base64 on the wire, bytes in memory. Invalid base64 fails decoding,
/// which the protocol reports as a `SerializationException`.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob(<{} bytes>)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Blob)
            .map_err(|_| serde::de::Error::custom("a blob member is not valid base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_numbers_with_millisecond_precision() {
        assert_eq!(
            serde_json::to_string(&EpochSeconds(1_523_477_145_713)).unwrap(),
            "1523477145.713"
        );
        assert_eq!(
            serde_json::to_string(&EpochSeconds(1_523_477_145_000)).unwrap(),
            "1523477145"
        );
    }

    #[test]
    fn blobs_are_base64() {
        assert_eq!(
            serde_json::to_string(&Blob(b"footest".to_vec())).unwrap(),
            "\"Zm9vdGVzdA==\""
        );
        let blob: Blob = serde_json::from_str("\"Zm9vdGVzdA==\"").unwrap();
        assert_eq!(blob.0, b"footest");
        assert!(serde_json::from_str::<Blob>("\"***\"").is_err());
    }
}
